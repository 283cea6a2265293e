"""A node that was down while objects were written catches up once the updaters run.

While a container replica's node is down, the object servers cannot record
new objects in its listing; they keep async pendings instead.  The node comes
back with a stale listing (and its account replica with stale totals), and
one pass of the object and container updaters must bring both up to date,
with no client involved.
"""
import hashlib
import json
import os
import struct
import uuid

from objstore.common.backend_client import backend_request
from objstore.ring.ring import load_ring


def _primaries(cluster, ring_name, path):
    """The ring's primary devices for ``path``, hashing with the cluster's own salt."""
    ring = load_ring(os.path.join(cluster.data_dir, "etc"), ring_name, reload_time=0)
    prefix, suffix = cluster.hash_path_salt()
    digest = hashlib.md5((prefix + path + suffix).encode("utf-8")).digest()
    part = struct.unpack(">I", digest[:4])[0] >> (32 - ring.part_power)
    return part, ring.get_part_nodes(part)


def _node_number(cluster, kind, port):
    for row in cluster.status():
        if row["kind"] == kind and row["port"] == port:
            return row["node"]
    raise AssertionError("no %s server on port %s" % (kind, port))


def _listing(node, part, account, container):
    resp = backend_request(node["ip"], node["port"], node["device"], part, "GET",
                           "/%s/%s" % (account, container), query_string="format=json")
    assert resp.status == 200, resp
    return sorted(row["name"] for row in json.loads(resp.body))


def _account_totals(node, part, account):
    resp = backend_request(node["ip"], node["port"], node["device"], part, "HEAD",
                           "/%s" % account)
    assert resp.status in (200, 204), resp
    return (int(resp.headers["X-Account-Object-Count"]),
            int(resp.headers["X-Account-Bytes-Used"]))


def test_stale_container_and_account_replicas_catch_up(cluster, conn):
    account = conn.get_auth()[0].rstrip("/").rsplit("/", 1)[1]
    container = "probe-%s" % uuid.uuid4().hex[:8]
    conn.put_container(container)
    c_part, c_nodes = _primaries(cluster, "container", "/%s/%s" % (account, container))
    a_part, a_nodes = _primaries(cluster, "account", "/%s" % account)
    # A node holding a replica of both the container and the account (with 4
    # nodes and 3 replicas of each, at least two nodes do).
    c_by_node = {_node_number(cluster, "container", n["port"]): n for n in c_nodes}
    a_by_node = {_node_number(cluster, "account", n["port"]): n for n in a_nodes}
    victim = sorted(set(c_by_node) & set(a_by_node))[0]
    before = _account_totals(a_by_node[victim], a_part, account)

    cluster.stop_node(victim)
    names = ["obj-%d" % i for i in range(5)]
    for name in names:
        conn.put_object(container, name, b"x" * 100)
    cluster.start_node(victim)

    # Back up, but it missed every update while it was down.
    assert _listing(c_by_node[victim], c_part, account, container) == []
    healthy = next(n for number, n in c_by_node.items() if number != victim)
    assert _listing(healthy, c_part, account, container) == names

    cluster.run_daemons_once()

    assert _listing(c_by_node[victim], c_part, account, container) == names
    assert _account_totals(a_by_node[victim], a_part, account) == (
        before[0] + len(names), before[1] + 100 * len(names))
    # Through the proxy everything agrees too.
    headers, listing = conn.get_container(container)
    assert [row["name"] for row in listing] == names
    assert headers["x-container-object-count"] == str(len(names))
