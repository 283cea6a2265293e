"""Reads: one node answers a plain read, X-Newest finds the newest copy (tombstones
count), a 404 or a failed node hands over to the next, a GET survives a node dying
mid-body."""
import hashlib

from webob import Request

from objstore.ring.ring import load_ring

ACCOUNT = "AUTH_test"
NEWEST = {"X-Newest": "true"}


def put(app, path, body=b"", headers=None):
    headers = dict(headers or {})
    headers.setdefault("Content-Type", "application/octet-stream")
    return Request.blank(path, method="PUT", body=body, headers=headers).get_response(app)


def primaries_of(cluster, obj, container="c"):
    ring = load_ring(cluster.swift_dir, "object", cluster.config.hasher)
    return ring.get_nodes(ACCOUNT, container, obj)[1]


def make_container(app):
    resp = Request.blank("/v1/%s/c" % ACCOUNT, method="PUT").get_response(app)
    assert resp.status_int == 201


def test_newest_copy_wins_after_a_node_missed_an_update(cluster):
    app = cluster.proxy
    make_container(app)
    assert put(app, "/v1/%s/c/o" % ACCOUNT, b"version one").status_int == 201
    first = cluster.node_for(primaries_of(cluster, "o")[0])
    first.stop()
    assert put(app, "/v1/%s/c/o" % ACCOUNT, b"version two").status_int == 201
    first.start()
    # the first primary (tried first: sorting_method none) still has version one
    for _ in range(3):
        resp = Request.blank("/v1/%s/c/o" % ACCOUNT, headers=NEWEST).get_response(app)
        assert resp.status_int == 200
        assert resp.body == b"version two"
    resp = Request.blank("/v1/%s/c/o" % ACCOUNT, method="HEAD",
                         headers=NEWEST).get_response(app)
    assert resp.headers["Content-Length"] == str(len(b"version two"))
    # without X-Newest the first primary answers alone, stale until replication
    resp = Request.blank("/v1/%s/c/o" % ACCOUNT).get_response(app)
    assert resp.status_int == 200 and resp.body == b"version one"


def test_newer_tombstone_beats_an_old_copy(cluster):
    app = cluster.proxy
    make_container(app)
    assert put(app, "/v1/%s/c/gone" % ACCOUNT, b"soon deleted").status_int == 201
    first = cluster.node_for(primaries_of(cluster, "gone")[0])
    first.stop()
    resp = Request.blank("/v1/%s/c/gone" % ACCOUNT, method="DELETE").get_response(app)
    assert resp.status_int == 204
    first.start()
    resp = Request.blank("/v1/%s/c/gone" % ACCOUNT, headers=NEWEST).get_response(app)
    assert resp.status_int == 404
    resp = Request.blank("/v1/%s/c/gone" % ACCOUNT, method="HEAD",
                         headers=NEWEST).get_response(app)
    assert resp.status_int == 404


def test_a_tombstone_met_before_an_older_copy_wins_without_x_newest(cluster):
    app = cluster.proxy
    make_container(app)
    assert put(app, "/v1/%s/c/ts" % ACCOUNT, b"soon deleted").status_int == 201
    primaries = primaries_of(cluster, "ts")
    last = cluster.node_for(primaries[2])
    last.stop()
    resp = Request.blank("/v1/%s/c/ts" % ACCOUNT, method="DELETE").get_response(app)
    assert resp.status_int == 204
    last.start()
    # the first primary's tombstone is a 404, so the read goes on to the
    # second (also a tombstone) and the third (the stale copy): the newer
    # tombstones still win over the copy found last
    for method in ("GET", "HEAD"):
        resp = Request.blank("/v1/%s/c/ts" % ACCOUNT, method=method).get_response(app)
        assert resp.status_int == 404


def test_object_found_on_handoff_when_primaries_say_404(cluster):
    app = cluster.proxy
    make_container(app)
    primaries = primaries_of(cluster, "h")
    for node in primaries[:2]:
        cluster.node_for(node).stop()
    assert put(app, "/v1/%s/c/h" % ACCOUNT, b"on handoff").status_int == 201
    for node in primaries[:2]:
        cluster.node_for(node).start()
    cluster.node_for(primaries[2]).stop()
    resp = Request.blank("/v1/%s/c/h" % ACCOUNT).get_response(app)
    assert resp.status_int == 200 and resp.body == b"on handoff"


class DiesHalfWay:
    """Wraps an object server: GET bodies stop after ``limit`` bytes, then the socket drops."""

    def __init__(self, app, limit):
        self.app = app
        self.limit = limit
        self.cut = 0

    def __call__(self, environ, start_response):
        body = self.app(environ, start_response)
        if environ["REQUEST_METHOD"] != "GET":
            return body
        return self._cut(body)

    def _cut(self, body):
        sent = 0
        try:
            for chunk in body:
                if sent + len(chunk) > self.limit:
                    yield chunk[:self.limit - sent]
                    self.cut += 1
                    raise ConnectionAbortedError("simulated node death")
                sent += len(chunk)
                yield chunk
        finally:
            if hasattr(body, "close"):
                body.close()


def _install_faulty(cluster, obj, limit):
    node = cluster.node_for(primaries_of(cluster, obj)[0])
    faulty = DiesHalfWay(node.object.app, limit)
    node.object.app = faulty
    return faulty


def test_get_resumes_on_another_replica_mid_body(cluster):
    app = cluster.make_proxy(object_chunk_size=4096)
    make_container(app)
    data = bytes(range(256)) * 1200   # 300 KiB
    assert put(app, "/v1/%s/c/big" % ACCOUNT, data).status_int == 201
    faulty = _install_faulty(cluster, "big", 100_000)
    resp = Request.blank("/v1/%s/c/big" % ACCOUNT).get_response(app)
    assert resp.status_int == 200
    assert resp.headers["Content-Length"] == str(len(data))
    body = b"".join(resp.app_iter)
    assert faulty.cut == 1, "the first replica really died mid-body"
    assert len(body) == len(data), cluster.log.text()
    assert len(body) == len(data)
    assert hashlib.md5(body).hexdigest() == hashlib.md5(data).hexdigest()


def test_ranged_get_resumes_at_the_right_offset(cluster):
    app = cluster.make_proxy(object_chunk_size=4096)
    make_container(app)
    data = bytes(range(256)) * 1200
    assert put(app, "/v1/%s/c/rng" % ACCOUNT, data).status_int == 201
    faulty = _install_faulty(cluster, "rng", 50_000)
    resp = Request.blank("/v1/%s/c/rng" % ACCOUNT,
                         headers={"Range": "bytes=1000-200999"}).get_response(app)
    assert resp.status_int == 206
    assert resp.headers["Content-Range"] == "bytes 1000-200999/%d" % len(data)
    assert resp.body == data[1000:201000]
    assert faulty.cut == 1


def test_a_corrupt_replica_cut_short_is_never_stitched_into_a_whole_body(cluster):
    app = cluster.make_proxy(object_chunk_size=4096)
    make_container(app)
    data = bytes(range(256)) * 8192  # 2 MiB: past disk_chunk_size, so streamed
    assert put(app, "/v1/%s/c/rot" % ACCOUNT, data).status_int == 201
    first = cluster.node_for(primaries_of(cluster, "rot")[0])
    [path] = first.object_files()
    with open(path, "r+b") as f:     # same length, one byte flipped early on
        f.seek(10)
        f.write(bytes([data[10] ^ 0xFF]))
    # the first primary streams its copy, finds the mismatch at the end and
    # cuts the body short; the other replicas' first bytes differ from what
    # was sent, so the proxy must not complete the body from them
    resp = Request.blank("/v1/%s/c/rot" % ACCOUNT).get_response(app)
    assert resp.status_int == 200
    body = b"".join(resp.app_iter)
    assert len(body) < len(data)
    assert "differ from those already sent" in cluster.log.text()
    # the corrupt copy was quarantined: the next read comes whole from a good one
    resp = Request.blank("/v1/%s/c/rot" % ACCOUNT).get_response(app)
    assert resp.status_int == 200 and resp.body == data


def test_get_headers(cluster):
    app = cluster.proxy
    make_container(app)
    assert put(app, "/v1/%s/c/h.txt" % ACCOUNT, b"hello",
               {"X-Object-Meta-A": "b", "Content-Type": "text/plain"}).status_int == 201
    resp = Request.blank("/v1/%s/c/h.txt" % ACCOUNT).get_response(app)
    assert resp.headers["Etag"] == hashlib.md5(b"hello").hexdigest()   # unquoted, like Swift
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["X-Object-Meta-A"] == "b"
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert "Last-Modified" in resp.headers and "X-Timestamp" in resp.headers
    assert not [h for h in resp.headers if h.lower().startswith("x-backend-")]
    resp = Request.blank("/v1/%s/c/h.txt" % ACCOUNT,
                         headers={"If-None-Match": hashlib.md5(b"hello").hexdigest()}
                         ).get_response(app)
    assert resp.status_int == 304
    resp = Request.blank("/v1/%s/c/h.txt" % ACCOUNT,
                         headers={"Range": "bytes=1-2"}).get_response(app)
    assert resp.status_int == 206 and resp.body == b"el"
    resp = Request.blank("/v1/%s/c/h.txt" % ACCOUNT,
                         headers={"Range": "bytes=0-0,2-3"}).get_response(app)
    assert resp.status_int == 206
    assert resp.headers["Content-Type"].startswith("multipart/byteranges")
    assert int(resp.headers["Content-Length"]) == len(resp.body)
    resp = Request.blank("/v1/%s/c/missing" % ACCOUNT).get_response(app)
    assert resp.status_int == 404
    resp = Request.blank("/v1/%s/nocontainer/x" % ACCOUNT).get_response(app)
    assert resp.status_int == 404


def test_newest_metadata_wins_after_a_node_missed_a_post(cluster):
    app = cluster.proxy
    make_container(app)
    assert put(app, "/v1/%s/c/m" % ACCOUNT, b"same body",
               {"X-Object-Meta-State": "old"}).status_int == 201
    first = cluster.node_for(primaries_of(cluster, "m")[0])
    first.stop()
    resp = Request.blank("/v1/%s/c/m" % ACCOUNT, method="POST",
                         headers={"X-Object-Meta-State": "new"}).get_response(app)
    assert resp.status_int == 202
    first.start()
    for method in ("HEAD", "GET"):
        resp = Request.blank("/v1/%s/c/m" % ACCOUNT, method=method,
                             headers=NEWEST).get_response(app)
        assert resp.headers["X-Object-Meta-State"] == "new"


def test_a_hung_node_does_not_stall_reads(cluster):
    import time

    from objstore.common.concurrency import sleep

    app = cluster.proxy
    make_container(app)
    assert put(app, "/v1/%s/c/slow" % ACCOUNT, b"patience").status_int == 201
    node = cluster.node_for(primaries_of(cluster, "slow")[0])
    inner = node.object.app

    def hangs(environ, start_response):
        if environ["REQUEST_METHOD"] in ("GET", "HEAD"):
            sleep(3)
        return inner(environ, start_response)

    node.object.app = hangs
    started = time.monotonic()
    resp = Request.blank("/v1/%s/c/slow" % ACCOUNT).get_response(app)
    assert resp.status_int == 200 and resp.body == b"patience"
    assert time.monotonic() - started < 2.5


def _object_verbs(cluster, obj):
    """(node index, verb) of every request the object servers saw for ``obj``."""
    seen = []
    for node in cluster.nodes:
        for method, path, _headers in node.object.requests:
            if path.endswith("/%s/c/%s" % (ACCOUNT, obj)):
                seen.append((node.index, method))
    return seen


def test_a_newest_get_reads_one_body_and_asks_the_other_replicas_for_headers(cluster):
    app = cluster.proxy
    make_container(app)
    assert put(app, "/v1/%s/c/one-body" % ACCOUNT, b"payload").status_int == 201
    for node in cluster.nodes:
        node.object.requests.clear()
    resp = Request.blank("/v1/%s/c/one-body" % ACCOUNT, headers=NEWEST).get_response(app)
    assert resp.status_int == 200 and resp.body == b"payload"
    verbs = sorted(verb for _node, verb in _object_verbs(cluster, "one-body"))
    assert verbs == ["GET", "HEAD", "HEAD"]


def test_a_plain_get_or_head_asks_one_node(cluster):
    app = cluster.proxy
    make_container(app)
    assert put(app, "/v1/%s/c/single" % ACCOUNT, b"payload").status_int == 201
    for method in ("GET", "HEAD"):
        for node in cluster.nodes:
            node.object.requests.clear()
        resp = Request.blank("/v1/%s/c/single" % ACCOUNT, method=method).get_response(app)
        assert resp.status_int == 200
        assert resp.headers["Content-Length"] == "7"
        assert [verb for _node, verb in _object_verbs(cluster, "single")] == [method]


def test_a_404_or_a_failed_node_hands_over_to_the_next(cluster):
    app = cluster.proxy
    make_container(app)
    primaries = primaries_of(cluster, "moved")
    first = cluster.node_for(primaries[0])
    first.stop()
    assert put(app, "/v1/%s/c/moved" % ACCOUNT, b"elsewhere").status_int == 201
    first.start()
    for node in cluster.nodes:
        node.object.requests.clear()
    # the first primary missed the PUT and says 404: the second serves it
    resp = Request.blank("/v1/%s/c/moved" % ACCOUNT).get_response(app)
    assert resp.status_int == 200 and resp.body == b"elsewhere"
    assert [n for n, _verb in _object_verbs(cluster, "moved")] == [
        first.index, cluster.node_for(primaries[1]).index]
    # a dead first primary: the next one answers
    second = cluster.node_for(primaries[1])
    second.stop()
    try:
        resp = Request.blank("/v1/%s/c/moved" % ACCOUNT, method="HEAD").get_response(app)
        assert resp.status_int == 200 and resp.headers["Content-Length"] == "9"
    finally:
        second.start()


def test_body_comes_from_the_replica_a_head_found_newest(cluster):
    app = cluster.proxy
    make_container(app)
    assert put(app, "/v1/%s/c/stale" % ACCOUNT, b"old body").status_int == 201
    first = cluster.node_for(primaries_of(cluster, "stale")[0])
    first.stop()
    assert put(app, "/v1/%s/c/stale" % ACCOUNT, b"new body").status_int == 201
    first.start()
    for node in cluster.nodes:
        node.object.requests.clear()
    resp = Request.blank("/v1/%s/c/stale" % ACCOUNT, headers=NEWEST).get_response(app)
    assert resp.status_int == 200 and resp.body == b"new body"
    verbs = _object_verbs(cluster, "stale")
    # the stale first primary was asked for the body; a fresh replica then served it
    assert (first.index, "GET") in verbs
    fresh_gets = [n for n, verb in verbs if verb == "GET" and n != first.index]
    assert len(fresh_gets) == 1
    assert sorted(v for _n, v in verbs).count("HEAD") == 2
