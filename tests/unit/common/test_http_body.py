"""The strict chunked decoder and the request body input."""
import io

import pytest

from objstore.common.http_body import ChunkedDecoder, MalformedBody, RequestInput


def decode(raw, size=None):
    decoder = ChunkedDecoder(io.BytesIO(raw))
    out = []
    while True:
        data = decoder.read(size)
        if not data:
            return b"".join(out)
        out.append(data)


@pytest.mark.parametrize("size", [None, 1, 3, 100])
def test_well_formed_chunks(size):
    raw = b"5\r\nhello\r\nA;name=value\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n"
    assert decode(raw, size) == b"hello0123456789"


def test_decoder_stops_at_the_end_of_the_body():
    stream = io.BytesIO(b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n")
    decoder = ChunkedDecoder(stream)
    assert decoder.read() == b"abc"
    assert decoder.done
    assert stream.read() == b"GET / HTTP/1.1\r\n"


@pytest.mark.parametrize("raw", [
    b"+5\r\nhello\r\n0\r\n\r\n",
    b"0x5\r\nhello\r\n0\r\n\r\n",
    b"1_0\r\n0123456789abcdef\r\n0\r\n\r\n",
    b" 5\r\nhello\r\n0\r\n\r\n",
    b"5\nhello\n0\n\n",
    b"5\r\nhello\n0\r\n\r\n",
    b"5\r\nhelloXX\r\n0\r\n\r\n",
    b"5\r\nhel",
    b"5\r\nhello\r\n",
    b"\r\n",
    b"5;a\x00b\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhello\r\n0\r\nbad trailer\r\n\r\n",
    b"5\r\nhello\r\n0\r\n folded: x\r\n\r\n",
    b"5\r\nhello\r\n0\r\nX-A: 1\r\n",
    b"12345678901234567\r\n",
])
def test_malformed_chunks(raw):
    with pytest.raises(MalformedBody) as caught:
        decode(raw)
    assert caught.value.status == 400


def make_input(raw, chunked, length, expect=False):
    events = []
    body = RequestInput(io.BytesIO(raw), chunked, length,
                        (lambda: events.append("100")) if expect else None,
                        lambda: events.append("close"), max_discard=10)
    return body, events


def test_fixed_length_input_reads_no_further():
    body, events = make_input(b"helloGET / HTTP/1.1", False, 5, expect=True)
    assert body.read(2) == b"he"
    assert body.read() == b"llo"
    assert body.read() == b""
    assert body.finished
    assert events == ["100"]


def test_bad_chunk_closes_the_connection():
    body, events = make_input(b"+5\r\nhello\r\n0\r\n\r\n", True, 0)
    with pytest.raises(ValueError):
        body.read()
    assert events == ["close"]


def test_discard_drains_small_bodies_and_closes_for_big_ones():
    small, events = make_input(b"hello", False, 5)
    assert small.discard() is True and events == []
    big, events = make_input(b"x" * 100, False, 100)
    assert big.discard() is False and events == ["close"]
    waiting, events = make_input(b"hello", False, 5, expect=True)
    assert waiting.discard() is False and events == ["close"]
    broken, events = make_input(b"5\r\nhelloXX", True, 0)
    assert broken.discard() is False and "close" in events


def test_readline_honours_framing():
    body, _ = make_input(b"a\nbc\nrest", False, 5)
    assert body.readlines() == [b"a\n", b"bc\n"]
