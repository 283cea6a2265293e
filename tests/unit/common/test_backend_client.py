import pytest

from objstore.common import concurrency
from objstore.common.http_protocol import serve_http
from objstore.common.backend_client import (BackendConnection, BackendError, backend_request,
                                            quote_backend_path)
from objstore.common.logs import set_trans_id


# The trailer fields of each request the echo server read (None: not chunked).
ECHO_TRAILERS = []


@pytest.fixture
def echo_server():
    seen = []
    trailers = ECHO_TRAILERS
    trailers.clear()

    def app(env, start):
        if env["PATH_INFO"].endswith("/reject"):
            # Answer before reading: the server must not send 100 Continue.
            start("507 Insufficient Storage", [("Content-Length", "0")])
            return [b""]
        body = env["wsgi.input"].read() if env["REQUEST_METHOD"] in ("PUT", "POST") else b""
        seen.append((env["REQUEST_METHOD"], env["PATH_INFO"], env.get("QUERY_STRING"),
                     env.get("HTTP_X_TRANS_ID"), body))
        trailers.append(getattr(env["wsgi.input"], "trailers", None))
        start("201 Created", [("Content-Length", str(len(body))), ("X-Echo", "yes")])
        return [body]

    sock = concurrency.green_listen(("127.0.0.1", 0))
    thread = concurrency.spawn(serve_http, sock, app)
    yield sock.getsockname()[1], seen
    thread.kill()
    sock.close()


def test_backend_request_quotes_path_and_carries_trans_id(echo_server):
    port, seen = echo_server
    set_trans_id("txtest")
    try:
        resp = backend_request("127.0.0.1", port, "d1", 7, "PUT", "/a/c/o ü", body=b"data",
                               query_string="x=1")
    finally:
        set_trans_id(None)
    assert resp.status == 201 and resp.body == b"data" and resp.headers["x-echo"] == "yes"
    method, path, query, trans_id, body = seen[0]
    assert (method, query, trans_id, body) == ("PUT", "x=1", "txtest", b"data")
    assert path.encode("latin-1").decode("utf-8") == "/d1/7/a/c/o ü"


def test_quote_backend_path():
    assert quote_backend_path("sda", 3, "/a/c/o?x") == "/sda/3/a/c/o%3Fx"
    # a request to the whole device (EXPIRE) names no partition
    assert quote_backend_path("sd a", None, "") == "/sd%20a"


def test_streaming_put_with_expect_continue(echo_server):
    port, _seen = echo_server
    conn = BackendConnection("127.0.0.1", port)
    conn.putrequest("PUT", quote_backend_path("d1", 1, "/a/c/o"), {"Expect": "100-continue"},
                    chunked=True)
    assert conn.expect_continue() == 100
    for piece in (b"one ", b"two ", b"three"):
        conn.send(piece)
    conn.finish()
    resp = conn.getresponse()
    assert resp.status == 201 and resp.read() == b"one two three"
    conn.close()


def test_a_chunked_body_ends_with_its_trailer_and_the_connection_is_reused(echo_server):
    port, _seen = echo_server
    conn = BackendConnection("127.0.0.1", port)
    conn.putrequest("PUT", quote_backend_path("d1", 1, "/a/c/o"), {}, chunked=True)
    for piece in (b"x" * 70000, b"", b"tail"):
        conn.send(piece)
    conn.finish({"X-Backend-Body-Md5": "0" * 32, "X-Other": "y"})
    resp = conn.getresponse()
    assert resp.status == 201 and resp.read() == b"x" * 70000 + b"tail"
    assert ECHO_TRAILERS[-1] == [("X-Backend-Body-Md5", "0" * 32), ("X-Other", "y")]
    # the framing ended where the server thought it did: the next request works
    conn2 = BackendConnection("127.0.0.1", port)
    conn2.putrequest("PUT", quote_backend_path("d1", 1, "/a/c/empty"), {}, chunked=True)
    conn2.finish()
    resp = conn2.getresponse()
    assert resp.status == 201 and resp.read() == b""
    assert ECHO_TRAILERS[-1] == []


def test_a_trailer_with_a_line_break_is_refused(echo_server):
    port, _seen = echo_server
    conn = BackendConnection("127.0.0.1", port)
    conn.putrequest("PUT", quote_backend_path("d1", 1, "/a/c/o"), {}, chunked=True)
    conn.send(b"abc")
    with pytest.raises(ValueError):
        conn.finish({"X-Evil": "a\r\nInjected: yes"})
    conn.abort()


def test_early_final_status_instead_of_continue(echo_server):
    port, _seen = echo_server
    conn = BackendConnection("127.0.0.1", port)
    conn.putrequest("PUT", quote_backend_path("d1", 1, "/a/c/reject"),
                    {"Expect": "100-continue", "Content-Length": "10"})
    assert conn.expect_continue() == 507
    assert conn.getresponse().status == 507
    conn.close()


def test_refused_connection_is_backend_error():
    sock = concurrency.green_listen(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(BackendError):
        backend_request("127.0.0.1", port, "d1", 1, "HEAD", "/a")


def test_silent_node_times_out():
    sock = concurrency.green_listen(("127.0.0.1", 0))  # accepts, never answers
    try:
        with pytest.raises(BackendError):
            backend_request("127.0.0.1", sock.getsockname()[1], "d1", 1, "HEAD", "/a",
                            response_timeout=0.2)
    finally:
        sock.close()


def test_header_injection_refused(echo_server):
    port, _ = echo_server
    conn = BackendConnection("127.0.0.1", port)
    with pytest.raises(ValueError):
        conn.putrequest("GET", "/d/1/a", {"X-Bad": "a\r\nX-Evil: 1"})
    conn.close()


def test_abort_ends_the_connection_while_the_answer_reader_holds_the_socket():
    """The node must see an abandoned upload end now, not after its client timeout."""
    listener = concurrency.green_listen(("127.0.0.1", 0))
    conn = BackendConnection("127.0.0.1", listener.getsockname()[1])
    peer, _addr = listener.accept()
    conn.putrequest("PUT", quote_backend_path("d1", 1, "/a/c/o"), {"Content-Length": "99"})
    conn.close()          # the answer's reader still refers to the socket: no EOF yet
    peer.settimeout(0.2)
    head = peer.recv(65536)
    assert head.startswith(b"PUT ")
    with pytest.raises(OSError):
        peer.recv(1)      # times out: the connection is still open
    conn.abort()
    peer.settimeout(2)
    assert peer.recv(1) == b""
    peer.close()
    listener.close()


def _dev(zone, port=6001, ip="10.0.0.1", device=None):
    return {"region": 1, "zone": zone, "ip": ip, "port": port,
            "device": device or "d%d" % zone}


def test_update_shares_pair_each_writer_with_the_target_in_its_own_place():
    from objstore.common.backend_client import update_shares
    writers = [_dev(4, 6000), _dev(2, 6000), _dev(3, 6000)]
    targets = [_dev(1), _dev(2), _dev(3)]
    shares = update_shares(writers, targets)
    # zones 2 and 3 tell their own replica; zone 4 has none, so it takes zone 1's
    assert [[t["device"] for t in share] for share in shares] == [["d1"], ["d2"], ["d3"]]


def test_update_shares_name_every_target_once_whatever_the_counts():
    from objstore.common.backend_client import share_headers, update_shares
    targets = [_dev(z, ip="10.0.0.%d" % z) for z in range(1, 5)]
    writers = [_dev(z, 6000, ip="10.0.0.%d" % z) for z in (3, 1, 2)]
    shares = update_shares(writers, targets)
    assert sorted(t["device"] for share in shares for t in share) == ["d1", "d2", "d3", "d4"]
    assert shares[0][0]["device"] == "d3" and shares[1][0]["device"] == "d1"
    assert share_headers("X-Container", shares[0], 9) == {
        "X-Container-Host": "10.0.0.3:6001,10.0.0.4:6001",
        "X-Container-Device": "d3,d4", "X-Container-Partition": "9"}
    # fewer targets than writers: the unpaired writers tell nobody
    few = update_shares(writers, targets[:1])
    assert [len(share) for share in few] == [0, 1, 0]
    assert share_headers("X-Account", few[0], 9) == {}
    assert update_shares([], targets) == []


def test_update_shares_follow_ring_order_when_no_place_matches():
    from objstore.common.backend_client import update_shares
    writers = [_dev(z, 6000, ip="10.1.0.%d" % z) for z in (1, 2, 3)]
    targets = [_dev(z, ip="10.2.0.%d" % z) for z in (3, 1, 2)]
    shares = update_shares(writers, targets)
    assert [share[0]["ip"] for share in shares] == ["10.2.0.3", "10.2.0.1", "10.2.0.2"]


def test_node_request_turns_an_unreachable_node_into_none():
    import socket as _socket
    from objstore.common.backend_client import node_request
    sock = _socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    node = {"ip": "127.0.0.1", "port": port, "device": "d1"}
    assert node_request(node, 1, "HEAD", "/a", conn_timeout=0.2) is None
