"""REPLICATE on the database servers and the replicator daemon that drives it.

The servers are real ContainerServer/AccountServer apps; the replicator
talks to them over loopback HTTP, so every byte crosses the wire protocol.
"""
import json
import os
import threading
import time
import wsgiref.simple_server

import pytest
from webob import Request

from objstore.account.backend import AccountBroker
from objstore.account.replicator import AccountReplicator
from objstore.account.server import AccountServer
from objstore.common.cluster_config import ClusterConfig
from objstore.common.db_replication import OP_HEADER
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker
from objstore.container.replicator import ContainerReplicator
from objstore.container.server import ContainerServer

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")
PART = 7


class _Quiet(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class Node:
    """One storage node: a devices dir with one device, and a server on loopback."""

    def __init__(self, root, number, server_class):
        self.devices = os.path.join(str(root), "node%d" % number)
        self.device = "d%d" % number
        os.makedirs(os.path.join(self.devices, self.device))
        self.app = server_class(CLUSTER, {"devices": self.devices, "mount_check": "false"})
        self.server = wsgiref.simple_server.make_server("127.0.0.1", 0, self.app,
                                                        handler_class=_Quiet)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def device_path(self):
        return os.path.join(self.devices, self.device)

    def ring_dev(self):
        return {"ip": "127.0.0.1", "port": self.port, "device": self.device}

    def container(self, name="c"):
        return ContainerBroker.for_container(CLUSTER.hasher, self.device_path, PART, "AUTH_a",
                                             name)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class FakeRing:
    def __init__(self, primaries):
        self.primaries = primaries

    def get_part_nodes(self, part):
        assert part == PART
        return [dict(node.ring_dev(), index=i) for i, node in enumerate(self.primaries)]


@pytest.fixture
def nodes(tmp_path):
    made = [Node(tmp_path, n, ContainerServer) for n in range(1, 5)]
    yield made
    for node in made:
        node.stop()


def replicator(node, primaries, cls=ContainerReplicator, **options):
    conf = {"devices": node.devices, "mount_check": "false", "bind_ip": "127.0.0.1",
            "bind_port": str(node.port)}
    conf.update({k: str(v) for k, v in options.items()})
    return cls(CLUSTER, conf, ring=FakeRing(primaries))


def rows(broker):
    return sorted((r["name"], r["created_at"], r["deleted"], r["size"])
                  for r in broker.get_items_since(-1, 100000))


def make_container(node, objects=3, name="c"):
    broker = node.container(name)
    broker.initialize(1000, account="AUTH_a", container=name)
    for i in range(objects):
        broker.put_object("o%d" % i, 1001 + i, 10 * i, "text/plain", "etag%d" % i)
    return broker


# -- the receiving side, one request at a time ------------------------------
def replicate(node, op, body, name_hash):
    req = Request.blank("/%s/%d/%s" % (node.device, PART, name_hash), method="REPLICATE",
                        headers={OP_HEADER: op}, body=body)
    return req.get_response(node.app)


def test_sync_merges_metadata_and_reports_sync_point(nodes):
    one, two = nodes[0], nodes[1]
    source = make_container(one)
    target = make_container(two, objects=0)
    source.update_metadata({"X-Container-Meta-Color": ("blue", Timestamp(2000).internal)})
    info = source.replication_info()
    message = {k: info[k] for k in ("id", "max_row", "hash", "created_at", "put_timestamp",
                                    "delete_timestamp", "metadata")}
    name_hash = os.path.basename(source.db_dir)
    resp = replicate(two, "sync", json.dumps(message).encode(), name_hash)
    assert resp.status_int == 200
    answer = json.loads(resp.body)
    assert answer["point"] == -1 and answer["hash"] != info["hash"]
    assert target.metadata["X-Container-Meta-Color"][0] == "blue"
    # rows pushed by merge_items advance the receiver's sync point for the sender
    items = source.get_items_since(-1, 100)
    resp = replicate(two, "merge_items", json.dumps({"id": info["id"], "items": items}).encode(),
                     name_hash)
    assert resp.status_int == 204
    assert rows(target) == rows(source)
    answer = json.loads(replicate(two, "sync", json.dumps(message).encode(), name_hash).body)
    assert answer["point"] == info["max_row"] and answer["hash"] == info["hash"]
    # unknown database, bad op, bad body
    assert replicate(two, "sync", json.dumps(message).encode(), "0" * 32).status_int == 404
    assert replicate(two, "rsync", b"{}", name_hash).status_int == 400
    assert replicate(two, "sync", b"not json", name_hash).status_int == 400
    assert replicate(two, "sync", b"{}", "nothex").status_int == 400


def test_upload_creates_with_new_id_or_merges(nodes, tmp_path):
    one, two = nodes[0], nodes[1]
    source = make_container(one)
    snap = str(tmp_path / "snap.db")
    source.snapshot(snap)
    data = open(snap, "rb").read()
    name_hash = os.path.basename(source.db_dir)
    assert replicate(two, "upload", data, name_hash).status_int == 201
    copy = two.container()
    assert rows(copy) == rows(source)
    assert copy.replication_info()["id"] != source.replication_info()["id"]
    assert copy.get_sync(source.replication_info()["id"]) == source.replication_info()["max_row"]
    assert copy.integrity_problem() is None
    # a second upload with a newer row merges into the existing database
    source.delete_object("o1", Timestamp.now())
    source.snapshot(snap + "2")
    resp = replicate(two, "upload", open(snap + "2", "rb").read(), name_hash)
    assert resp.status_int == 202
    assert rows(copy) == rows(source)
    assert copy.get_info()["object_count"] == 2
    # garbage and a database filed under another name are refused, the tmp dir kept
    assert replicate(two, "upload", b"x" * 5000, name_hash).status_int == 422
    assert replicate(two, "upload", data, "f" * 32).status_int == 422
    assert os.path.isdir(os.path.join(two.device_path, "tmp"))
    assert os.listdir(os.path.join(two.device_path, "tmp")) == []
    assert not os.path.exists(os.path.join(two.device_path, "quarantined"))


# -- the daemon ---------------------------------------------------------------
def test_replicator_sends_whole_file_then_only_new_rows(nodes):
    primaries = nodes[:3]
    source = make_container(nodes[0], objects=5)
    stats = replicator(nodes[0], primaries).run_once()
    assert stats.files_sent == 2 and stats.failures == 0
    for node in primaries[1:]:
        assert rows(node.container()) == rows(source)
    now = time.time()
    source.delete_object("o2", now)      # recent: not reclaimable yet
    source.put_object("new", now + 1, 3, "text/plain", "e")
    stats = replicator(nodes[0], primaries).run_once()
    assert (stats.rows_pushed, stats.files_sent, stats.in_sync) == (4, 0, 0)
    for node in primaries[1:]:
        assert rows(node.container()) == rows(source)
        assert node.container().get_object_row("o2")["deleted"] == 1
    stats = replicator(nodes[0], primaries).run_once()
    assert (stats.rows_pushed, stats.in_sync) == (0, 2)
    # newest-wins on metadata, pushed by whichever replica has it
    nodes[1].container().update_metadata({"X-Container-Meta-K": ("v2", Timestamp(7000).internal)})
    source.update_metadata({"X-Container-Meta-K": ("v1", Timestamp(6500).internal)})
    replicator(nodes[1], primaries).run_once()
    assert source.metadata["X-Container-Meta-K"][0] == "v2"


def test_far_behind_replica_gets_the_whole_file(nodes):
    primaries = nodes[:2]
    source = make_container(nodes[0], objects=0)
    make_container(nodes[1], objects=0)
    for i in range(30):
        source.put_object("o%02d" % i, 2000 + i, 1, "t", "e")
    stats = replicator(nodes[0], primaries, per_diff=5, max_diffs=2).run_once()
    assert (stats.files_sent, stats.rows_pushed) == (1, 0)
    assert rows(nodes[1].container()) == rows(source)


def test_handoff_drains_to_primaries_and_is_removed(nodes):
    primaries = nodes[:3]
    handoff = nodes[3]
    make_container(primaries[0], objects=2)
    stray = make_container(handoff, objects=4)
    expected = rows(stray)
    # one primary is down: the handoff keeps its copy
    primaries[2].stop()
    stats = replicator(handoff, primaries, conn_timeout=0.2).run_once()
    assert stats.handoffs_removed == 0 and stats.failures == 1
    assert os.path.exists(stray.db_file)
    nodes[2] = Node(os.path.dirname(primaries[2].devices) + "/again", 3, ContainerServer)
    primaries = [primaries[0], primaries[1], nodes[2]]
    stats = replicator(handoff, primaries).run_once()
    assert stats.handoffs_removed == 1 and stats.failures == 0
    assert not os.path.exists(os.path.dirname(stray.db_file))
    for node in primaries:
        assert {r[0] for r in expected} <= {r[0] for r in rows(node.container())}


def test_reclaim_only_after_reclaim_age(nodes):
    primaries = nodes[:1]
    broker = make_container(nodes[0], objects=2)
    old = Timestamp(time.time() - 3600)
    broker.delete_object("o0", old)
    stats = replicator(nodes[0], primaries).run_once()      # default: a week
    assert stats.rows_reclaimed == 0 and broker.get_object_row("o0")["deleted"] == 1
    stats = replicator(nodes[0], primaries, reclaim_age=60).run_once()
    assert stats.rows_reclaimed == 1 and broker.get_object_row("o0") is None
    # a deleted, empty container goes once its deletion is older than reclaim age
    broker.delete_object("o1", old)
    broker.update_delete_timestamp(old)
    stats = replicator(nodes[0], primaries, reclaim_age=7200).run_once()
    assert stats.dbs_reclaimed == 0 and broker.exists()
    stats = replicator(nodes[0], primaries, reclaim_age=60).run_once()
    assert stats.dbs_reclaimed == 1 and not broker.exists()


def test_account_replicator(tmp_path):
    nodes = [Node(tmp_path, n, AccountServer) for n in range(1, 4)]
    try:
        broker = AccountBroker.for_account(CLUSTER.hasher, nodes[0].device_path, PART, "AUTH_a")
        broker.initialize(1000, account="AUTH_a")
        broker.put_container("c1", 1001, 0, 3, 30)
        broker.put_container("c2", 1002, 1003, 0, 0)
        stats = replicator(nodes[0], nodes, AccountReplicator).run_once()
        assert stats.files_sent == 2
        for node in nodes[1:]:
            copy = AccountBroker.for_account(CLUSTER.hasher, node.device_path, PART, "AUTH_a")
            assert copy.get_info()["container_count"] == 1
            assert copy.get_info()["object_count"] == 3
    finally:
        for node in nodes:
            node.stop()


def test_whole_file_goes_chunk_by_chunk_never_whole_in_memory(nodes, monkeypatch):
    from objstore.common import db_replicator
    from objstore.common.db_replication import UPLOAD_CHUNK

    sent = []
    real_send = db_replicator.BackendConnection.send

    def recording_send(self, data):
        sent.append(len(data))
        real_send(self, data)

    monkeypatch.setattr(db_replicator.BackendConnection, "send", recording_send)
    source = make_container(nodes[0], objects=0)
    for i in range(3000):
        source.put_object("object-with-a-longish-name-%05d" % i, 2000 + i, i, "t", "e" * 32)
    stats = replicator(nodes[0], nodes[:2]).run_once()
    assert (stats.files_sent, stats.failures) == (1, 0)
    assert rows(nodes[1].container()) == rows(source)
    assert sum(sent) > 4 * UPLOAD_CHUNK and max(sent) <= UPLOAD_CHUNK
