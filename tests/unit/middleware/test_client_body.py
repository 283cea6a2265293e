"""client_body: the one bounded reader and parser of clients' JSON and XML bodies."""
import io

import pytest

from objstore.middleware.client_body import (TOO_DEEP, UNBALANCED, BodyError,
                                             json_nesting_problem, load_json, load_xml,
                                             read_client_body)


def environ(body, length="auto"):
    env = {"wsgi.input": io.BytesIO(body)}
    if length == "auto":
        env["CONTENT_LENGTH"] = str(len(body))
    elif length is not None:
        env["CONTENT_LENGTH"] = length
    return env


def test_reads_declared_and_chunked_bodies():
    assert read_client_body(environ(b"[1, 2]"), 100) == b"[1, 2]"
    assert read_client_body(environ(b"x" * 200000, length=None), 300000) == b"x" * 200000


@pytest.mark.parametrize("env, status", [
    (environ(b"x" * 11), 413),                     # declared too large: refused unread
    (environ(b"x" * 11, length=None), 413),        # chunked: refused once it crosses
    (environ(b"x", length="abc"), 400),
    (environ(b"short", length="10"), 499),
])
def test_read_refusals(env, status):
    with pytest.raises(BodyError) as caught:
        read_client_body(env, 10, "Manifest File")
    assert caught.value.status == status
    if status == 413:
        assert caught.value.reason == "Manifest File > 10 bytes"


def test_declared_oversize_is_refused_before_reading():
    class Exploding(io.BytesIO):
        def read(self, *args):
            raise AssertionError("must not read")
    env = {"wsgi.input": Exploding(), "CONTENT_LENGTH": "1000000"}
    with pytest.raises(BodyError):
        read_client_body(env, 10)


@pytest.mark.parametrize("body, depth, problem", [
    (b"[]", 1, None),
    (b'[{"a": [1, 2]}]', 3, None),
    (b'[{"a": [1, 2]}]', 2, TOO_DEEP),
    (b'["[[[[", "{{{"]', 1, None),                 # brackets inside strings do not count
    (b'["\\"[[[["]', 1, None),                      # nor after an escaped quote
    (b'["\\\\", "]"]', 1, None),                    # an escaped backslash ends the escape
    (b'["\\\\"]]"]', 1, UNBALANCED),
    (b"[" * 100000, 32, UNBALANCED),
    (b"[" * 40 + b"]" * 40, 32, TOO_DEEP),
    (b"[" * 32 + b"]" * 32, 32, None),
    (b"][", 32, UNBALANCED),
    (b'["open', 32, UNBALANCED),
], ids=lambda value: repr(value)[:30] if isinstance(value, bytes) else None)
def test_json_nesting(body, depth, problem):
    assert json_nesting_problem(body, depth) == problem


def test_load_json_refuses_without_recursing():
    for hostile in (b"[" * 100000 + b"]" * 100000, b"{\"a\":" * 100000 + b"}" * 100000,
                    b"[" * 1000000 + b"]" * 1000000):
        with pytest.raises(BodyError) as caught:
            load_json(hostile, what="Manifest")
        assert caught.value.status == 400
        assert caught.value.reason == "Manifest must be valid JSON nested at most 32 levels deep"


@pytest.mark.parametrize("body", [b"{", b"\xff[]", b"NaN", b"[Infinity]", b"", b"[1,]",
                                  b"[" * 100000], ids=lambda body: repr(body)[:20])
def test_load_json_bad_syntax(body):
    with pytest.raises(BodyError) as caught:
        load_json(body)
    assert (caught.value.status, caught.value.reason) == (400, "Body must be valid JSON")


def test_load_json_accepts_text_and_bytes():
    assert load_json('{"admin": ["a\u00e9"]}', 2) == {"admin": ["a\u00e9"]}
    assert load_json(b'[{"path": "/c/o"}]', 2) == [{"path": "/c/o"}]


def test_load_xml():
    root = load_xml(b'<?xml version="1.0"?><Delete><Object><Key>k</Key></Object></Delete>')
    assert root.find("Object/Key").text == "k"


@pytest.mark.parametrize("body, reason", [
    (b"<a>" * 100 + b"</a>" * 100, "Body must be XML nested at most 32 levels deep"),
    (b"<a>" * 100000, "Body must be XML nested at most 32 levels deep"),
    (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "Body must not contain a DTD"),
    (b"<a>", "Body must be well-formed XML"),
    (b"", "Body must be well-formed XML"),
    (b"<a/><b/>", "Body must be well-formed XML"),
], ids=["deep", "unclosed-deep", "dtd", "unclosed", "empty", "two-roots"])
def test_load_xml_refusals(body, reason):
    with pytest.raises(BodyError) as caught:
        load_xml(body)
    assert (caught.value.status, caught.value.reason) == (400, reason)
