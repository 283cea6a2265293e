"""parse_query_string: the one check that every query parameter is UTF-8 text."""
import pytest

from objstore.common.query_string import QueryStringError, parse_query_string


@pytest.mark.parametrize("query, expected", [
    ("", {}),
    ("marker=%C3%A9&limit=10", {"marker": "\u00e9", "limit": "10"}),
    ("marker=\xc3\xa9", {"marker": "\u00e9"}),          # raw UTF-8 bytes, WSGI latin-1 form
    ("prefix=a+b%2B", {"prefix": "a b+"}),
    ("a&&b=", {"a": "", "b": ""}),
    ("a=1&a=2", {"a": "2"}),
    ("odd=%zz", {"odd": "%zz"}),
    ("marker=a%00", {"marker": "a\x00"}),             # NUL: an inclusive marker
])
def test_valid_queries_decode(query, expected):
    assert parse_query_string(query) == expected


@pytest.mark.parametrize("query, named", [
    ("marker=%ff", "marker"),
    ("format=%C3", "format"),
    ("limit=\xff", "limit"),
    ("a=1&multipart-manifest=%ed%a0%80", "multipart-manifest"),   # a UTF-8 surrogate
])
def test_bad_values_name_the_parameter(query, named):
    with pytest.raises(QueryStringError) as caught:
        parse_query_string(query)
    assert str(caught.value) == "Query parameter %s is not valid UTF-8" % named


def test_bad_parameter_name():
    with pytest.raises(QueryStringError, match="parameter name"):
        parse_query_string("%ff=1")
