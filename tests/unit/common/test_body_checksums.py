"""The proxy's checksums of a streamed body and the node's reading of its trailer."""
import hashlib
import io
import zlib

import pytest

from objstore.common import body_checksums
from objstore.common.body_checksums import BadTrailer, BodyChecksums, read_trailer
from objstore.common.http_body import ChunkedDecoder


def test_checksums_of_the_chunks_fed():
    sums = BodyChecksums()
    for chunk in (b"abc", b"", b"x" * 70000):
        sums.update(chunk)
    body = b"abc" + b"x" * 70000
    assert sums.trailer() == {"X-Backend-Body-Md5": hashlib.md5(body).hexdigest(),
                              "X-Backend-Body-Crc32": "%08x" % zlib.crc32(body)}


def test_a_crc_with_leading_zeros_keeps_eight_digits():
    sums = BodyChecksums()
    sums.crc32 = 0x1234
    assert sums.trailer()["X-Backend-Body-Crc32"] == "00001234"


def test_read_trailer_takes_any_case_and_spacing():
    md5_hex = "0123456789abcdef0123456789ABCDEF"
    assert read_trailer([("x-backend-body-md5", " " + md5_hex + " "),
                         ("X-BACKEND-BODY-CRC32", "DEADBEEF"), ("Other", "x")]) == \
        (md5_hex.lower(), 0xDEADBEEF)


@pytest.mark.parametrize("fields", [
    [],
    [("X-Backend-Body-Md5", "0" * 32)],
    [("X-Backend-Body-Crc32", "00000000")],
    [("X-Backend-Body-Md5", "0" * 31), ("X-Backend-Body-Crc32", "00000000")],
    [("X-Backend-Body-Md5", "g" * 32), ("X-Backend-Body-Crc32", "00000000")],
    [("X-Backend-Body-Md5", "0" * 32), ("X-Backend-Body-Crc32", "0000000")],
    [("X-Backend-Body-Md5", "0" * 32), ("X-Backend-Body-Crc32", "-0000000")],
])
def test_read_trailer_refuses_what_it_cannot_trust(fields):
    with pytest.raises(BadTrailer):
        read_trailer(fields)


@pytest.mark.parametrize("value, wanted", [("trailer", True), (" Trailer ", True),
                                           ("", False), (None, False), ("md5", False)])
def test_wants_trailer(value, wanted):
    assert body_checksums.wants_trailer(value) is wanted


def test_the_chunked_decoder_keeps_the_trailer_fields():
    raw = b"3\r\nabc\r\n0\r\nX-Backend-Body-Md5: 00\r\nX-Other: y\r\n\r\nNEXT"
    stream = io.BytesIO(raw)
    decoder = ChunkedDecoder(stream)
    assert decoder.read() == b"abc"
    assert decoder.done
    assert decoder.trailers == [("X-Backend-Body-Md5", "00"), ("X-Other", "y")]
    assert stream.read() == b"NEXT"
