"""Keep-alive backend connections: reused only when clean, never stale."""
import os
import socket

import pytest

from objstore.common import backend_client, concurrency
from objstore.common.backend_client import BackendConnection, IdleConnections
from objstore.common.http_protocol import serve_http


@pytest.fixture
def node():
    """A node that answers with its peer port, so a test sees which
    connection carried each request."""
    def app(env, start):
        if env["REQUEST_METHOD"] in ("PUT", "POST"):
            env["wsgi.input"].read()
        body = env["REMOTE_PORT"].encode() * (1000 if "big" in env["PATH_INFO"] else 1)
        start("200 OK", [("Content-Length", str(len(body)))])
        return [body]

    sock = concurrency.green_listen(("127.0.0.1", 0))
    thread = concurrency.spawn(serve_http, sock, app)
    yield sock.getsockname()[1]
    thread.kill()
    sock.close()


def _request(port, pool, method="GET", path="/d/1/a", body=None, read=True):
    conn = BackendConnection("127.0.0.1", port, pool=pool)
    headers = {} if body is None else {"Content-Length": str(len(body))}
    conn.putrequest(method, path, headers)
    if body is not None:
        conn.send(body)
    resp = conn.getresponse()
    data = resp.read() if read else resp.read(3)
    conn.close()
    return resp.status, data, conn.reused


def test_clean_exchanges_share_one_connection(node):
    pool = IdleConnections()
    first = _request(node, pool, "PUT", body=b"x" * 4096)
    second = _request(node, pool)
    third = _request(node, pool, "HEAD")
    assert first[0] == second[0] == third[0] == 200
    assert first[1] == second[1]              # same client port: same connection
    assert second[2] is True


def test_half_read_answer_is_not_reused(node):
    pool = IdleConnections()
    status, partial, _ = _request(node, pool, path="/d/1/big", read=False)
    assert status == 200 and len(partial) == 3
    _status, data, reused = _request(node, pool)
    assert reused is False and not partial.startswith(data)


def test_unfinished_request_body_is_not_reused(node):
    pool = IdleConnections()
    conn = BackendConnection("127.0.0.1", node, pool=pool)
    conn.putrequest("PUT", "/d/1/a", {"Content-Length": "10", "Expect": "100-continue"})
    assert conn.expect_continue() == 100
    conn.send(b"abc")
    conn.close()
    assert pool.take(("127.0.0.1", node)) is None


def test_connection_closed_by_node_is_not_handed_out(node):
    pool = IdleConnections()
    _request(node, pool)
    sock = pool.take(("127.0.0.1", node))
    assert sock is not None
    # The node's side goes away (idle timeout, restart): simulate by a
    # shutdown seen from our end, then offer the dead socket to the pool.
    sock.shutdown(socket.SHUT_RDWR)
    pool.give(("127.0.0.1", node), sock)
    status, _data, reused = _request(node, pool)
    assert status == 200 and reused is False


def test_connection_the_node_dropped_unnoticed_is_retried(monkeypatch):
    """The node closes idle connections after its client timeout; a request
    that races that close goes again on a new connection instead of failing."""
    def app(env, start):
        start("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    sock = concurrency.green_listen(("127.0.0.1", 0))
    thread = concurrency.spawn(serve_http, sock, app, client_timeout=0.1)
    port = sock.getsockname()[1]
    try:
        pool = IdleConnections()
        assert _request(port, pool)[:2] == (200, b"ok")
        concurrency.sleep(0.5)                 # the node has closed its side
        # The liveness peek would catch it; pretend the close lands later.
        monkeypatch.setattr(backend_client, "_peer_closed", lambda sock: False)
        status, data, reused = _request(port, pool)
        assert (status, data, reused) == (200, b"ok", False)
    finally:
        thread.kill()
        sock.close()


def test_body_sent_with_its_head_goes_again_whole_on_a_stale_connection(monkeypatch):
    """A body given to putrequest rides in the same write as the headers and
    is kept: a pooled connection the node had closed costs a resend, not the request."""
    received = []

    def app(env, start):
        received.append(env["wsgi.input"].read())
        start("201 Created", [("Content-Length", "0")])
        return [b""]

    sock = concurrency.green_listen(("127.0.0.1", 0))
    thread = concurrency.spawn(serve_http, sock, app, client_timeout=0.1)
    port = sock.getsockname()[1]
    sends = []
    try:
        pool = IdleConnections()
        assert _request(port, pool)[0] == 201
        concurrency.sleep(0.5)                 # the node has closed its side
        monkeypatch.setattr(backend_client, "_peer_closed", lambda sock: False)
        real_sendall = BackendConnection._sendall
        monkeypatch.setattr(BackendConnection, "_sendall",
                            lambda self, data: (sends.append(data), real_sendall(self, data)))
        conn = BackendConnection("127.0.0.1", port, pool=pool)
        assert conn.reused
        conn.putrequest("PUT", "/d/1/a", {"Content-Length": "5"}, body=b"hello")
        assert conn.getresponse().status == 201
        conn.close()
        assert received[-1] == b"hello"
        assert all(data.endswith(b"\r\n\r\nhello") for data in sends)
        assert len(sends) == 2                 # the stale try and the resend, each one write
    finally:
        thread.kill()
        sock.close()


def test_a_chunked_request_cannot_carry_a_held_body():
    conn = BackendConnection.__new__(BackendConnection)
    conn.host, conn.port = "h", 1
    with pytest.raises(ValueError):
        conn.putrequest("PUT", "/d/1/a", {}, chunked=True, body=b"x")


def test_a_forked_child_starts_with_no_idle_connections():
    idle = IdleConnections()
    left, right = socket.socketpair()
    try:
        idle.give(("127.0.0.1", 6200), left)
        pid = os.fork()
        if pid == 0:  # the child: the parent's socket is not its to reuse
            os._exit(0 if idle.take(("127.0.0.1", 6200)) is None else 1)
        _pid, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert idle.take(("127.0.0.1", 6200)) is left  # the parent keeps it
    finally:
        left.close()
        right.close()
