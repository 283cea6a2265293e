"""The fast CRC-32 is zlib's checksum, value for value, and the accelerated one is in use."""
import os
import zlib

from objstore.common import fast_crc32


def test_same_values_as_zlib_whole_and_carried_over_chunks():
    data = os.urandom(300_000)
    assert fast_crc32.crc32(b"") == zlib.crc32(b"") == 0
    assert fast_crc32.crc32(b"123456789") == 0xCBF43926   # the CRC-32 check value
    assert fast_crc32.crc32(data) == zlib.crc32(data)
    carried = 0
    for start in range(0, len(data), 65536):
        carried = fast_crc32.crc32(memoryview(data)[start:start + 65536], carried)
    assert carried == zlib.crc32(data)
    assert fast_crc32.crc32(data, 12345) == zlib.crc32(data, 12345)


def test_the_declared_accelerated_implementation_is_the_one_used():
    # zlib-ng is a dependency: its absence must show here, not as slow uploads
    assert fast_crc32.crc32.__module__ == "zlib_ng.zlib_ng"
