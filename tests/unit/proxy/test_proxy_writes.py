"""Quorum writes, handoffs and error limiting against real storage servers."""
from webob import Request

from objstore.ring.ring import load_ring

ACCOUNT = "AUTH_test"


def put(app, path, body=None, headers=None):
    kwargs = {"method": "PUT", "headers": headers or {}}
    if body is not None:
        kwargs["body"] = body
    return Request.blank(path, **kwargs).get_response(app)


def object_nodes(cluster, obj, container="c"):
    ring = load_ring(cluster.swift_dir, "object", cluster.config.hasher)
    part, primaries = ring.get_nodes(ACCOUNT, container, obj)
    return part, primaries, list(ring.get_more_nodes(part))


def test_one_node_down_still_writes_and_uses_a_handoff(cluster):
    app = cluster.proxy
    assert put(app, "/v1/%s/c" % ACCOUNT).status_int == 201
    _part, primaries, handoffs = object_nodes(cluster, "o1")
    cluster.node_for(primaries[0]).stop()
    resp = put(app, "/v1/%s/c/o1" % ACCOUNT, b"data", {"Content-Type": "text/plain"})
    assert resp.status_int == 201, cluster.log.text()
    assert resp.headers["Etag"] == "8d777f385d3dfec8815d20f7496026dc"
    handoff = cluster.node_for(handoffs[0])
    assert len(handoff.object_files()) == 1, "the handoff holds the replica"
    for primary in primaries[1:]:
        assert len(cluster.node_for(primary).object_files()) == 1
    resp = Request.blank("/v1/%s/c/o1" % ACCOUNT).get_response(app)
    assert resp.status_int == 200 and resp.body == b"data"


def test_two_primaries_down_handoff_makes_quorum(cluster):
    app = cluster.proxy
    assert put(app, "/v1/%s/c" % ACCOUNT).status_int == 201
    _part, primaries, handoffs = object_nodes(cluster, "o2")
    for primary in primaries[:2]:
        cluster.node_for(primary).stop()
    resp = put(app, "/v1/%s/c/o2" % ACCOUNT, b"xyz", {"Content-Type": "text/plain"})
    assert resp.status_int == 201
    assert cluster.node_for(handoffs[0]).object_files()


def test_three_nodes_down_is_503(cluster):
    app = cluster.proxy
    assert put(app, "/v1/%s/c" % ACCOUNT).status_int == 201
    _part, primaries, handoffs = object_nodes(cluster, "o3")
    for node in primaries[:2] + handoffs[:1]:
        cluster.node_for(node).stop()
    resp = put(app, "/v1/%s/c/o3" % ACCOUNT, b"xyz", {"Content-Type": "text/plain"})
    assert resp.status_int == 503
    resp = Request.blank("/v1/%s/c/o3" % ACCOUNT, method="DELETE").get_response(app)
    assert resp.status_int == 503


def test_container_put_quorum(cluster):
    app = cluster.proxy
    ring = load_ring(cluster.swift_dir, "container", cluster.config.hasher)
    part, primaries = ring.get_nodes(ACCOUNT, "cq")
    # the account must exist first (autocreate goes to the account servers)
    assert put(app, "/v1/%s/first" % ACCOUNT).status_int == 201
    cluster.node_for(primaries[0]).container.stop()
    assert put(app, "/v1/%s/cq" % ACCOUNT).status_int == 201
    for node in ring.get_more_nodes(part):
        cluster.node_for(node).container.stop()
    cluster.node_for(primaries[1]).container.stop()
    assert put(app, "/v1/%s/cq" % ACCOUNT).status_int == 503


def test_backend_requests_carry_timestamp_trans_id_and_update_targets(cluster):
    app = cluster.proxy
    assert put(app, "/v1/%s/c" % ACCOUNT).status_int == 201
    for node in cluster.nodes:
        node.object.requests.clear()
    resp = put(app, "/v1/%s/c/obj" % ACCOUNT, b"abc", {"Content-Type": "text/plain",
                                                     "X-Object-Meta-Color": "blue"})
    assert resp.status_int == 201
    seen = [r for node in cluster.nodes for r in node.object.requests if r[0] == "PUT"]
    assert len(seen) == 3
    stamps = {h["X-Timestamp"] for _m, _p, h in seen}
    assert len(stamps) == 1, "one timestamp per client request"
    assert {h["X-Trans-Id"] for _m, _p, h in seen} == {resp.headers["X-Trans-Id"]}
    c_ring = load_ring(cluster.swift_dir, "container", cluster.config.hasher)
    c_part, c_nodes = c_ring.get_nodes(ACCOUNT, "c")
    hosts = sorted(h["X-Container-Host"] for _m, _p, h in seen)
    assert hosts == sorted("127.0.0.1:%d" % n["port"] for n in c_nodes)
    for _m, path, headers in seen:
        assert headers["X-Container-Partition"] == str(c_part)
        assert headers["X-Backend-Storage-Policy-Index"] == "0"
        assert headers["X-Object-Meta-Color"] == "blue"
        assert path.endswith("/%s/c/obj" % ACCOUNT)


def test_each_object_node_updates_the_container_replica_beside_it(cluster):
    """Every container replica is told once, and an object node whose zone
    holds a container replica tells that one (so its updates batch)."""
    app = cluster.proxy
    assert put(app, "/v1/%s/pairs" % ACCOUNT).status_int == 201
    c_ring = load_ring(cluster.swift_dir, "container", cluster.config.hasher)
    _c_part, c_nodes = c_ring.get_nodes(ACCOUNT, "pairs")
    zone_of_port = {n["port"]: n["zone"] for n in c_nodes}
    paired = 0
    for i in range(12):
        for node in cluster.nodes:
            node.object.requests.clear()
        assert put(app, "/v1/%s/pairs/o%d" % (ACCOUNT, i), b"x").status_int == 201
        told = []
        for node in cluster.nodes:
            for method, _path, headers in node.object.requests:
                if method == "PUT":
                    port = int(headers["X-Container-Host"].rsplit(":", 1)[1])
                    told.append(port)
                    if node.index + 1 in zone_of_port.values():
                        assert zone_of_port[port] == node.index + 1
                        paired += 1
        assert sorted(told) == sorted(zone_of_port)
    assert paired >= 12 * 2


def test_error_limiting_is_logged_and_skips_the_node(cluster):
    app = cluster.make_proxy(error_suppression_limit=1, error_suppression_interval=60)
    assert put(app, "/v1/%s/c" % ACCOUNT).status_int == 201
    _part, primaries, _handoffs = object_nodes(cluster, "lim")
    down = cluster.node_for(primaries[0])
    down.stop()
    for _ in range(3):
        resp = put(app, "/v1/%s/c/lim" % ACCOUNT, b"1", {"Content-Type": "text/plain"})
        assert resp.status_int == 201
    label = "127.0.0.1:%d/%s" % (primaries[0]["port"], primaries[0]["device"])
    assert "error limiting %s" % label in cluster.log.text()
    assert app.health.is_limited(primaries[0])
    # once limited, the node is not even tried: no new connection errors are logged
    errors_before = cluster.log.text().count("ERROR %s" % label)
    put(app, "/v1/%s/c/lim" % ACCOUNT, b"2", {"Content-Type": "text/plain"})
    assert cluster.log.text().count("ERROR %s" % label) == errors_before


def test_object_delete_and_post(cluster):
    app = cluster.proxy
    assert put(app, "/v1/%s/c" % ACCOUNT).status_int == 201
    assert put(app, "/v1/%s/c/o" % ACCOUNT, b"abc",
               {"Content-Type": "text/plain"}).status_int == 201
    resp = Request.blank("/v1/%s/c/o" % ACCOUNT, method="POST",
                         headers={"X-Object-Meta-Fruit": "apple"}).get_response(app)
    assert resp.status_int == 202
    resp = Request.blank("/v1/%s/c/o" % ACCOUNT, method="HEAD").get_response(app)
    assert resp.headers["X-Object-Meta-Fruit"] == "apple"
    resp = Request.blank("/v1/%s/c/o" % ACCOUNT, method="DELETE").get_response(app)
    assert resp.status_int == 204
    resp = Request.blank("/v1/%s/c/o" % ACCOUNT, method="DELETE").get_response(app)
    assert resp.status_int == 404
    resp = Request.blank("/v1/%s/c/o" % ACCOUNT).get_response(app)
    assert resp.status_int == 404


def test_backend_requests_keep_their_connection_open(cluster):
    """The proxy never asks a node to close: a ``Connection: close`` on
    every backend request once kept the connection pool from ever reusing
    a socket, so each request paid a connect, an accept and a new server
    green thread (half the CPU of a small GET)."""
    app = cluster.proxy
    assert put(app, "/v1/%s/c" % ACCOUNT).status_int == 201
    assert put(app, "/v1/%s/c/o" % ACCOUNT, b"data",
               {"Content-Type": "text/plain"}).status_int == 201
    for method in ("GET", "HEAD", "POST", "DELETE"):
        assert Request.blank("/v1/%s/c/o" % ACCOUNT,
                             method=method).get_response(app).status_int < 300
    seen = [(method, path, headers) for node in cluster.nodes for slot in node.slots()
            for method, path, headers in slot.requests]
    assert {method for method, _path, _headers in seen} >= {
        "PUT", "GET", "HEAD", "POST", "DELETE"}
    assert not [r for r in seen if "close" in r[2].get("Connection", "").lower()]


def test_small_put_replaces_a_full_or_failing_node_with_a_handoff(cluster):
    """A node answering 507 (or 5xx) to a whole-body PUT is replaced: the body
    is still in hand, so a handoff gets the same request."""
    app = cluster.proxy
    assert put(app, "/v1/%s/c" % ACCOUNT).status_int == 201
    part, primaries, handoffs = object_nodes(cluster, "full")
    answers = {0: "507 Insufficient Storage", 1: "503 Service Unavailable"}
    for index, status in answers.items():
        slot = cluster.node_for(primaries[index]).object

        def refuse(environ, start_response, status=status):
            start_response(status, [("Content-Length", "0")])
            return [b""]
        slot.app = refuse
    resp = put(app, "/v1/%s/c/full" % ACCOUNT, b"small body", {"Content-Type": "text/plain"})
    assert resp.status_int == 201
    stored = [n for n in primaries + handoffs if cluster.node_for(n).object_files()]
    # the two refusing primaries stored nothing; the healthy one and the
    # handoff (this cluster has one) hold the object
    assert stored == [primaries[2], handoffs[0]]
    tried = [p for _m, p, _h in cluster.node_for(handoffs[0]).object.requests]
    assert tried == ["/%s/%d/%s/c/full" % (handoffs[0]["device"], part, ACCOUNT)]
    assert app.health.is_limited(primaries[0]), "a 507 limits the node at once"
