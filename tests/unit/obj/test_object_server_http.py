"""The object server behind a real eventlet HTTP server (a child process).

What webob.Request.blank cannot show: chunked transfer as a client sends it,
100-continue, a client that hangs up mid-body, and the server process killed
mid-PUT.
"""
import hashlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from objstore.common.timestamp import Timestamp

SERVER_SCRIPT = textwrap.dedent("""
    import sys
    from objstore.common import concurrency
    concurrency.monkey_patch()
    from objstore.common.cluster_config import ClusterConfig
    from objstore.obj.server import ObjectServer
    cluster = ClusterConfig.build("test-prefix", "test-suffix")
    sock = concurrency.green_listen(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    from objstore.common.http_protocol import serve_http
    serve_http(sock, ObjectServer(cluster, {"devices": sys.argv[1], "log_level": "CRITICAL",
                                            "client_timeout": "5"}))
""")


def _start(devices):
    proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, str(devices)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    port = int(proc.stdout.readline())
    return proc, port


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("objhttp")
    (root / "sda").mkdir()
    proc, port = _start(root)
    yield port, root, proc
    proc.kill()
    proc.wait(5)


@pytest.fixture
def server(shared_server):
    return shared_server


@pytest.fixture
def own_server(tmp_path):
    (tmp_path / "sda").mkdir()
    proc, port = _start(tmp_path)
    yield port, tmp_path, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(5)


def _request(port, method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def _raw_put(port, path, length_header, pieces):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = ("PUT %s HTTP/1.1\r\nHost: x\r\nX-Timestamp: %s\r\nContent-Type: a/b\r\n%s\r\n"
            % (path, Timestamp.now().internal, length_header))
    sock.sendall(head.encode())
    for piece in pieces:
        sock.sendall(piece)
    return sock


def _wait_for(predicate, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_chunked_put_over_http(server):
    port, _root, _proc = server
    chunks = [b"a" * 70000, b"b" * 5, b"c" * 100000]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    sock = _raw_put(port, "/sda/1/a/c/chunked", "Transfer-Encoding: chunked\r\n", [body])
    answer = sock.makefile("rb").readline()
    sock.close()
    assert answer.startswith(b"HTTP/1.1 201")
    status, headers, data = _request(port, "GET", "/sda/1/a/c/chunked")
    assert status == 200 and data == b"".join(chunks)
    assert headers["ETag"] == hashlib.md5(data).hexdigest()


def test_malformed_chunked_put_is_400_and_stores_nothing(server):
    port, _root, _proc = server
    body = b"5\r\nhello\r\n0x5\r\nworld\r\n0\r\n\r\n"
    sock = _raw_put(port, "/sda/1/a/c/badchunk", "Transfer-Encoding: chunked\r\n", [body])
    reader = sock.makefile("rb")
    answer = reader.read()
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"Connection: close" in answer
    assert answer.count(b"HTTP/1.1") == 1
    assert _request(port, "GET", "/sda/1/a/c/badchunk")[0] == 404


def test_expect_100_continue(server):
    port, _root, _proc = server
    sock = _raw_put(port, "/sda/1/a/c/expect",
                    "Content-Length: 5\r\nExpect: 100-continue\r\n", [])
    reader = sock.makefile("rb")
    assert reader.readline().startswith(b"HTTP/1.1 100")
    while reader.readline() not in (b"\r\n", b""):
        pass
    sock.sendall(b"hello")
    assert reader.readline().startswith(b"HTTP/1.1 201")
    sock.close()


def test_client_hangs_up_mid_body_leaves_nothing(server):
    port, root, _proc = server
    sock = _raw_put(port, "/sda/1/a/c/gone", "Content-Length: 1000000\r\n", [b"x" * 70000])
    time.sleep(0.1)
    sock.close()
    assert _wait_for(lambda: os.path.isdir(root / "sda" / "tmp")
                     and os.listdir(root / "sda" / "tmp") == [])
    assert _request(port, "GET", "/sda/1/a/c/gone")[0] == 404


def test_server_killed_mid_put_leaves_only_a_temp_file(own_server):
    port, root, proc = own_server
    sock = _raw_put(port, "/sda/1/a/c/killed", "Content-Length: 1000000\r\n",
                    [b"x" * 200000])
    assert _wait_for(lambda: os.path.isdir(root / "sda" / "tmp")
                     and len(os.listdir(root / "sda" / "tmp")) == 1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(5)
    sock.close()
    leftovers = os.listdir(root / "sda" / "tmp")
    assert len(leftovers) == 1 and leftovers[0].startswith(".obj-")
    assert not (root / "sda" / "objects").exists()
    # a restarted server answers 404 and accepts the object afresh
    proc2, port2 = _start(root)
    try:
        assert _request(port2, "GET", "/sda/1/a/c/killed")[0] == 404
        status, _h, _b = _request(port2, "PUT", "/sda/1/a/c/killed", b"ok", {
            "X-Timestamp": Timestamp.now().internal, "Content-Type": "a/b"})
        assert status == 201
        assert _request(port2, "GET", "/sda/1/a/c/killed")[2] == b"ok"
    finally:
        proc2.kill()
        proc2.wait(5)


# -- a body whose checksums come in its trailer (objstore.common.body_checksums) --

def _trailer_put(port, path, chunks, trailer, extra_headers=""):
    """A chunked PUT announcing its checksums in the trailer; returns the answer."""
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n"
    body += b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in trailer.items())
    body += b"\r\n"
    headers = "Transfer-Encoding: chunked\r\nX-Backend-Body-Checks: trailer\r\n" + extra_headers
    sock = _raw_put(port, path, headers, [body])
    answer = sock.makefile("rb").readline()
    sock.close()
    return answer


def _checksums(chunks):
    from objstore.common.body_checksums import BodyChecksums
    sums = BodyChecksums()
    for chunk in chunks:
        sums.update(chunk)
    return sums


def _stored_metadata(root, path):
    """The metadata of the one .data stored for ``/account/container/object``."""
    from objstore.common.cluster_config import ClusterConfig
    from objstore.obj.diskfile.fs import read_metadata
    name_hash = ClusterConfig.build("test-prefix", "test-suffix").hasher.hash_path(
        *path.lstrip("/").split("/", 2))
    hash_dir = root / "sda" / "objects" / "1" / name_hash[-3:] / name_hash
    [data] = [n for n in os.listdir(hash_dir) if n.endswith(".data")]
    fd = os.open(str(hash_dir / data), os.O_RDONLY)
    try:
        return read_metadata(fd, str(hash_dir))
    finally:
        os.close(fd)


def test_trailer_names_the_etag_and_the_crc_is_stored(server):
    port, root, _proc = server
    chunks = [b"a" * 70000, b"b" * 5, b"c" * 100000]
    sums = _checksums(chunks)
    answer = _trailer_put(port, "/sda/1/a/c/trailed", chunks, sums.trailer(),
                          "X-Backend-Obj-Content-Length: 170005\r\n")
    assert answer.startswith(b"HTTP/1.1 201")
    status, headers, data = _request(port, "GET", "/sda/1/a/c/trailed")
    assert status == 200 and data == b"".join(chunks)
    assert headers["ETag"] == hashlib.md5(data).hexdigest()
    meta = _stored_metadata(root, "/a/c/trailed")
    assert meta["ETag"] == hashlib.md5(data).hexdigest()
    assert meta["X-Backend-Data-Crc32"] == "%08x %s" % (sums.crc32, meta["ETag"])


def test_a_body_damaged_in_transit_is_refused(server):
    port, _root, _proc = server
    sent = [b"a" * 1000, b"b" * 1000]
    trailer = _checksums(sent).trailer()
    damaged = [b"a" * 1000, b"b" * 999 + b"B"]
    answer = _trailer_put(port, "/sda/1/a/c/damaged", damaged, trailer)
    assert answer.startswith(b"HTTP/1.1 422")
    assert _request(port, "GET", "/sda/1/a/c/damaged")[0] == 404


@pytest.mark.parametrize("trailer, reason", [
    ({}, b"lacks"),
    ({"X-Backend-Body-Md5": "0" * 32}, b"lacks"),
    ({"X-Backend-Body-Md5": "xyz", "X-Backend-Body-Crc32": "00000000"}, b"malformed"),
    ({"X-Backend-Body-Md5": "0" * 32, "X-Backend-Body-Crc32": "123"}, b"malformed"),
])
def test_a_missing_or_malformed_trailer_is_400_and_stores_nothing(server, trailer, reason):
    port, _root, _proc = server
    path = "/sda/1/a/c/badtrailer-%d" % len(str(trailer))
    sock = _raw_put(port, path, "Transfer-Encoding: chunked\r\nX-Backend-Body-Checks: trailer\r\n"
                    "Connection: close\r\n",
                    [b"3\r\nabc\r\n0\r\n" + b"".join(
                        b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in trailer.items())
                     + b"\r\n"])
    answer = sock.makefile("rb").read()
    sock.close()
    assert answer.startswith(b"HTTP/1.1 400") and reason in answer
    assert _request(port, "GET", path)[0] == 404


def test_the_announced_length_and_the_clients_etag_are_checked(server):
    port, _root, _proc = server
    chunks = [b"z" * 500]
    sums = _checksums(chunks)
    answer = _trailer_put(port, "/sda/1/a/c/short", chunks, sums.trailer(),
                          "X-Backend-Obj-Content-Length: 501\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    answer = _trailer_put(port, "/sda/1/a/c/etag", chunks, sums.trailer(),
                          "ETag: %s\r\n" % ("0" * 32))
    assert answer.startswith(b"HTTP/1.1 422")
    for name in ("short", "etag"):
        assert _request(port, "GET", "/sda/1/a/c/" + name)[0] == 404


def test_trailer_checks_need_a_chunked_body(server):
    port, _root, _proc = server
    status, _h, body = _request(port, "PUT", "/sda/1/a/c/fixed", body=b"abc", headers={
        "X-Timestamp": Timestamp.now().internal, "Content-Type": "a/b",
        "X-Backend-Body-Checks": "trailer"})
    assert status == 400 and b"chunked" in body
