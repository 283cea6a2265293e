"""The object server, verb by verb, through webob requests."""
import hashlib
import io
import os
import time
import zlib

import pytest

from objstore.obj.diskfile import DiskFileQuarantined
from webob import Request

from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import sleep
from objstore.common.constraints import Constraints
from objstore.common.timestamp import Timestamp
from objstore.common.storage_policy import PolicyCollection, StoragePolicy
from objstore.obj import server as server_mod
from objstore.obj.diskfile import fs_managers
from objstore.obj.diskfile import fs as fs_diskfile
from objstore.obj.diskfile import metadata as mdcodec
from objstore.obj.updater import ObjectUpdater

PATH = "/sda/3/AUTH_a/c/o"
CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


@pytest.fixture
def devices(tmp_path):
    (tmp_path / "sda").mkdir()
    return tmp_path


@pytest.fixture
def app(devices):
    return server_mod.ObjectServer(CLUSTER, {"devices": str(devices), "client_timeout": "0.2",
                                             "node_timeout": "1", "conn_timeout": "0.5"})


def ts(value):
    return Timestamp(value).internal


def req(method, path=PATH, body=None, **headers):
    kwargs = {"method": method, "headers": headers}
    if body is not None:
        kwargs["body"] = body
    return Request.blank(path, **kwargs)


def put(app, body=b"hello", when=1, path=PATH, **headers):
    headers.setdefault("X-Timestamp", ts(when))
    headers.setdefault("Content-Type", "text/plain")
    return req("PUT", path, body, **headers).get_response(app)


def get(app, path=PATH, method="GET", **headers):
    return req(method, path, **headers).get_response(app)


# -- PUT ------------------------------------------------------------------------

def test_put_get_head_round_trip(app):
    resp = put(app, b"hello", 1, **{"X-Object-Meta-Color": "blue",
                                     "X-Object-Sysmeta-Thing": "s",
                                     "Content-Disposition": "inline",
                                     "Content-Encoding": "gzip",
                                     "X-Object-Manifest": "c/seg",
                                     "X-Backend-Whatever": "not stored"})
    assert resp.status_int == 201
    assert resp.headers["ETag"] == hashlib.md5(b"hello").hexdigest()
    for method in ("GET", "HEAD"):
        resp = get(app, method=method)
        assert resp.status_int == 200
        assert resp.body == (b"hello" if method == "GET" else b"")
        assert resp.headers["Content-Length"] == "5"
        assert resp.headers["ETag"] == hashlib.md5(b"hello").hexdigest()
        assert resp.headers["Content-Type"] == "text/plain"
        assert resp.headers["X-Timestamp"] == Timestamp(1).normal
        assert resp.headers["X-Backend-Timestamp"] == ts(1)
        assert resp.headers["X-Backend-Data-Timestamp"] == ts(1)
        assert resp.headers["Last-Modified"] == "Thu, 01 Jan 1970 00:00:01 GMT"
        assert resp.headers["X-Object-Meta-Color"] == "blue"
        assert resp.headers["X-Object-Sysmeta-Thing"] == "s"
        assert resp.headers["Content-Disposition"] == "inline"
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["X-Object-Manifest"] == "c/seg"
        assert "X-Backend-Whatever" not in resp.headers


def test_non_ascii_metadata_and_names(app):
    path = "/sda/3/AUTH_a/c%C3%A9/%E2%98%83/x"
    value = "välue ☃".encode("utf-8").decode("latin-1")
    assert put(app, path=path, **{"X-Object-Meta-Ünï".encode().decode("latin-1"): value}
               ).status_int == 201
    resp = get(app, path=path)
    assert resp.status_int == 200
    assert resp.headers["X-Object-Meta-Ünï".encode().decode("latin-1")] == value


def test_put_chunked_body(app):
    request = Request.blank(PATH, method="PUT", headers={
        "X-Timestamp": ts(1), "Content-Type": "a/b", "Transfer-Encoding": "chunked"})
    request.environ["wsgi.input"] = io.BytesIO(b"x" * 200000)
    request.environ.pop("CONTENT_LENGTH", None)
    resp = request.get_response(app)
    assert resp.status_int == 201
    assert resp.headers["ETag"] == hashlib.md5(b"x" * 200000).hexdigest()
    assert get(app).headers["Content-Length"] == "200000"


def test_put_streams_in_chunks(app):
    chunk = app.conf.network_chunk_size
    size = chunk * 4 + 1000

    class Input:
        reads = []

        def __init__(self):
            self.data = io.BytesIO(b"y" * size)

        def read(self, size=-1):
            Input.reads.append(size)
            return self.data.read(size)

    request = Request.blank(PATH, method="PUT", headers={
        "X-Timestamp": ts(1), "Content-Type": "a/b", "Content-Length": str(size)})
    request.environ["wsgi.input"] = Input()
    assert request.get_response(app).status_int == 201
    assert max(Input.reads) <= chunk and len(Input.reads) >= 5


def test_put_without_length_is_411(app):
    request = Request.blank(PATH, method="PUT", headers={"X-Timestamp": ts(1),
                                                        "Content-Type": "a/b"})
    request.environ.pop("CONTENT_LENGTH", None)
    assert request.get_response(app).status_int == 411


def test_put_too_large_is_413(devices):
    small = ClusterConfig.build("test-prefix", "test-suffix",
                                constraints=Constraints(max_file_size=10))
    app = server_mod.ObjectServer(small, {"devices": str(devices), "client_timeout": "0.2"})
    assert put(app, b"x" * 11).status_int == 413
    request = Request.blank(PATH, method="PUT", headers={
        "X-Timestamp": ts(1), "Content-Type": "a/b", "Transfer-Encoding": "chunked"})
    request.environ["wsgi.input"] = io.BytesIO(b"x" * 11)
    request.environ.pop("CONTENT_LENGTH", None)
    assert request.get_response(app).status_int == 413
    assert get(app).status_int == 404


def test_put_bad_etag_is_422_and_keeps_nothing(app, devices):
    resp = put(app, b"hello", ETag="0" * 32)
    assert resp.status_int == 422
    assert get(app).status_int == 404
    assert os.listdir(devices / "sda" / "tmp") == []
    assert put(app, b"hello", ETag='"%s"' % hashlib.md5(b"hello").hexdigest()).status_int == 201


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
@pytest.mark.parametrize("value", [None, "", "garbage", "-1"])
def test_missing_or_bad_timestamp_is_400(app, method, value):
    headers = {"Content-Type": "a/b"}
    if value is not None:
        headers["X-Timestamp"] = value
    resp = req(method, body=b"x" if method == "PUT" else None, **headers).get_response(app)
    assert resp.status_int == 400
    assert b"X-Timestamp" in resp.body


def test_put_without_content_type_is_400(app):
    resp = req("PUT", body=b"x", **{"X-Timestamp": ts(1)}).get_response(app)
    assert resp.status_int == 400


@pytest.mark.parametrize("path", ["/sda/notanumber/a/c/o", "/sda/3/a/c", "/sda/3/a/c/",
                                  "/sda", "/sda/3//c/o"])
def test_bad_paths_are_400(app, path):
    assert put(app, path=path).status_int == 400
    assert get(app, path=path).status_int == 400


def test_missing_device_is_507(app):
    assert put(app, path="/sdz/3/a/c/o").status_int == 507
    assert get(app, path="/sdz/3/a/c/o").status_int == 507


def test_unmounted_device_with_mount_check_is_507(devices):
    app = server_mod.ObjectServer(CLUSTER, {"devices": str(devices), "mount_check": "true"})
    assert put(app).status_int == 507


def test_full_device_is_507(devices, app):
    app.managers = fs_managers(PolicyCollection(), str(devices), CLUSTER.hasher,
                               fallocate_reserve=1 << 62)
    assert put(app).status_int == 507
    assert get(app).status_int == 404


def test_full_device_by_percentage_is_507(devices, app):
    app.managers = fs_managers(PolicyCollection(), str(devices), CLUSTER.hasher,
                               fallocate_reserve="100%")
    assert put(app).status_int == 507
    assert get(app).status_int == 404


def test_object_server_keeps_one_percent_free_by_default():
    from objstore.obj.server import ObjectServerConfig

    assert str(ObjectServerConfig.from_section({}).fallocate_reserve) == "1%"
    assert str(ObjectServerConfig.from_section(
        {"fallocate_reserve": "0"}).fallocate_reserve) == "0"


def test_unknown_policy_and_bad_policy_header(app):
    assert put(app, **{"X-Backend-Storage-Policy-Index": "7"}).status_int == 503
    assert put(app, **{"X-Backend-Storage-Policy-Index": "x"}).status_int == 400


def test_bad_metadata_is_400(app):
    assert put(app, **{"X-Object-Meta-Big": "v" * 257}).status_int == 400


def test_client_disconnect_is_499(app, devices):
    request = Request.blank(PATH, method="PUT", headers={
        "X-Timestamp": ts(1), "Content-Type": "a/b", "Content-Length": "10"})
    request.environ["wsgi.input"] = io.BytesIO(b"12345")
    assert request.get_response(app).status_int == 499
    assert get(app).status_int == 404
    assert os.listdir(devices / "sda" / "tmp") == []


def test_client_timeout_is_408(app):
    class SlowInput:
        def read(self, size=-1):
            sleep(5)
            return b""

    request = Request.blank(PATH, method="PUT", headers={
        "X-Timestamp": ts(1), "Content-Type": "a/b", "Content-Length": "10"})
    request.environ["wsgi.input"] = SlowInput()
    began = time.time()
    assert request.get_response(app).status_int == 408
    assert time.time() - began < 2
    assert get(app).status_int == 404


def test_stale_put_is_409_with_backend_timestamp(app):
    assert put(app, b"new", 5).status_int == 201
    for when in (4, 5):
        resp = put(app, b"old", when)
        assert resp.status_int == 409
        assert resp.headers["X-Backend-Timestamp"] == ts(5)
    assert get(app).body == b"new"


def test_put_past_delete_at_is_400(app):
    assert put(app, **{"X-Delete-At": str(int(time.time()) - 10)}).status_int == 400
    assert put(app, **{"X-Delete-At": "soon"}).status_int == 400


# -- GET / HEAD -----------------------------------------------------------------

def test_missing_object_is_404_without_timestamp(app):
    resp = get(app)
    assert resp.status_int == 404 and "X-Backend-Timestamp" not in resp.headers


def test_ranges(app):
    put(app, b"0123456789")
    resp = get(app, Range="bytes=2-4")
    assert resp.status_int == 206 and resp.body == b"234"
    assert resp.headers["Content-Range"] == "bytes 2-4/10"
    resp = get(app, Range="bytes=-3")
    assert resp.body == b"789" and resp.headers["Content-Range"] == "bytes 7-9/10"
    resp = get(app, Range="bytes=8-100")
    assert resp.body == b"89"
    resp = get(app, Range="bytes=0-0,5-6")
    assert resp.status_int == 206
    ctype = resp.headers["Content-Type"]
    assert ctype.startswith("multipart/byteranges;boundary=")
    boundary = ctype.split("=", 1)[1].encode()
    assert resp.body.count(b"--" + boundary) == 3
    assert b"Content-Range: bytes 0-0/10\r\n\r\n0\r\n" in resp.body
    assert b"Content-Range: bytes 5-6/10\r\n\r\n56\r\n" in resp.body
    assert int(resp.headers["Content-Length"]) == len(resp.body)
    resp = get(app, Range="bytes=10-20")
    assert resp.status_int == 416 and resp.headers["Content-Range"] == "bytes */10"
    # malformed ranges are ignored: the whole body
    for bad in ("bytes=5-2", "bytes=x-y", "items=0-1"):
        resp = get(app, Range=bad)
        assert resp.status_int == 200 and resp.body == b"0123456789"


def test_conditional_requests(app):
    put(app, b"hello", 1000)
    etag = hashlib.md5(b"hello").hexdigest()
    assert get(app, **{"If-Match": '"%s"' % etag}).status_int == 200
    assert get(app, **{"If-Match": "*"}).status_int == 200
    assert get(app, **{"If-Match": '"nope"'}).status_int == 412
    for method in ("GET", "HEAD"):
        resp = get(app, method=method, **{"If-None-Match": etag})
        assert resp.status_int == 304 and resp.headers["ETag"] == etag
    assert get(app, **{"If-None-Match": '"other"'}).status_int == 200
    assert get(app, **{"If-Modified-Since": "Thu, 01 Jan 1970 00:16:40 GMT"}).status_int == 304
    assert get(app, **{"If-Modified-Since": "Thu, 01 Jan 1970 00:16:39 GMT"}).status_int == 200
    assert get(app, **{"If-Unmodified-Since": "Thu, 01 Jan 1970 00:16:39 GMT"}).status_int == 412
    assert get(app, **{"If-Unmodified-Since": "Thu, 01 Jan 1970 00:16:40 GMT"}).status_int == 200
    assert get(app, **{"If-Modified-Since": "garbage"}).status_int == 200


def test_expired_object_is_404(app, monkeypatch):
    delete_at = int(time.time()) + 100
    assert put(app, **{"X-Delete-At": str(delete_at)}).status_int == 201
    assert get(app).headers["X-Delete-At"] == str(delete_at)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 200)
    resp = get(app)
    assert resp.status_int == 404 and resp.headers["X-Backend-Timestamp"] == ts(1)
    assert req("POST", **{"X-Timestamp": ts(2)}).get_response(app).status_int == 404


def test_expired_object_served_only_on_the_backend_open_expired_header(app, monkeypatch):
    delete_at = int(time.time()) + 100
    assert put(app, b"late", **{"X-Delete-At": str(delete_at)}).status_int == 201
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 200)
    # the client's own header means nothing here: the proxy decides
    assert get(app, **{"X-Open-Expired": "true"}).status_int == 404
    opened = get(app, **{"X-Backend-Open-Expired": "true"})
    assert (opened.status_int, opened.body) == (200, b"late")
    assert opened.headers["X-Delete-At"] == str(delete_at)
    assert req("HEAD", **{"X-Backend-Open-Expired": "true"}).get_response(app).status_int == 200
    # a POST through the header brings the object back with a new expiry
    later = str(int(real_time()) + 1000)
    resp = req("POST", **{"X-Timestamp": ts(2), "X-Backend-Open-Expired": "true",
                          "X-Delete-At": later, "X-Object-Meta-Back": "yes"}).get_response(app)
    assert resp.status_int == 202
    back = get(app)
    assert (back.status_int, back.body) == (200, b"late")
    assert back.headers["X-Delete-At"] == later
    assert back.headers["X-Object-Meta-Back"] == "yes"


@pytest.mark.parametrize("with_crc", [True, False])
def test_corrupt_object_is_quarantined_on_get(app, devices, with_crc):
    put(app, b"hello")
    if not with_crc:
        _drop_stored_crc(devices)
    for root, _dirs, names in os.walk(devices / "sda" / "objects"):
        for name in names:
            with open(os.path.join(root, name), "r+b") as handle:
                handle.write(b"J")
    # a small object is checked before the answer: no corrupt bytes with a 200
    resp = get(app)
    assert resp.status_int == 404
    assert get(app).status_int == 404
    quarantined = list((devices / "sda" / "quarantined" / "objects").iterdir())
    assert len(quarantined) == 1


CRC_KEY = "X-Backend-Data-Crc32"


def _with_stored_data(devices, use):
    """``use(fd, dir)`` on the one .data under ``devices``; returns what it returns."""
    for root, _dirs, names in os.walk(devices / "sda" / "objects"):
        for name in names:
            if name.endswith(".data"):
                fd = os.open(os.path.join(root, name), os.O_RDONLY)
                try:
                    return use(fd, root)
                finally:
                    os.close(fd)
    raise AssertionError("no .data")


def _stored_metadata(devices):
    """The .data's metadata as stored on disk (one object under ``devices``)."""
    return _with_stored_data(devices, fs_diskfile.read_metadata)


def _drop_stored_crc(devices):
    """Make the stored object look written before CRCs were stored."""
    def drop(fd, root):
        meta = fs_diskfile.read_metadata(fd, root)
        del meta[CRC_KEY]
        for key, piece in mdcodec.split_for_xattrs(mdcodec.encode_inline(meta)):
            os.setxattr(fd, key, piece)
    _with_stored_data(devices, drop)


def test_stored_crc_never_leaves_the_server(app, devices):
    body = b"0123456789" * 10
    resp = put(app, body, **{"X-Object-Meta-A": "1", "X-Object-Sysmeta-S": "s"})
    stored = _stored_metadata(devices)[CRC_KEY]
    assert stored == "%08x %s" % (zlib.crc32(body), hashlib.md5(body).hexdigest())
    answers = [resp, get(app), get(app, method="HEAD"), get(app, Range="bytes=1-3"),
               get(app, Range="bytes=1-3,5-7"), get(app, **{"If-None-Match": resp.etag}),
               get(app, **{"If-Match": "nope"}), get(app, Range="bytes=500-")]
    answers.append(req("POST", **{"X-Timestamp": ts(2),
                                  "X-Object-Meta-B": "2"}).get_response(app))
    answers.append(get(app))
    assert [a.status_int for a in answers] == [201, 200, 200, 206, 206, 304, 412, 416,
                                               202, 200]
    crc_hex = stored.split()[0]
    for answer in answers:
        for name, value in answer.headers.items():
            assert "crc" not in name.lower() and crc_hex not in value, (name, value)
    assert _stored_metadata(devices)[CRC_KEY] == stored  # the POST left it alone


@pytest.mark.parametrize("with_crc", [True, False])
def test_corrupt_large_object_stream_is_cut_before_its_end(devices, with_crc):
    app = server_mod.ObjectServer(CLUSTER, {"devices": str(devices),
                                            "disk_chunk_size": "4"})
    body = b"0123456789abcdef"
    put(app, body)
    if not with_crc:
        _drop_stored_crc(devices)
        assert CRC_KEY not in _stored_metadata(devices)
    for root, _dirs, names in os.walk(devices / "sda" / "objects"):
        for name in names:
            with open(os.path.join(root, name), "r+b") as handle:
                handle.write(b"X")
    environ = req("GET", PATH).environ
    statuses = []
    app_iter = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    received = []
    with pytest.raises(DiskFileQuarantined):
        for chunk in app_iter:
            received.append(chunk)
    assert statuses[0].startswith("200")
    # the last chunk was held back: the client got fewer bytes than promised
    assert b"".join(received) == b"X123456789ab"
    assert get(app).status_int == 404
    assert len(list((devices / "sda" / "quarantined" / "objects").iterdir())) == 1


def test_unknown_method_is_405(app):
    resp = get(app, method="PATCH")
    assert resp.status_int == 405


# -- POST -------------------------------------------------------------------------

def test_post_replaces_metadata(app):
    put(app, b"x", 1, **{"X-Object-Meta-A": "1", "X-Object-Sysmeta-S": "keep"})
    resp = req("POST", **{"X-Timestamp": ts(2), "X-Object-Meta-B": "2"}).get_response(app)
    assert resp.status_int == 202
    # the answer names the object's sysmeta (a symlink's target, for the proxy's filters)
    assert resp.headers["X-Object-Sysmeta-S"] == "keep"
    assert "X-Object-Meta-A" not in resp.headers
    head = get(app, method="HEAD")
    assert head.headers["X-Object-Meta-B"] == "2" and "X-Object-Meta-A" not in head.headers
    assert head.headers["X-Object-Sysmeta-S"] == "keep"
    assert head.headers["Content-Type"] == "text/plain"
    assert head.headers["X-Backend-Timestamp"] == ts(2)
    assert head.headers["X-Backend-Data-Timestamp"] == ts(1)
    assert get(app).body == b"x"
    req("POST", **{"X-Timestamp": ts(3), "Content-Type": "image/png"}).get_response(app)
    assert get(app, method="HEAD").headers["Content-Type"] == "image/png"
    # a later POST without a type keeps the one the earlier POST set
    req("POST", **{"X-Timestamp": ts(4), "X-Object-Meta-C": "3"}).get_response(app)
    head = get(app, method="HEAD")
    assert head.headers["Content-Type"] == "image/png" and head.headers["X-Object-Meta-C"] == "3"


def test_post_errors(app):
    assert req("POST", **{"X-Timestamp": ts(2)}).get_response(app).status_int == 404
    put(app, b"x", 5)
    resp = req("POST", **{"X-Timestamp": ts(5)}).get_response(app)
    assert resp.status_int == 409 and resp.headers["X-Backend-Timestamp"] == ts(5)
    resp = req("POST", **{"X-Timestamp": ts(6),
                          "X-Delete-At": str(int(time.time()) - 5)}).get_response(app)
    assert resp.status_int == 400
    req("DELETE", **{"X-Timestamp": ts(7)}).get_response(app)
    resp = req("POST", **{"X-Timestamp": ts(8)}).get_response(app)
    assert resp.status_int == 404 and resp.headers["X-Backend-Timestamp"] == ts(7)


# -- DELETE -----------------------------------------------------------------------

def test_delete(app):
    put(app, b"x", 1)
    resp = req("DELETE", **{"X-Timestamp": ts(2)}).get_response(app)
    assert resp.status_int == 204
    resp = get(app)
    assert resp.status_int == 404 and resp.headers["X-Backend-Timestamp"] == ts(2)
    resp = req("DELETE", **{"X-Timestamp": ts(3)}).get_response(app)
    assert resp.status_int == 404
    resp = req("DELETE", **{"X-Timestamp": ts(3)}).get_response(app)
    assert resp.status_int == 409 and resp.headers["X-Backend-Timestamp"] == ts(3)


def test_delete_of_absent_object_still_writes_tombstone(app):
    assert req("DELETE", **{"X-Timestamp": ts(5)}).get_response(app).status_int == 404
    # an older PUT arriving late must not resurrect the object
    assert put(app, b"late", 4).status_int == 409
    assert put(app, b"newer", 6).status_int == 201


def test_delete_stale_is_409(app):
    put(app, b"x", 5)
    assert req("DELETE", **{"X-Timestamp": ts(4)}).get_response(app).status_int == 409
    assert get(app).status_int == 200


def test_delete_if_delete_at(app):
    delete_at = str(int(time.time()) + 1000)
    put(app, b"x", 1, **{"X-Delete-At": delete_at})
    resp = req("DELETE", **{"X-Timestamp": ts(2), "X-If-Delete-At": "1"}).get_response(app)
    assert resp.status_int == 412
    resp = req("DELETE", **{"X-Timestamp": ts(2), "X-If-Delete-At": delete_at}
               ).get_response(app)
    assert resp.status_int == 204


# -- container updates ------------------------------------------------------------

def _container_headers(*ports, device="sdc", partition="5"):
    return {"X-Container-Host": ",".join("127.0.0.1:%d" % p for p in ports),
            "X-Container-Device": ",".join([device] * len(ports)),
            "X-Container-Partition": ",".join([partition] * len(ports))}


def test_one_partition_serves_every_listed_container_host(app, recorder):
    # An object replica of a 2-replica policy may be told about two of three
    # container replicas: hosts and devices are lists, the partition is one.
    headers = _container_headers(recorder.port, recorder.port)
    headers["X-Container-Partition"] = "5"
    assert put(app, b"hello", 1, **headers).status_int == 201
    assert [r[1] for r in recorder.requests] == ["/sdc/5/AUTH_a/c/o"] * 2
    headers["X-Container-Partition"] = "5,6,7"
    assert put(app, b"hello", 2, **headers).status_int == 400


def test_put_and_delete_update_the_container(app, recorder):
    resp = put(app, b"hello", 1, **_container_headers(recorder.port),
               **{"X-Trans-Id": "tx123"})
    assert resp.status_int == 201
    method, path, headers, _ = recorder.requests[0]
    assert (method, path) == ("PUT", "/sdc/5/AUTH_a/c/o")
    assert headers["X-Timestamp"] == ts(1)
    assert headers["X-Size"] == "5"
    assert headers["X-Content-Type"] == "text/plain"
    assert headers["X-Etag"] == hashlib.md5(b"hello").hexdigest()
    assert headers["X-Backend-Storage-Policy-Index"] == "0"
    assert headers["X-Trans-Id"] == "tx123"
    resp = req("DELETE", **dict(_container_headers(recorder.port),
                                **{"X-Timestamp": ts(2)})).get_response(app)
    assert resp.status_int == 204
    method, path, headers, _ = recorder.requests[1]
    assert (method, path, headers["X-Timestamp"]) == ("DELETE", "/sdc/5/AUTH_a/c/o", ts(2))


def test_sysmeta_overrides_what_the_container_update_reports(app, recorder):
    override = "X-Object-Sysmeta-Container-Update-Override-"
    resp = put(app, b"manifest", 1, **_container_headers(recorder.port),
               **{override + "Etag": "abc; slo_etag=def", override + "Size": "77"})
    assert resp.status_int == 201
    _method, _path, headers, _ = recorder.requests[0]
    assert headers["X-Etag"] == "abc; slo_etag=def"
    assert headers["X-Size"] == "77"
    assert headers["X-Content-Type"] == "text/plain"
    assert get(app, method="HEAD").headers["Etag"].strip('"') == \
        hashlib.md5(b"manifest").hexdigest()


def test_quoted_names_in_container_update(app, recorder):
    path = "/sda/3/AUTH_a/c/d%20%E2%98%83%3F"
    assert put(app, path=path, **_container_headers(recorder.port)).status_int == 201
    assert recorder.requests[0][1] == "/sdc/5/AUTH_a/c/d%20%E2%98%83%3F"


def test_mismatched_container_headers_are_400(app):
    headers = _container_headers(1, 2)
    headers["X-Container-Device"] = "sdc"
    assert put(app, **headers).status_int == 400
    assert get(app).status_int == 404


def test_failed_update_writes_async_pending_then_updater_delivers(app, devices, recorder,
                                                                  dead_port):
    recorder.status = 201
    resp = put(app, b"hello", 1, **_container_headers(recorder.port, dead_port.port))
    assert resp.status_int == 201
    assert len(recorder.requests) == 1
    pendings = list(app.managers[0].iter_async_updates("sda"))
    assert len(pendings) == 1
    assert [n.port for n in pendings[0].nodes] == [dead_port.port]
    assert os.path.dirname(pendings[0].location).startswith(
        str(devices / "sda" / "async_pending"))
    updater = ObjectUpdater(CLUSTER, {"devices": str(devices), "node_timeout": "1"})
    stats = updater.run_once()
    assert (stats.found, stats.failures, stats.successes) == (1, 1, 0)
    assert len(list(app.managers[0].iter_async_updates("sda"))) == 1
    late = dead_port.start_recorder()
    stats = updater.run_once()
    assert (stats.found, stats.successes) == (1, 1)
    method, path, headers, _ = late.requests[0]
    assert (method, path, headers["X-Size"]) == ("PUT", "/sdc/5/AUTH_a/c/o", "5")
    assert list(app.managers[0].iter_async_updates("sda")) == []


def test_each_policy_has_its_own_objects_and_pendings(devices, recorder, dead_port):
    known = ClusterConfig.build("test-prefix", "test-suffix", policies=PolicyCollection([
        StoragePolicy(index=0, name="gold", default=True), StoragePolicy(index=1, name="silver")]))
    app = server_mod.ObjectServer(known, {"devices": str(devices), "node_timeout": "1"})
    silver = {"X-Backend-Storage-Policy-Index": "1"}
    resp = put(app, b"silver", 1, **dict(_container_headers(dead_port.port), **silver))
    assert resp.status_int == 201
    assert get(app, **silver).body == b"silver"
    assert get(app).status_int == 404
    assert put(app, **{"X-Backend-Storage-Policy-Index": "2"}).status_int == 503
    # the partition also keeps its suffix-hash bookkeeping (hashes.*, .lock)
    hashes = [name for name in os.listdir(devices / "sda" / "objects-1" / "3")
              if len(name) == 3]
    assert len(hashes) == 1 and not (devices / "sda" / "objects").exists()
    assert list(app.managers[0].iter_async_updates("sda")) == []
    assert os.listdir(devices / "sda" / "async_pending-1") == hashes
    dead_port.start_recorder()
    updater = ObjectUpdater(known, {"devices": str(devices), "node_timeout": "1"})
    assert updater.run_once().successes == 1
    assert list(app.managers[1].iter_async_updates("sda")) == []


def test_container_error_status_writes_async_pending(app, recorder):
    recorder.status = 503
    assert put(app, **_container_headers(recorder.port)).status_int == 201
    assert len(list(app.managers[0].iter_async_updates("sda"))) == 1


def test_app_factory(devices):
    app = server_mod.app_factory(CLUSTER, {"devices": str(devices)}, node_timeout="7")
    assert app.conf.node_timeout == 7.0 and app.conf.devices == str(devices)
    assert app.cluster is CLUSTER
    assert put(app).status_int == 201


def test_non_ascii_digits_are_400_not_500(app):
    superscript_two = "\xb2"  # "²": str.isdigit() says yes, int() says no
    assert put(app, path="/sda/%s/a/c/o" % "%C2%B2").status_int == 400
    request = Request.blank(PATH, method="PUT", body=b"x", headers={
        "X-Timestamp": ts(1), "Content-Type": "a/b"})
    request.environ["CONTENT_LENGTH"] = superscript_two
    assert request.get_response(app).status_int == 400
    assert put(app, **{"X-Delete-At": superscript_two}).status_int == 400
    assert put(app, **{"X-Container-Host": "127.0.0.1:%s" % superscript_two,
                       "X-Container-Device": "sdc",
                       "X-Container-Partition": "1"}).status_int == 400
    put(app, b"0123")
    resp = get(app, Range="bytes=%s-3" % superscript_two)
    assert resp.status_int == 200 and resp.body == b"0123"


def test_put_if_none_match_star(app):
    assert put(app, b"a", 1, **{"If-None-Match": "*"}).status_int == 201
    resp = put(app, b"b", 2, **{"If-None-Match": "*"})
    assert resp.status_int == 412
    assert get(app).body == b"a"


def test_server_runs_on_the_memory_diskfile(devices):
    from objstore.obj.diskfile import DiskFileRouter, MemDiskFileManager

    app = server_mod.ObjectServer(CLUSTER, {"devices": str(devices)}, managers=DiskFileRouter(
        PolicyCollection(), lambda policy: MemDiskFileManager(CLUSTER.hasher, devices=["sda"],
                                                              policy=policy)))
    assert put(app, b"in memory", 1, **{"X-Object-Meta-M": "1"}).status_int == 201
    assert get(app, Range="bytes=3-").body == b"memory"
    assert req("POST", **{"X-Timestamp": ts(2), "X-Object-Meta-N": "2"}
               ).get_response(app).status_int == 202
    assert get(app, method="HEAD").headers["X-Object-Meta-N"] == "2"
    assert put(app, b"stale", 1).status_int == 409
    assert req("DELETE", **{"X-Timestamp": ts(3)}).get_response(app).status_int == 204
    assert get(app).headers["X-Backend-Timestamp"] == ts(3)
    assert get(app, path="/sdb/3/a/c/o").status_int == 507
    assert not (devices / "sda" / "objects").exists()
