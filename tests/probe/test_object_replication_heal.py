"""Object durability: replication and integrity checks heal a broken cluster.

Each test writes objects through the proxy, breaks something (a node down, a
device wiped, a byte flipped), runs one object-replicator pass on every node
(``run_daemons_once(kinds=...)``, no sleeps), then counts the replicas on disk
and reads every byte back.
"""
import glob
import hashlib
import json
import os
import shutil
import struct
import time
import uuid

import pytest

from objstore.common.backend_client import BackendError, backend_request
from objstore.common.expiring_queue import queue_row
from objstore.ring.ring import load_ring

REPLICATOR = ["object-replicator"]


class Placement:
    """Where the ring puts one object, and what each node's disk holds of it."""

    def __init__(self, cluster, account, container, obj):
        ring = load_ring(os.path.join(cluster.data_dir, "etc"), "object", reload_time=0)
        prefix, suffix = cluster.hash_path_salt()
        path = "/%s/%s/%s" % (account, container, obj)
        digest = hashlib.md5((prefix + path + suffix).encode("utf-8"))
        self.part = struct.unpack(">I", digest.digest()[:4])[0] >> (32 - ring.part_power)
        self.name_hash = digest.hexdigest()
        self.primaries = ring.get_part_nodes(self.part)
        self.cluster = cluster
        self.path = "/%s/%s/%s" % (account, container, obj)

    def node_of(self, dev):
        return self.cluster.devices().index(
            next(d for d in self.cluster.devices() if d.endswith("/" + dev["device"]))) + 1

    @property
    def primary_nodes(self):
        return sorted(self.node_of(dev) for dev in self.primaries)

    def hash_dir(self, node):
        return os.path.join(self.cluster.devices()[node - 1], "objects", str(self.part),
                            self.name_hash[-3:], self.name_hash)

    def files(self, node, ext):
        return glob.glob(os.path.join(self.hash_dir(node), "*" + ext))

    def nodes_with(self, ext):
        """Nodes whose device holds a current ``ext`` file of the object, anywhere."""
        found = []
        for node, device in enumerate(self.cluster.devices(), 1):
            pattern = os.path.join(device, "objects", "*", self.name_hash[-3:],
                                   self.name_hash, "*" + ext)
            if glob.glob(pattern):
                found.append(node)
        return found

    def direct_get(self, node):
        dev = next(d for d in self.primaries if self.node_of(d) == node)
        return backend_request(dev["ip"], dev["port"], dev["device"], self.part, "GET",
                               self.path)


@pytest.fixture
def names(conn):
    account = conn.get_auth()[0].rstrip("/").rsplit("/", 1)[1]
    container = "repl-%s" % uuid.uuid4().hex[:8]
    conn.put_container(container)
    return account, container


def _body(i, size=1000):
    seed = hashlib.sha256(b"%d" % i).digest()
    return (seed * (size // len(seed) + 1))[:size]


def _put_home(cluster, conn, account, container, written, headers=None):
    """PUT objects and make sure each one's .data sits on exactly its primaries.

    After an earlier test stopped a node, the proxy skips that node for a
    while (error limiting) and the PUT lands on a handoff: one replication
    pass brings it home, so the test breaks the replica it means to.
    """
    for obj, body in written.items():
        conn.put_object(container, obj, body, headers=headers)
    places = [Placement(cluster, account, container, obj) for obj in written]
    if any(where.nodes_with(".data") != where.primary_nodes for where in places):
        cluster.run_daemons_once(kinds=REPLICATOR)
    for where in places:
        assert where.nodes_with(".data") == where.primary_nodes, where.path


def _assert_home(cluster, conn, account, container, written):
    """Every object: byte-identical through the API, .data on exactly its primaries."""
    verified = replicas = 0
    for obj, body in written.items():
        where = Placement(cluster, account, container, obj)
        assert where.nodes_with(".data") == where.primary_nodes, obj
        for node in where.primary_nodes:
            (data,) = where.files(node, ".data")
            with open(data, "rb") as handle:
                assert handle.read() == body
            replicas += 1
        assert conn.get_object(container, obj)[1] == body
        verified += 1
    assert (verified, replicas) == (len(written), 3 * len(written))


def test_node_down_during_uploads_handoffs_go_home(cluster, conn, names):
    account, container = names
    cluster.stop_node(1)
    try:
        written = {"obj-%d" % i: _body(i) for i in range(12)}
        for obj, body in written.items():
            conn.put_object(container, obj, body)
    finally:
        cluster.start_node(1)
    on_handoff = [obj for obj in written
                  if 1 in Placement(cluster, account, container, obj).primary_nodes]
    assert on_handoff, "no object had node 1 as a primary: the test proves nothing"
    for obj in on_handoff:
        where = Placement(cluster, account, container, obj)
        assert len(where.nodes_with(".data")) == 3
        assert 1 not in where.nodes_with(".data")
    cluster.run_daemons_once(kinds=REPLICATOR)
    _assert_home(cluster, conn, account, container, written)


def test_wiped_device_is_rebuilt_byte_identical(cluster, conn, names):
    account, container = names
    written = {"wipe-%d" % i: _body(100 + i, 3000) for i in range(10)}
    for obj, body in written.items():
        conn.put_object(container, obj, body)
    shutil.rmtree(os.path.join(cluster.devices()[1], "objects"))
    missing = [obj for obj in written
               if 2 in Placement(cluster, account, container, obj).primary_nodes]
    assert missing
    cluster.run_daemons_once(kinds=REPLICATOR)
    _assert_home(cluster, conn, account, container, written)


# 3,000,000 bytes is past the object server's disk_chunk_size (1 MiB): a streamed body
@pytest.mark.parametrize("size", [1000, 3000000])
def test_flipped_byte_never_served_and_restored(cluster, conn, names, size):
    account, container = names
    obj, body = "rot-%d" % size, _body(7, size)
    _put_home(cluster, conn, account, container, {obj: body})
    where = Placement(cluster, account, container, obj)
    victim = where.primary_nodes[0]
    (data,) = where.files(victim, ".data")
    with open(data, "r+b") as handle:
        handle.seek(size // 2)
        byte = handle.read(1)
        handle.seek(size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    served = 0
    for _ in range(6):
        # whichever replica the proxy reads: the right bytes, or a failed read
        # (a large body is cut short when its checksum does not match), never a
        # complete answer with corrupt bytes
        try:
            got = conn.get_object(container, obj)[1]
        except Exception:  # noqa: BLE001 - the client saw the cut stream
            continue
        assert got == body
        served += 1
    assert served >= 1
    # asked directly, the corrupt replica refuses or cuts its answer short
    try:
        resp = direct = where.direct_get(victim)
        assert resp.status == 404 or direct.body != body
    except BackendError:
        pass
    quarantined = glob.glob(os.path.join(cluster.devices()[victim - 1], "quarantined",
                                         "objects", where.name_hash + "*"))
    assert len(quarantined) == 1
    assert victim not in where.nodes_with(".data")
    cluster.run_daemons_once(kinds=REPLICATOR)
    _assert_home(cluster, conn, account, container, {obj: body})


def test_auditor_finds_rot_no_client_reads_and_replicator_restores_it(cluster, conn,
                                                                     names):
    account, container = names
    written = {"quiet-%d" % i: _body(300 + i, 20000) for i in range(4)}
    _put_home(cluster, conn, account, container, written)
    obj = "quiet-0"
    where = Placement(cluster, account, container, obj)
    victim = where.primary_nodes[-1]
    (data,) = where.files(victim, ".data")
    with open(data, "r+b") as handle:  # rot nobody reads: no GET touches it
        handle.seek(12345)
        byte = handle.read(1)
        handle.seek(12345)
        handle.write(bytes([byte[0] ^ 0x10]))
    cluster.run_daemons_once(kinds=["object-auditor"])
    quarantined = glob.glob(os.path.join(cluster.devices()[victim - 1], "quarantined",
                                         "objects", where.name_hash + "*", "*.data"))
    assert len(quarantined) == 1
    with open(quarantined[0], "rb") as handle:
        assert handle.read() != written[obj]  # kept for an operator, not deleted
    assert victim not in where.nodes_with(".data")
    cluster.run_daemons_once(kinds=REPLICATOR)
    _assert_home(cluster, conn, account, container, written)


@pytest.mark.parametrize("absence", ["unmounted", "down"])
def test_absent_primary_s_replicas_live_on_a_handoff_then_drain_back(cluster, conn, names,
                                                                     absence):
    account, container = names
    written = {"away-%d" % i: _body(500 + i, 2000) for i in range(12)}
    _put_home(cluster, conn, account, container, written)
    victim = 2
    affected = [obj for obj in written
                if victim in Placement(cluster, account, container, obj).primary_nodes]
    assert affected, "no object had node 2 as a primary: the test proves nothing"
    device = cluster.devices()[victim - 1]
    if absence == "unmounted":  # the server answers 507 for a device it cannot find
        os.rename(device, device + "-unmounted")
        shutil.move(device + "-unmounted", os.path.join(cluster.data_dir, "unmounted"))
    else:
        cluster.stop_node(victim)
    try:
        cluster.run_daemons_once(kinds=REPLICATOR)
        replicas = 0
        for obj in affected:
            # a stopped node keeps its files, but nobody can read them
            holders = [node for node in Placement(cluster, account, container,
                                                  obj).nodes_with(".data") if node != victim]
            assert len(holders) == 3, (obj, holders)
            replicas += len(holders)
        assert replicas == 3 * len(affected)
    finally:
        if absence == "unmounted":
            shutil.move(os.path.join(cluster.data_dir, "unmounted"), device)
        else:
            cluster.start_node(victim)
    cluster.run_daemons_once(kinds=REPLICATOR)
    _assert_home(cluster, conn, account, container, written)


def test_delete_while_a_replica_is_down_wins_everywhere(cluster, conn, names):
    account, container = names
    obj = "doomed"
    _put_home(cluster, conn, account, container, {obj: b"soon gone"})
    where = Placement(cluster, account, container, obj)
    down = where.primary_nodes[0]
    cluster.stop_node(down)
    try:
        conn.delete_object(container, obj)
    finally:
        cluster.start_node(down)
    assert where.files(down, ".data")  # it missed the delete
    cluster.run_daemons_once(kinds=REPLICATOR)
    assert where.nodes_with(".data") == []
    assert where.nodes_with(".ts") == where.primary_nodes
    from swiftclient.exceptions import ClientException
    with pytest.raises(ClientException) as info:
        conn.get_object(container, obj)
    assert info.value.http_status == 404


def _container_replica_listings(cluster, account, container):
    """The object names each container replica lists, asked of its server directly."""
    ring = load_ring(os.path.join(cluster.data_dir, "etc"), "container", reload_time=0)
    prefix, suffix = cluster.hash_path_salt()
    digest = hashlib.md5((prefix + "/%s/%s" % (account, container) + suffix).encode("utf-8"))
    part = struct.unpack(">I", digest.digest()[:4])[0] >> (32 - ring.part_power)
    listings = []
    for dev in ring.get_part_nodes(part):
        resp = backend_request(dev["ip"], dev["port"], dev["device"], part, "GET",
                               "/%s/%s" % (account, container), query_string="format=json")
        assert resp.status == 200, resp
        listings.append(sorted(row["name"] for row in json.loads(resp.body)))
    return listings


def test_expired_object_is_never_served_listed_or_resurrected(cluster, conn, names):
    """A replica whose node was down during the expirer's pass keeps the object's
    data; replication must carry the expirer's tombstone there, never the object back."""
    from swiftclient.exceptions import ClientException

    account, container = names
    obj = "short-lived"
    # Time enough for the PUT, a replication pass bringing it home and the HEAD.
    delete_at = int(time.time()) + 20
    _put_home(cluster, conn, account, container, {obj: b"gone at its time"},
              headers={"X-Delete-At": str(delete_at)})
    conn.put_object(container, "kept", b"stays")
    assert int(conn.head_object(container, obj)["x-delete-at"]) == delete_at
    where = Placement(cluster, account, container, obj)
    # The node taken down holds a replica but is not the one whose expirer owns the
    # object's queue row (each node's expirer works its own share of the queue).
    row = queue_row(delete_at, account, container, obj)
    owner = int.from_bytes(hashlib.md5(row.encode("utf-8")).digest()[:8], "big") % 4 + 1
    down = next(node for node in where.primary_nodes if node != owner)
    while time.time() <= delete_at:
        time.sleep(0.2)

    def assert_not_served():
        for call in (conn.get_object, conn.head_object):
            with pytest.raises(ClientException) as info:
                call(container, obj)
            assert info.value.http_status == 404

    assert_not_served()    # past its time, before any expirer pass
    cluster.stop_node(down)
    try:
        cluster.run_daemons_once()          # the expirer's pass, without node `down`
        assert_not_served()
        assert [e["name"] for e in conn.get_container(container)[1]] == ["kept"]
        assert len(where.nodes_with(".ts")) == 2
    finally:
        cluster.start_node(down)
    assert where.files(down, ".data")      # it missed the expirer's delete

    cluster.run_daemons_once()             # replicators and updaters meet the stale replica

    assert where.nodes_with(".data") == []
    assert where.nodes_with(".ts") == where.primary_nodes
    assert_not_served()
    assert _container_replica_listings(cluster, account, container) == [["kept"]] * 3
    assert [e["name"] for e in conn.get_container(container)[1]] == ["kept"]
