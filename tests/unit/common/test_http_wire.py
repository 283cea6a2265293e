"""The request-line, header-field and framing rules of the HTTP layer, byte by byte."""
import io

import pytest

from objstore.common.http_wire import (HeadLimits, HttpParseError, parse_field_line,
                                       parse_request_line, read_field_lines,
                                       request_body_framing, target_path_and_query)


def test_request_line_keeps_raw_utf8_bytes():
    line = parse_request_line(b"PUT /v1/AUTH_test/c/\xe0\xa4\x85x\x85 HTTP/1.1\r\n")
    assert (line.method, line.target, line.version) == (
        "PUT", b"/v1/AUTH_test/c/\xe0\xa4\x85x\x85", "HTTP/1.1")


@pytest.mark.parametrize("raw,version", [
    (b"GET / HTTP/1.0\r\n", "HTTP/1.0"),
    (b"GET / HTTP/1.1\n", "HTTP/1.1"),
    (b"GET / HTTP/1.7\r\n", "HTTP/1.1"),
])
def test_request_line_versions(raw, version):
    assert parse_request_line(raw).version == version


@pytest.mark.parametrize("raw,status", [
    (b"GET / ICE/1.0\r\n", 400),
    (b"GET / http/1.1\r\n", 400),
    (b"GET / HTTP/2.0\r\n", 505),
    (b"GET / HTTP/0.9\r\n", 505),
    (b"GET / HTTP/1.1 extra\r\n", 400),
    (b"GET  / HTTP/1.1\r\n", 400),
    (b"GET /\tx HTTP/1.1\r\n", 400),
    (b"GET /a\x00b HTTP/1.1\r\n", 400),
    (b"GET /\x0bx HTTP/1.1\r\n", 400),
    (b"G(T / HTTP/1.1\r\n", 400),
    (b"GET /\r\n", 400),
    (b"GET / HTTP/1.1", 400),
    (b"GET / HTTP/1.1\r", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n", 400),
    (b"PRI * HTTP/2.0\r\n", 505),
])
def test_bad_request_lines(raw, status):
    with pytest.raises(HttpParseError) as caught:
        parse_request_line(raw)
    assert caught.value.status == status


def test_field_line_strips_optional_whitespace_and_keeps_obs_text():
    assert parse_field_line(b"X-Object-Meta-A:  caf\xc3\xa9 \t") == (
        "X-Object-Meta-A", "caf\xc3\xa9")
    # Control bytes other than NUL, CR and LF are kept (RFC 9110 §5.5 allows it).
    assert parse_field_line(b"Content-Type: text/\x02plain\x0b") == (
        "Content-Type", "text/\x02plain\x0b")


@pytest.mark.parametrize("raw", [
    b" folded: x", b"\tfolded", b"No colon here", b"Bad Name: x", b"X-\xc3\xa9: x",
    b"X-A(b)@c: x", b"X-A : x", b": x", b"X-A: a\x00b", b"X-A: a\rb",
])
def test_bad_field_lines(raw):
    with pytest.raises(HttpParseError) as caught:
        parse_field_line(raw)
    assert caught.value.status == 400


def test_field_lines_honour_the_header_cap():
    limits = HeadLimits(max_line=100, max_header_count=3, max_head_bytes=1000)
    ok = io.BytesIO(b"A: 1\r\nB: 2\r\nC: 3\r\n\r\nbody")
    assert read_field_lines(ok.readline, limits) == [("A", "1"), ("B", "2"), ("C", "3")]
    assert ok.read() == b"body"
    with pytest.raises(HttpParseError, match="too many headers"):
        read_field_lines(io.BytesIO(b"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n").readline, limits)
    with pytest.raises(HttpParseError, match="too long"):
        read_field_lines(io.BytesIO(b"A: " + b"x" * 200 + b"\r\n\r\n").readline, limits)
    with pytest.raises(HttpParseError, match="ended early"):
        read_field_lines(io.BytesIO(b"A: 1\r\n").readline, limits)


def framing(*fields, version="HTTP/1.1"):
    return request_body_framing(list(fields), version)


def test_framing_lengths():
    assert (framing().chunked, framing().length) == (False, 0)
    assert framing(("Content-Length", "42")).length == 42
    assert framing(("Transfer-Encoding", "Chunked")).chunked


@pytest.mark.parametrize("fields,status", [
    ([("Transfer-Encoding", "chunked, chunked")], 400),
    ([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], 400),
    ([("Transfer-Encoding", "identity, chunked")], 501),
    ([("Transfer-Encoding", "gzip, chunked")], 501),
    ([("Transfer-Encoding", "chunked, gzip")], 400),
    ([("Transfer-Encoding", "xchunked")], 400),
    ([("Transfer-Encoding", '"chunked"')], 400),
    ([("Transfer-Encoding", "chunked;q=1")], 400),
    ([("Transfer-Encoding", "")], 400),
    ([("Transfer-Encoding", "chunked"), ("Content-Length", "5")], 400),
    ([("Content-Length", "5"), ("Content-Length", "44")], 400),
    ([("Content-Length", "5"), ("content-length", "5")], 400),
    ([("Content-Length", "5, 5")], 400),
    ([("Content-Length", "-0")], 400),
    ([("Content-Length", "+5")], 400),
    ([("Content-Length", "0x5")], 400),
    ([("Content-Length", "")], 400),
    ([("Content-Length", "9" * 25)], 400),
])
def test_ambiguous_framing_is_refused(fields, status):
    with pytest.raises(HttpParseError) as caught:
        request_body_framing(fields, "HTTP/1.1")
    assert caught.value.status == status


def test_chunked_in_http10_is_refused():
    with pytest.raises(HttpParseError):
        framing(("Transfer-Encoding", "chunked"), version="HTTP/1.0")


def test_target_split():
    assert target_path_and_query(b"/v1/a?x=%ff&y") == (b"/v1/a", b"x=%ff&y")
    assert target_path_and_query(b"http://host:8080/v1/a?q") == (b"/v1/a", b"q")
    assert target_path_and_query(b"*") == (b"*", b"")
