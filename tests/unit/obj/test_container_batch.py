"""Container updates that arrive together are sent together, and each learns its own fate.

The batcher's requests go to a real container server app in process (the
backend client is replaced by a call into the app that takes a little
while, as a network round trip would), so these tests see what the
container's database ends up holding.
"""
import json
import logging
from urllib.parse import unquote

import pytest
from webob import Request

from objstore.common.backend_client import BackendError, BackendResponse, quote_backend_path
from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import GreenPile
from objstore.common.concurrency import sleep as green_sleep
from objstore.common.timestamp import Timestamp
from objstore.container.server import app_factory
from objstore.obj import container_batch, container_update
from objstore.obj.container_batch import ContainerUpdateBatcher
from objstore.obj.diskfile import AsyncUpdate, ContainerNode

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")
NODE = ContainerNode(ip="127.0.0.1", port=6201, device="sda", partition="1")
OTHER_NODE = ContainerNode(ip="127.0.0.1", port=6202, device="sda", partition="1")
LOG = logging.getLogger("test-container-batch")


class FakeNetwork:
    """Routes backend requests into container server apps, one per port."""

    def __init__(self, tmp_path, refuse_update=False, refuse_sections=False):
        self.apps = {}
        for port in (6201, 6202):
            (tmp_path / str(port) / "sda").mkdir(parents=True)
            self.apps[port] = app_factory(CLUSTER, {"devices": str(tmp_path / str(port)),
                                                    "log_level": "CRITICAL"},
                                          mount_check="false")
        self.refuse_update = refuse_update
        self.refuse_sections = refuse_sections   # as a server from before sections would
        self.down = False
        self.requests = []

    def request(self, ip, port, device, partition, method, path, headers=None, body=b"",
                **_timeouts):
        # a whole-device request names no container: record its device
        self.requests.append((method, port, path if partition is not None else "/" + device,
                              body))
        green_sleep(0.01)   # the round trip, during which others queue up
        if self.down:
            raise BackendError("connect to %s:%s failed: refused" % (ip, port))
        if method == "UPDATE" and self.refuse_update:
            return BackendResponse(405, "Method Not Allowed", {}, b"")
        if method == "UPDATE" and self.refuse_sections and partition is None:
            return BackendResponse(400, "Bad Request", {}, b"Invalid path")
        req = Request.blank(quote_backend_path(device, partition, path), method=method,
                            headers=headers or {}, body=body)
        resp = req.get_response(self.apps[port])
        return BackendResponse(resp.status_int, resp.status, resp.headers, resp.body)

    def listing(self, port=6201, container="c"):
        req = Request.blank("/sda/1/AUTH_test/%s?format=json" % container)
        resp = req.get_response(self.apps[port])
        return json.loads(resp.body) if resp.status_int == 200 else []


@pytest.fixture
def network(tmp_path, monkeypatch):
    net = FakeNetwork(tmp_path)
    monkeypatch.setattr(container_batch, "backend_request", net.request)
    monkeypatch.setattr(container_update, "backend_request", net.request)
    for port in (6201, 6202):
        for container in ("c", "d"):
            Request.blank("/sda/1/AUTH_test/" + container, method="PUT", headers={
                "X-Timestamp": Timestamp(1000).internal}).get_response(net.apps[port])
    return net


def update(name, timestamp, op="PUT", size=4, container="c", **extra):
    headers = container_update.update_headers(op, Timestamp(timestamp), 0, "tx" + name, size,
                                              "text/plain", "etag-" + name)
    headers.update(extra)
    return AsyncUpdate(op=op, account="AUTH_test", container=container, obj=name,
                       headers=headers, nodes=[NODE], policy_index=0)


def send_all(batcher, jobs):
    pile = GreenPile(len(jobs))
    for node, upd in jobs:
        pile.spawn(batcher.send, node, upd)
    return list(pile)


def test_updates_that_arrive_together_share_requests_and_all_land(network):
    batcher = ContainerUpdateBatcher(0.5, 3, LOG)
    results = send_all(batcher, [(NODE, update("o%02d" % i, 2000 + i)) for i in range(30)])
    assert results == [True] * 30
    assert [o["name"] for o in network.listing()] == ["o%02d" % i for i in range(30)]
    assert {o["hash"] for o in network.listing()} == {"etag-o%02d" % i for i in range(30)}
    assert batcher.rows == 30
    # the first goes alone, the rest wait for it and leave together
    assert batcher.requests <= 3
    assert "UPDATE" in {method for method, *_ in network.requests}


def test_deletes_and_puts_mix_and_the_newest_wins(network):
    batcher = ContainerUpdateBatcher(0.5, 3, LOG)
    send_all(batcher, [(NODE, update("a", 2000)), (NODE, update("b", 2000))])
    results = send_all(batcher, [(NODE, update("a", 2001, op="DELETE")),
                                 (NODE, update("b", 1999, op="DELETE")),
                                 (NODE, update("c", 2001, size=9))])
    assert results == [True] * 3
    assert [(o["name"], o["bytes"]) for o in network.listing()] == [("b", 4), ("c", 9)]


def rows_by_request(network):
    """(port, container, row names) for each row-carrying request, sections split out."""
    carried = []
    for method, port, path, body in network.requests:
        if method != "UPDATE":
            carried.append((port, unquote(path).split("/")[2], [unquote(path).split("/")[3]]))
        elif unquote(path) == "/sda":
            for section in json.loads(body):
                carried.append((port, section["container"],
                                [row["name"] for row in section["rows"]]))
        else:
            carried.append((port, unquote(path).split("/")[2],
                            [row["name"] for row in json.loads(body)]))
    return carried


def test_replicas_are_separate_batches_and_containers_share_one_as_sections(network):
    batcher = ContainerUpdateBatcher(0.5, 3, LOG)
    jobs = [(NODE if i % 2 else OTHER_NODE, update("o%d" % i, 2000 + i,
                                                   container="c" if i % 3 else "d"))
            for i in range(24)]
    assert send_all(batcher, jobs) == [True] * 24
    for port, node_parity in ((6201, 1), (6202, 0)):
        for container, in_c in (("c", True), ("d", False)):
            expected = sorted("o%d" % i for i in range(24)
                              if i % 2 == node_parity and bool(i % 3) == in_c)
            assert sorted(o["name"] for o in network.listing(port, container)) == expected
    for port, container, names in rows_by_request(network):
        for name in names:
            i = int(name[1:])
            assert (port == 6201) == bool(i % 2)
            assert (container == "c") == bool(i % 3)
    # a node's twelve updates arrive together: one request, a section per container
    assert [(path, len(json.loads(body))) for _method, _port, path, body
            in network.requests] == [("/sda", 2), ("/sda", 2)]
    assert (batcher.requests, batcher.rows) == (2, 24)


def test_a_server_without_sections_gets_an_update_per_container(tmp_path, monkeypatch):
    net = FakeNetwork(tmp_path, refuse_sections=True)
    monkeypatch.setattr(container_batch, "backend_request", net.request)
    monkeypatch.setattr(container_update, "backend_request", net.request)
    for container in ("c", "d"):
        Request.blank("/sda/1/AUTH_test/" + container, method="PUT", headers={
            "X-Timestamp": Timestamp(1000).internal}).get_response(net.apps[6201])
    batcher = ContainerUpdateBatcher(0.5, 3, LOG)
    jobs = [(NODE, update("o%d" % i, 2000 + i, container="cd"[i % 2])) for i in range(10)]
    assert send_all(batcher, jobs) == [True] * 10
    assert [o["name"] for o in net.listing(container="c")] == ["o0", "o2", "o4", "o6", "o8"]
    assert [o["name"] for o in net.listing(container="d")] == ["o1", "o3", "o5", "o7", "o9"]
    assert sorted(unquote(path) for method, _port, path, _body in net.requests
                  if method == "UPDATE") == ["/AUTH_test/c", "/AUTH_test/d", "/sda"]


def test_a_missing_container_fails_only_its_own_rows(network):
    batcher = ContainerUpdateBatcher(0.5, 3, LOG)
    jobs = [(NODE, update("o%d" % i, 2000 + i, container="nope" if i % 2 else "c"))
            for i in range(9)]
    assert send_all(batcher, jobs) == [i % 2 == 0 for i in range(9)]
    assert [o["name"] for o in network.listing()] == ["o0", "o2", "o4", "o6", "o8"]
    assert any(path == "/sda" for method, _port, path, _body in network.requests)


def test_a_failed_batch_fails_every_member(network):
    network.down = True
    batcher = ContainerUpdateBatcher(0.5, 3, LOG)
    assert send_all(batcher, [(NODE, update("o%d" % i, 2000 + i)) for i in range(8)]) == \
        [False] * 8
    network.down = False
    assert network.listing() == []


def test_a_missing_container_fails_the_batch(network):
    batcher = ContainerUpdateBatcher(0.5, 3, LOG)
    jobs = [(NODE, update("o%d" % i, 2000 + i, container="nope")) for i in range(6)]
    assert send_all(batcher, jobs) == [False] * 6


def test_a_server_without_update_gets_one_request_per_row(tmp_path, monkeypatch):
    net = FakeNetwork(tmp_path, refuse_update=True)
    monkeypatch.setattr(container_batch, "backend_request", net.request)
    monkeypatch.setattr(container_update, "backend_request", net.request)
    Request.blank("/sda/1/AUTH_test/c", method="PUT", headers={
        "X-Timestamp": Timestamp(1000).internal}).get_response(net.apps[6201])
    batcher = ContainerUpdateBatcher(0.5, 3, LOG)
    assert send_all(batcher, [(NODE, update("o%d" % i, 2000 + i)) for i in range(10)]) == \
        [True] * 10
    assert len(net.listing()) == 10
    assert {method for method, *_ in net.requests} == {"UPDATE", "PUT"}


def test_batches_are_capped_and_odd_updates_go_alone(network):
    batcher = ContainerUpdateBatcher(0.5, 3, LOG, max_rows=4)
    odd = update("odd", 2000, **{"X-Size": "not-a-number"})
    jobs = [(NODE, update("o%02d" % i, 2000 + i)) for i in range(20)] + [(NODE, odd)]
    results = send_all(batcher, jobs)
    # the container server judges the odd one itself (400: not a size)
    assert results == [True] * 20 + [False]
    assert all(len(json.loads(body)) <= 4 for method, _p, _path, body in network.requests
               if method == "UPDATE")
    assert len(network.listing()) == 20


def _write_then_send(batcher, upd, fsync_time):
    with batcher.writing():
        green_sleep(fsync_time)     # the write's fsyncs
    return batcher.send(NODE, upd)


def _four_writes_15ms_apart(batcher):
    pile = GreenPile(4)
    for i in range(4):
        pile.spawn(_write_then_send, batcher, update("w%d" % i, 2000 + i), 0.015 * i)
    return list(pile)


def test_a_batch_waits_for_writes_still_in_their_fsyncs(network):
    # Four writes whose fsyncs end 15 ms apart, each longer than a round trip:
    # the first update waits for the others instead of leaving alone.
    batcher = ContainerUpdateBatcher(0.5, 3, LOG, writes_wait=1.0)
    assert _four_writes_15ms_apart(batcher) == [True] * 4
    assert (batcher.requests, batcher.rows) == (1, 4)
    assert [o["name"] for o in network.listing()] == ["w0", "w1", "w2", "w3"]


def test_without_the_wait_those_writes_take_more_requests(network):
    batcher = ContainerUpdateBatcher(0.5, 3, LOG, writes_wait=0.0)
    assert _four_writes_15ms_apart(batcher) == [True] * 4
    assert batcher.requests > 1
    assert len(network.listing()) == 4
