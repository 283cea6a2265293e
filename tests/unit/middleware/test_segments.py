"""Shared large-object machinery: clipping, streaming pieces, the response builder."""
import logging

import pytest
from webob import Request

from objstore.middleware.segments import (
    SegmentError,
    SegmentPiece,
    clip,
    large_object_response,
    stream_pieces,
)

A = "/v1/AUTH_a"
log = logging.getLogger("test-segments")


def test_clip_offsets():
    items = [("a", 3), ("empty", 0), ("b", 4), ("c", 2)]
    assert list(clip(items, 0, 9)) == [("a", 0, 3), ("b", 0, 4), ("c", 0, 2)]
    assert list(clip(items, 2, 5)) == [("a", 2, 3), ("b", 0, 2)]
    assert list(clip(items, 7, 9)) == [("c", 0, 2)]
    assert list(clip(items, 9, 12)) == []


def test_clip_stops_consuming_after_end():
    consumed = []

    def items():
        for name in "abcdef":
            consumed.append(name)
            yield name, 10
    assert [i[0] for i in clip(items(), 0, 15)] == ["a", "b"]
    assert consumed == ["a", "b", "c"]


def test_stream_pieces_ranges_and_checks(fake_store):
    store = fake_store(chunk=3)
    etag = store.put(A + "/c/one", b"0123456789")
    env = Request.blank("/v1/AUTH_a/c/lo").environ
    pieces = [SegmentPiece(A + "/c/one", 2, 5, etag=etag, size=10),
              SegmentPiece("", 1, 3, data=b"xyz"),
              SegmentPiece(A + "/c/one", 0, 10, etag=etag, size=10)]
    assert b"".join(stream_pieces(store, env, pieces, log)) == b"234yz0123456789"
    assert store.calls[0][3]["Range"] == "bytes=2-4"
    assert "Range" not in store.calls[1][3]
    assert all(c[2] == "multipart-manifest=get" for c in store.calls)
    with pytest.raises(SegmentError, match="size"):
        b"".join(stream_pieces(store, env, [SegmentPiece(A + "/c/one", 0, 3, size=11)], log))
    with pytest.raises(SegmentError, match="404"):
        b"".join(stream_pieces(store, env, [SegmentPiece(A + "/c/gone", 0, 3)], log))


def test_large_object_response_head_and_conditions():
    headers = [("Content-Type", "text/plain"), ("Etag", "manifest-etag"),
               ("Content-Length", "99"), ("Last-Modified", "Thu, 01 Jan 2026 00:00:00 GMT")]

    def read_range(start, end):
        return iter([b"x" * (end - start)])
    head = large_object_response(Request.blank("/", method="HEAD"), headers, 40, "e1", read_range)
    assert head.status_int == 200
    assert head.headers["Content-Length"] == "40"
    assert head.headers["Etag"] == '"e1"'
    since = Request.blank("/", headers={"If-Modified-Since": "Fri, 02 Jan 2026 00:00:00 GMT"})
    assert large_object_response(since, headers, 40, "e1", read_range).status_int == 304
    ranged = Request.blank("/", headers={"Range": "bytes=10-"})
    resp = large_object_response(ranged, headers, 40, "e1", read_range)
    assert resp.status_int == 206 and resp.body == b"x" * 30
