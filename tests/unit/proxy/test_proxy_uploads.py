"""Object PUT: streaming, chunked uploads and every way a client can get it wrong."""
import hashlib
import io
import json
import time

from webob import Request

from objstore.common.concurrency import sleep
from objstore.common.cluster_config import ClusterConfig
from objstore.common.constraints import Constraints

ACCOUNT = "AUTH_test"


def make_container(app):
    resp = Request.blank("/v1/%s/c" % ACCOUNT, method="PUT").get_response(app)
    assert resp.status_int == 201, resp.body


class SlowChunks(io.RawIOBase):
    """A client body that arrives in pieces (optionally stalling or ending early)."""

    def __init__(self, pieces, stall=0.0):
        self.pieces = list(pieces)
        self.stall = stall
        self.reads = 0

    def read(self, size=-1):
        self.reads += 1
        if not self.pieces:
            if self.stall:
                sleep(self.stall)
            return b""
        return self.pieces.pop(0)


def test_chunked_upload_of_unknown_length(cluster):
    app = cluster.proxy
    make_container(app)
    pieces = [b"a" * 70000, b"b" * 5, b"c" * 100000]
    data = b"".join(pieces)
    req = Request.blank("/v1/%s/c/chunked" % ACCOUNT, method="PUT",
                        headers={"Transfer-Encoding": "chunked", "Content-Type": "text/plain"})
    req.environ["wsgi.input"] = SlowChunks(pieces)
    req.environ.pop("CONTENT_LENGTH", None)
    resp = req.get_response(app)
    assert resp.status_int == 201, resp.body
    assert resp.headers["Etag"] == hashlib.md5(data).hexdigest()
    got = Request.blank("/v1/%s/c/chunked" % ACCOUNT).get_response(app)
    assert got.body == data
    assert got.headers["Content-Length"] == str(len(data))


def test_body_streams_in_client_sized_chunks(cluster):
    app = cluster.make_proxy(client_chunk_size=1000, whole_body_put_max=9999)
    make_container(app)
    data = b"x" * 10000
    resp = Request.blank("/v1/%s/c/s" % ACCOUNT, method="PUT", body=data,
                         headers={"Content-Type": "a/b"}).get_response(app)
    assert resp.status_int == 201
    seen = [h for node in cluster.nodes for m, _p, h in node.object.requests if m == "PUT"]
    # chunked to the nodes, its length announced and its checksums in the trailer
    assert {h["X-Backend-Obj-Content-Length"] for h in seen} == {"10000"}
    assert {h["Transfer-Encoding"] for h in seen} == {"chunked"}
    assert {h["X-Backend-Body-Checks"] for h in seen} == {"trailer"}
    assert not any("Content-Length" in h for h in seen)
    assert {h["Expect"] for h in seen} == {"100-continue"}
    assert resp.headers["Etag"] == hashlib.md5(data).hexdigest()
    assert Request.blank("/v1/%s/c/s" % ACCOUNT).get_response(app).body == data


def test_small_body_goes_whole_without_expect(cluster):
    app = cluster.make_proxy(client_chunk_size=1000, whole_body_put_max=10000)
    make_container(app)
    data = bytes(range(256)) * 39 + b"tail"
    resp = Request.blank("/v1/%s/c/w" % ACCOUNT, method="PUT", body=data,
                         headers={"Content-Type": "a/b"}).get_response(app)
    assert resp.status_int == 201
    assert resp.headers["Etag"] == hashlib.md5(data).hexdigest()
    seen = [h for node in cluster.nodes for m, p, h in node.object.requests
            if m == "PUT" and p.endswith("/c/w")]
    assert len(seen) == 3
    assert {h["Content-Length"] for h in seen} == {str(len(data))}
    assert not any("Expect" in h for h in seen)
    assert Request.blank("/v1/%s/c/w" % ACCOUNT).get_response(app).body == data


def test_small_body_cut_short_stores_nothing(cluster):
    app = cluster.make_proxy(whole_body_put_max=65536)
    make_container(app)
    req = Request.blank("/v1/%s/c/short" % ACCOUNT, method="PUT",
                        headers={"Content-Type": "a/b", "Content-Length": "100"})
    req.environ["wsgi.input"] = SlowChunks([b"x" * 40])
    assert req.get_response(app).status_int == 499
    assert not [p for node in cluster.nodes for m, p, _h in node.object.requests
                if m == "PUT" and p.endswith("/c/short")]
    assert Request.blank("/v1/%s/c/short" % ACCOUNT).get_response(app).status_int == 404


def test_missing_length_is_411_and_bad_length_400(cluster):
    app = cluster.proxy
    make_container(app)
    req = Request.blank("/v1/%s/c/o" % ACCOUNT, method="PUT")
    req.environ.pop("CONTENT_LENGTH", None)
    assert req.get_response(app).status_int == 411
    req = Request.blank("/v1/%s/c/o" % ACCOUNT, method="PUT", headers={"Content-Length": "x1"})
    resp = req.get_response(app)
    assert resp.status_int == 400 and b"Content-Length" in resp.body


def test_too_large_is_413(cluster):
    app = cluster.make_proxy(ClusterConfig.build("test-prefix", "test-suffix",
                                                 constraints=Constraints(max_file_size=100)))
    make_container(app)
    resp = Request.blank("/v1/%s/c/big" % ACCOUNT, method="PUT", body=b"x" * 101,
                         headers={"Content-Type": "a/b"}).get_response(app)
    assert resp.status_int == 413
    req = Request.blank("/v1/%s/c/big" % ACCOUNT, method="PUT",
                        headers={"Transfer-Encoding": "chunked", "Content-Type": "a/b"})
    req.environ["wsgi.input"] = SlowChunks([b"x" * 60, b"y" * 60])
    req.environ.pop("CONTENT_LENGTH", None)
    assert req.get_response(app).status_int == 413
    assert Request.blank("/v1/%s/c/big" % ACCOUNT).get_response(app).status_int == 404


def test_etag_mismatch_is_422(cluster):
    app = cluster.proxy
    make_container(app)
    resp = Request.blank("/v1/%s/c/e" % ACCOUNT, method="PUT", body=b"abc",
                         headers={"ETag": "0" * 32, "Content-Type": "a/b"}).get_response(app)
    assert resp.status_int == 422
    resp = Request.blank("/v1/%s/c/e" % ACCOUNT, method="PUT", body=b"abc",
                         headers={"ETag": hashlib.md5(b"abc").hexdigest(),
                                  "Content-Type": "a/b"}).get_response(app)
    assert resp.status_int == 201


def test_streamed_body_is_hashed_once_and_its_etag_still_checked(cluster):
    # above whole_body_put_max the nodes hash no MD5: the proxy's trailer names it
    app = cluster.make_proxy(client_chunk_size=700, whole_body_put_max=1000)
    make_container(app)
    data = bytes(range(256)) * 40
    resp = Request.blank("/v1/%s/c/big" % ACCOUNT, method="PUT", body=data,
                         headers={"ETag": hashlib.md5(b"other").hexdigest(),
                                  "Content-Type": "a/b"}).get_response(app)
    assert resp.status_int == 422
    assert Request.blank("/v1/%s/c/big" % ACCOUNT).get_response(app).status_int == 404
    req = Request.blank("/v1/%s/c/big" % ACCOUNT, method="PUT",
                        headers={"Transfer-Encoding": "chunked", "Content-Type": "a/b",
                                 "ETag": hashlib.md5(data).hexdigest()})
    req.environ["wsgi.input"] = SlowChunks([data[:5000], data[5000:]])
    req.environ.pop("CONTENT_LENGTH", None)
    resp = req.get_response(app)
    assert resp.status_int == 201
    assert resp.headers["Etag"] == hashlib.md5(data).hexdigest()
    got = Request.blank("/v1/%s/c/big" % ACCOUNT).get_response(app)
    assert got.body == data and got.headers["Etag"] == hashlib.md5(data).hexdigest()


def test_bad_names_and_metadata_are_400(cluster):
    app = cluster.proxy
    make_container(app)
    resp = Request.blank("/v1/%s/c/%s" % (ACCOUNT, "n" * 1025), method="PUT",
                         body=b"").get_response(app)
    assert resp.status_int == 400 and b"longer than 1024" in resp.body
    req = Request.blank("/v1/%s/c/x" % ACCOUNT, method="PUT", body=b"")
    req.environ["PATH_INFO"] = "/v1/%s/c/\xff\xfe" % ACCOUNT    # not UTF-8 on the wire
    resp = req.get_response(app)
    assert resp.status_int == 400 and b"UTF8" in resp.body
    resp = Request.blank("/v1/%s/c/nul%%00x" % ACCOUNT, method="PUT", body=b"").get_response(app)
    assert resp.status_int == 400
    resp = Request.blank("/v1/%s/c/m" % ACCOUNT, method="PUT", body=b"",
                         headers={"X-Object-Meta-K": "v" * 257}).get_response(app)
    assert resp.status_int == 400 and b"Metadata" in resp.body
    resp = Request.blank("/v1/%s/c/m" % ACCOUNT, method="PUT", body=b"",
                         headers={"X-Delete-After": "soon"}).get_response(app)
    assert resp.status_int == 400
    resp = Request.blank("/v1/%s/c/m" % ACCOUNT, method="PUT", body=b"",
                         headers={"X-Delete-At": "1"}).get_response(app)
    assert resp.status_int == 400


def test_delete_after_and_content_type_guess(cluster):
    app = cluster.proxy
    make_container(app)
    resp = Request.blank("/v1/%s/c/pic.png" % ACCOUNT, method="PUT", body=b"png",
                         headers={"X-Delete-After": "3600"}).get_response(app)
    assert resp.status_int == 201
    head = Request.blank("/v1/%s/c/pic.png" % ACCOUNT, method="HEAD").get_response(app)
    assert head.headers["Content-Type"] == "image/png"
    assert int(head.headers["X-Delete-At"]) > 0
    resp = Request.blank("/v1/%s/c/doc.html" % ACCOUNT, method="PUT", body=b"x",
                         headers={"Content-Type": "a/b", "X-Detect-Content-Type": "true"}
                         ).get_response(app)
    assert resp.status_int == 201
    head = Request.blank("/v1/%s/c/doc.html" % ACCOUNT, method="HEAD").get_response(app)
    assert head.headers["Content-Type"] == "text/html"


def test_put_into_missing_container_is_404(cluster):
    resp = Request.blank("/v1/%s/nope/o" % ACCOUNT, method="PUT",
                         body=b"x").get_response(cluster.proxy)
    assert resp.status_int == 404


def test_client_timeout_is_408_and_short_body_499(cluster):
    app = cluster.make_proxy(client_timeout=0.2)
    make_container(app)
    req = Request.blank("/v1/%s/c/slow" % ACCOUNT, method="PUT",
                        headers={"Content-Length": "100", "Content-Type": "a/b"})
    req.environ["wsgi.input"] = SlowChunks([b"x" * 10], stall=1.0)
    assert req.get_response(app).status_int == 408
    req = Request.blank("/v1/%s/c/short" % ACCOUNT, method="PUT",
                        headers={"Content-Length": "100", "Content-Type": "a/b"})
    req.environ["wsgi.input"] = SlowChunks([b"x" * 10])
    assert req.get_response(app).status_int == 499
    assert Request.blank("/v1/%s/c/short" % ACCOUNT).get_response(app).status_int == 404


def test_zero_byte_object(cluster):
    app = cluster.proxy
    make_container(app)
    resp = Request.blank("/v1/%s/c/empty" % ACCOUNT, method="PUT", body=b"",
                         headers={"Content-Type": "a/b"}).get_response(app)
    assert resp.status_int == 201
    assert resp.headers["Etag"] == hashlib.md5(b"").hexdigest()
    got = Request.blank("/v1/%s/c/empty" % ACCOUNT).get_response(app)
    assert got.status_int == 200 and got.body == b""


def test_upload_streams_with_bounded_buffering(cluster, monkeypatch):
    """The proxy forwards each chunk before reading far ahead: memory stays bounded."""
    from objstore.common import backend_client

    sent = {}
    real_send = backend_client.BackendConnection.send

    def counting_send(conn, data):
        real_send(conn, data)
        sent[id(conn)] = sent.get(id(conn), 0) + len(data)

    monkeypatch.setattr(backend_client.BackendConnection, "send", counting_send)
    chunk = 1000
    app = cluster.make_proxy(client_chunk_size=chunk, put_queue_depth=2)
    make_container(app)
    lags = []

    class WatchedInput:
        def __init__(self, total):
            self.left = total
            self.read_so_far = 0

        def read(self, size):
            if sent:
                lags.append(self.read_so_far - min(sent.values()))
            size = min(size, self.left)
            self.left -= size
            self.read_so_far += size
            return b"z" * size

    total = 200 * chunk
    req = Request.blank("/v1/%s/c/streamed" % ACCOUNT, method="PUT",
                        headers={"Content-Length": str(total), "Content-Type": "a/b"})
    req.environ["wsgi.input"] = WatchedInput(total)
    resp = req.get_response(app)
    assert resp.status_int == 201
    assert len(sent) == 3 and set(sent.values()) == {total}
    assert lags and max(lags) <= 4 * chunk, max(lags)


def test_container_limit_per_account(cluster):
    app = cluster.make_proxy(max_containers_per_account=1)
    make_container(app)
    resp = Request.blank("/v1/%s/second" % ACCOUNT, method="PUT").get_response(app)
    assert resp.status_int == 403 and b"container limit" in resp.body
    assert Request.blank("/v1/%s/c" % ACCOUNT, method="PUT").get_response(app).status_int == 202


def test_put_answers_the_nodes_agreed_etag_and_refuses_disagreement(cluster):
    app = cluster.proxy
    make_container(app)
    resp = Request.blank("/v1/%s/c/agree" % ACCOUNT, method="PUT", body=b"abc",
                         headers={"Content-Type": "a/b"}).get_response(app)
    assert resp.status_int == 201
    assert resp.headers["Etag"] == hashlib.md5(b"abc").hexdigest()

    # One replica claims to have stored different bytes: the proxy must not
    # report success for a write whose copies disagree.
    for node in cluster.nodes:
        real = node.object.app

        def lying(environ, start_response, real=real):
            def start(status, headers, exc_info=None):
                if environ["REQUEST_METHOD"] == "PUT":
                    headers = [(k, "f" * 32 if k.lower() == "etag" else v)
                               for k, v in headers]
                return start_response(status, headers)
            return real(environ, start)
        node.object.app = lying
        break
    statuses = set()
    for index in range(12):   # enough names that one lands on the lying node
        resp = Request.blank("/v1/%s/c/disagree%d" % (ACCOUNT, index), method="PUT",
                             body=b"abc", headers={"Content-Type": "a/b"}).get_response(app)
        statuses.add(resp.status_int)
    assert statuses == {201, 503}
    assert "object servers returned etags" in cluster.log.text()


def test_far_future_expiry_is_clamped(cluster):
    app = cluster.proxy
    make_container(app)
    for name, header in (("a", {"X-Delete-At": "9" * 30}), ("b", {"X-Delete-After": "9" * 400})):
        resp = Request.blank("/v1/%s/c/%s" % (ACCOUNT, name), method="PUT", body=b"x",
                             headers=header).get_response(app)
        assert resp.status_int == 201, name
        head = Request.blank("/v1/%s/c/%s" % (ACCOUNT, name), method="HEAD").get_response(app)
        assert head.headers["X-Delete-At"] == "9999999999"


def test_open_expired_needs_the_proxy_option(make_cluster, monkeypatch):
    """X-Open-Expired reads an expired, not yet removed object only where allowed."""
    closed = make_cluster()
    app = closed.proxy
    make_container(app)
    path = "/v1/%s/c/late" % ACCOUNT
    delete_at = int(time.time()) + 100
    assert Request.blank(path, method="PUT", body=b"late",
                         headers={"X-Delete-At": str(delete_at)}).get_response(app).status_int == 201

    def listed(proxy):
        return json.loads(Request.blank("/info").get_response(proxy).body)["swift"][
            "allow_open_expired"]
    assert listed(app) is False
    opened = closed.make_proxy(allow_open_expired="true")
    assert listed(opened) is True
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 200)
    asked = {"X-Open-Expired": "true"}
    for method in ("GET", "HEAD"):
        assert Request.blank(path, method=method).get_response(opened).status_int == 404
        assert Request.blank(path, method=method,
                             headers=asked).get_response(app).status_int == 404
        assert Request.blank(path, method=method, headers={"X-Open-Expired": "false"}
                             ).get_response(opened).status_int == 404
        resp = Request.blank(path, method=method, headers=asked).get_response(opened)
        assert resp.status_int == 200
        assert resp.headers["X-Delete-At"] == str(delete_at)
    assert Request.blank(path, headers=asked).get_response(opened).body == b"late"
    # a POST that is not allowed changes nothing; an allowed one revives the object
    assert Request.blank(path, method="POST", headers=dict(asked, **{"X-Delete-After": "500"})
                         ).get_response(app).status_int == 404
    assert Request.blank(path, method="POST", headers=dict(asked, **{"X-Delete-After": "500"})
                         ).get_response(opened).status_int == 202
    resp = Request.blank(path).get_response(app)
    assert (resp.status_int, resp.body) == (200, b"late")
    assert int(resp.headers["X-Delete-At"]) > delete_at
