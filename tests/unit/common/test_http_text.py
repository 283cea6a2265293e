"""WSGI string conversions: lossless both ways, validity asked separately."""
from objstore.common.http_response import plain_reply_bytes, plain_response
from objstore.common.http_text import (bytes_to_wsgi, str_to_wsgi, wsgi_is_utf8, wsgi_quote,
                                       wsgi_strip, wsgi_to_bytes, wsgi_to_str, wsgi_unquote)

RAW = "caf\u00e9 \u0905".encode("utf-8")


def test_round_trips():
    wsgi = bytes_to_wsgi(RAW)
    assert wsgi_to_bytes(wsgi) == RAW
    assert wsgi_to_str(wsgi) == "caf\u00e9 \u0905"
    assert str_to_wsgi(wsgi_to_str(wsgi)) == wsgi


def test_invalid_utf8_survives_and_is_reported():
    wsgi = bytes_to_wsgi(b"a\xffb")
    text = wsgi_to_str(wsgi)
    assert str_to_wsgi(text) == wsgi
    assert not wsgi_is_utf8(wsgi)
    assert not wsgi_is_utf8(bytes_to_wsgi(b"a\x00b"))
    assert wsgi_is_utf8(bytes_to_wsgi(RAW))


def test_text_built_strings_stand_for_their_utf8():
    assert wsgi_to_bytes("\u0905") == "\u0905".encode("utf-8")


def test_strip_takes_only_spaces_and_tabs():
    # U+5605 is e5 98 85 and U+1801 is e1 a0 81: \x85 and \xa0 are latin-1
    # whitespace to str.strip(), but here they are bytes of the name.
    name = str_to_wsgi("\u1801\u5605")
    assert wsgi_strip(" \t%s \t" % name) == name
    assert wsgi_is_utf8(wsgi_strip(name))


def test_quote_and_unquote():
    wsgi = bytes_to_wsgi(RAW)
    assert wsgi_quote(wsgi) == "caf%C3%A9%20%E0%A4%85"
    assert wsgi_unquote("caf%C3%A9%20%E0%A4%85") == wsgi


def test_plain_replies():
    reply = plain_reply_bytes(400, "Bad Request (no colon)")
    head, _sep, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"Connection: close" in head
    assert b"Content-Length: %d" % len(body) in head
    resp = plain_response(412, "Invalid UTF8 or contains NULL")
    assert resp.status == "412 Precondition Failed"
    assert resp.body == b"Invalid UTF8 or contains NULL"
    assert plain_response(204, "x").body == b""
