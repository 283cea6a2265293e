"""The dlo middleware against an in-memory store."""
import hashlib

import pytest
from webob import Request

from objstore.common.cluster_config import ClusterConfig
from objstore.common.http_text import str_to_wsgi
from objstore.middleware import dlo
from objstore.middleware.catch_errors import ResponseBodyAborted

A = "/v1/AUTH_a"


def md5(data):
    return hashlib.md5(data).hexdigest()


@pytest.fixture
def store(fake_store):
    store = fake_store(listing_limit=2)
    for index, data in enumerate((b"0123", b"4567", b"89", b"ab", b"cdef")):
        store.put(A + "/segs/part/%02d" % index, data)
    store.put(A + "/segs/other", b"not mine")
    store.put(A + "/c/big", b"", X_Object_Manifest="segs/part/", X_Object_Meta_Kind="dlo")
    return store


@pytest.fixture
def cluster():
    return ClusterConfig.build("test-prefix", "test-suffix")


@pytest.fixture
def app(store, cluster):
    return dlo.filter_factory(cluster, {}, max_segments="8")(store)


def get(app, path=A + "/c/big", method="GET", **headers):
    return Request.blank(path, method=method, headers=headers).get_response(app)


def test_get_concatenates_in_name_order_across_listing_pages(app, store):
    resp = get(app)
    assert resp.status_int == 200
    assert resp.body == b"0123456789abcdef"
    assert resp.headers["Content-Length"] == "16"
    etags = "".join(md5(d) for d in (b"0123", b"4567", b"89", b"ab", b"cdef"))
    assert resp.headers["Etag"] == '"%s"' % md5(etags.encode())
    assert resp.headers["X-Object-Manifest"] == "segs/part/"
    assert resp.headers["X-Object-Meta-Kind"] == "dlo"
    listings = [c[2] for c in store.calls if c[1] == A + "/segs"]
    assert len(listings) >= 3                       # pages of 2 entries, paged by marker
    assert any("marker=part/01" in q for q in listings)
    head = get(app, method="HEAD")
    assert head.headers["Content-Length"] == "16" and head.body == b""


def test_ranges(app):
    resp = get(app, Range="bytes=3-10")
    assert resp.status_int == 206
    assert resp.body == b"3456789a"
    assert resp.headers["Content-Range"] == "bytes 3-10/16"
    multi = get(app, Range="bytes=0-0,15-15")
    assert multi.status_int == 200
    assert multi.body == b"0123456789abcdef"
    assert "Content-Range" not in multi.headers
    assert get(app, Range="bytes=0-0,99-").status_int == 206
    assert get(app, Range="bytes=16-").status_int == 416


def test_conditionals(app):
    etag = get(app, method="HEAD").headers["Etag"]
    assert get(app, **{"If-None-Match": etag}).status_int == 304
    assert get(app, **{"If-Match": etag}).body == b"0123456789abcdef"
    assert get(app, **{"If-Match": '"other"'}).status_int == 412


def test_manifest_get_returns_the_manifest_object(app, store):
    resp = get(app, A + "/c/big?multipart-manifest=get")
    assert resp.status_int == 200
    assert resp.body == b""
    assert resp.headers["X-Object-Manifest"] == "segs/part/"
    assert not [c for c in store.calls if c[1] == A + "/segs"]


def test_no_segments_is_an_empty_object(app, store):
    store.put(A + "/c/empty", b"", X_Object_Manifest="nosuch/prefix")
    resp = get(app, A + "/c/empty")
    assert resp.status_int == 200 and resp.body == b""
    assert resp.headers["Etag"] == '"%s"' % md5(b"")


def test_too_many_segments(app, store, cluster):
    for index in range(10):
        store.put(A + "/segs/many/%02d" % index, b"x")
    store.put(A + "/c/many", b"", X_Object_Manifest="segs/many/")
    resp = get(app, A + "/c/many")
    assert resp.status_int == 409
    assert cluster.capabilities.as_info()["dlo"]["max_segments"] == 8


def test_segment_shorter_than_listed_truncates(app, store):
    resp = get(app)
    multi = get(app, Range="bytes=0-0,8-9")
    store.put(A + "/segs/part/02", b"8")
    with pytest.raises(ResponseBodyAborted, match="early"):
        b"".join(resp.app_iter)
    with pytest.raises(ResponseBodyAborted, match="early"):
        b"".join(multi.app_iter)


@pytest.mark.parametrize("value", ["nocontainer", "/segs/x", "segs/x?y=1", "/", "%FF/x"])
def test_put_with_malformed_manifest_is_refused(app, store, value):
    resp = Request.blank(A + "/c/bad", method="PUT", body=b"",
                         headers={"X-Object-Manifest": value}).get_response(app)
    assert resp.status_int == 400
    assert b"container/prefix" in resp.body
    assert A + "/c/bad" not in store.objects


def test_put_with_valid_manifest_and_quoted_prefix(app, store):
    store.put(A + "/segs/sp ace", b"hi")
    resp = Request.blank(A + "/c/q", method="PUT", body=b"",
                         headers={"X-Object-Manifest": "segs/sp%20a"}).get_response(app)
    assert resp.status_int == 201
    assert get(app, A + "/c/q").body == b"hi"


def test_a_utf8_prefix_keeps_every_byte(app, store):
    """U+3705 is e3 9c 85: its last byte is no whitespace, the manifest is valid."""
    value = str_to_wsgi("segs/\u3705")
    resp = Request.blank(A + "/c/u", method="PUT", body=b"",
                         headers={"X-Object-Manifest": value}).get_response(app)
    assert resp.status_int == 201


def test_plain_objects_untouched(app):
    assert get(app, A + "/segs/other", Range="bytes=0-2").body == b"not"
    assert get(app, A + "/segs/other", **{"If-Match": '"x"'}).status_int == 412
