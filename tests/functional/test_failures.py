"""A storage node goes down: the cluster keeps serving (handoffs), the proxy error-limits it.

These tests run last in the session (see conftest): they leave the proxy's
error-limit memory of the stopped node behind for a minute.
"""
import os

import pytest

STOPPED_NODE = 2
OBJECTS = 30


@pytest.fixture
def node_down(cluster):
    cluster.stop_node(STOPPED_NODE)
    try:
        yield STOPPED_NODE
    finally:
        cluster.start_node(STOPPED_NODE)


def _proxy_log(cluster):
    with open(cluster.proxy_log, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def test_stop_node_takes_down_all_its_processes(cluster, node_down):
    rows = [row for row in cluster.status() if row["node"] == node_down]
    assert rows and not any(row["up"] for row in rows)
    assert all(row["up"] for row in cluster.status()
               if row["node"] != node_down and row["kind"] in ("proxy", "object", "container",
                                                               "account"))


def test_uploads_and_downloads_survive_a_node_down(cluster, conn, unique, object_files,
                                                   node_down):
    log_before = len(_proxy_log(cluster))
    container = unique("failover")
    conn.put_container(container)
    bodies = {"obj-%02d" % i: os.urandom(1000 + i) for i in range(OBJECTS)}
    for name, body in bodies.items():
        conn.put_object(container, name, body)
    for name, body in bodies.items():
        assert conn.get_object(container, name)[1] == body
    listed = [item["name"] for item in conn.get_container(container)[1]]
    assert listed == sorted(bodies)

    # every object still has three durable copies, on three live devices
    down_device = cluster.node_devices(node_down)[0]
    account = conn.get_auth()[0].rsplit("/", 1)[1]
    for name in bodies:
        found = object_files(account, container, name)
        devices = {device for device, _path in found}
        assert len(found) == 3 and len(devices) == 3, (name, found)
        assert down_device not in devices

    assert "error limiting" in _proxy_log(cluster)[log_before:].lower()


def test_node_comes_back(cluster, conn, unique):
    cluster.stop_node(STOPPED_NODE)
    cluster.start_node(STOPPED_NODE)
    assert all(row["up"] for row in cluster.status())
    container = unique("back")
    conn.put_container(container)
    conn.put_object(container, "o", b"after restart")
    assert conn.get_object(container, "o")[1] == b"after restart"
