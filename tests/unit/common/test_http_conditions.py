"""Range parsing and conditional-request evaluation (RFC 7232/7233)."""
import pytest

from objstore.common.http_conditions import (RangeNotSatisfiable, evaluate_preconditions,
                                             multipart_byteranges, multipart_length,
                                             parse_range)


@pytest.mark.parametrize("header,expected", [
    ("bytes=0-4", [(0, 5)]),
    ("bytes=5-", [(5, 10)]),
    ("bytes=-3", [(7, 10)]),
    ("bytes=-30", [(0, 10)]),
    ("bytes=8-100", [(8, 10)]),
    ("bytes=0-0, 2-3 ,9-", [(0, 1), (2, 4), (9, 10)]),
    ("bytes=0-1,20-30", [(0, 2)]),        # the unsatisfiable part is dropped
    (None, None), ("", None), ("items=0-1", None), ("bytes=3-1", None),
    ("bytes=a-b", None), ("bytes=-", None), ("bytes=1", None), ("bytes=0-1,x", None),
    ("bytes=" + ",".join(["0-1"] * 101), None),
])
def test_parse_range(header, expected):
    assert parse_range(header, 10) == expected


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=10-20", "bytes=-0", "bytes=20-,30-"])
def test_unsatisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 10)


def test_empty_body_ranges_are_unsatisfiable():
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=-5", 0)


LM = 1000.0  # Thu, 01 Jan 1970 00:16:40 GMT


@pytest.mark.parametrize("headers,method,expected", [
    ({}, "GET", None),
    ({"If-Match": '"abc"'}, "GET", None),
    ({"If-Match": 'W/"abc"'}, "GET", None),
    ({"If-Match": '"x", "abc"'}, "GET", None),
    ({"If-Match": '"x"'}, "GET", 412),
    ({"If-Match": "*"}, "PUT", None),
    ({"If-None-Match": '"abc"'}, "GET", 304),
    ({"If-None-Match": '"abc"'}, "HEAD", 304),
    ({"If-None-Match": '"abc"'}, "DELETE", 412),
    ({"If-None-Match": "*"}, "GET", 304),
    ({"If-None-Match": '"x"'}, "GET", None),
    ({"If-Modified-Since": "Thu, 01 Jan 1970 00:16:40 GMT"}, "GET", 304),
    ({"If-Modified-Since": "Thu, 01 Jan 1970 00:16:39 GMT"}, "GET", None),
    ({"If-Modified-Since": "Thu, 01 Jan 1970 00:16:40 GMT"}, "PUT", None),
    ({"If-Modified-Since": "nonsense"}, "GET", None),
    ({"If-Unmodified-Since": "Thu, 01 Jan 1970 00:16:39 GMT"}, "GET", 412),
    ({"If-Unmodified-Since": "Thu, 01 Jan 1970 00:16:40 GMT"}, "GET", None),
    # If-Match and If-Unmodified-Since must both hold (Swift's rule, stricter than
    # RFC 7232); If-None-Match wins over If-Modified-Since
    ({"If-Match": '"abc"', "If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:01 GMT"}, "GET",
     412),
    ({"If-Match": '"abc"', "If-Unmodified-Since": "Thu, 01 Jan 1970 00:16:40 GMT"}, "GET",
     None),
    ({"If-None-Match": '"x"', "If-Modified-Since": "Thu, 01 Jan 1970 00:16:40 GMT"}, "GET",
     None),
])
def test_preconditions(headers, method, expected):
    assert evaluate_preconditions(headers, method, "abc", LM) == expected


def test_if_match_without_object():
    assert evaluate_preconditions({"If-Match": "*"}, "GET", None, None) == 412


def test_multipart_length_matches_body():
    data = b"0123456789"
    ranges = [(0, 2), (5, 10)]
    body = b"".join(multipart_byteranges(ranges, 10, "text/plain", "BOUND",
                                         lambda s, e: [data[s:e]]))
    assert len(body) == multipart_length(ranges, 10, "text/plain", "BOUND")
    assert body.startswith(b"--BOUND\r\nContent-Type: text/plain\r\n"
                           b"Content-Range: bytes 0-1/10\r\n\r\n01\r\n")
    assert body.endswith(b"56789\r\n--BOUND--\r\n")
