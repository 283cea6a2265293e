"""Account and container databases survive faults: replicators, auditors and the reaper.

One cluster of real processes (no background daemons) for the module; the
proxy allows account management so a reseller admin can delete an account.
Each test counts what it wrote and what it verified, and fails on any loss.
"""
import hashlib
import os
import shutil
import struct
import time
import urllib.error
import urllib.request
import uuid

import pytest
from swiftclient import client as swift_client

from objstore.account.backend import AccountBroker
from objstore.aio.cluster import USERS, Cluster
from objstore.common.backend_client import backend_request
from objstore.container.backend import ContainerBroker
from objstore.ring.ring import load_ring

REPLICATORS = ["container-replicator", "account-replicator"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # The reseller admin's account DELETE needs allow_account_management,
    # set in the proxy's config before its first start.
    aio = Cluster(str(tmp_path_factory.mktemp("dbprobe")), port=0, background_daemons=False,
                  proxy_options={"allow_account_management": "true"})
    aio.start()
    try:
        yield aio
    finally:
        aio.stop()


def _connect(cluster, user):
    return swift_client.Connection(authurl=cluster.auth_url, user=user, key=USERS[user],
                                   retries=0, timeout=30)


@pytest.fixture
def conn(cluster):
    connection = _connect(cluster, "test:tester")
    yield connection
    connection.close()


def _ring(cluster, name):
    return load_ring(os.path.join(cluster.data_dir, "etc"), name, reload_time=0)


def _name_hash(cluster, path):
    prefix, suffix = cluster.hash_path_salt()
    return hashlib.md5((prefix + path + suffix).encode("utf-8")).hexdigest()


def _place(cluster, ring_name, path):
    """(partition, primaries, name hash) of ``/a[/c[/o]]``, with the cluster's own salt."""
    ring = _ring(cluster, ring_name)
    name_hash = _name_hash(cluster, path)
    part = struct.unpack(">I", bytes.fromhex(name_hash)[:4])[0] >> (32 - ring.part_power)
    return part, ring.get_part_nodes(part), name_hash


def _device_path(cluster, node):
    """The device directory a ring entry names (devices are unique per node in the aio)."""
    return next(path for path in cluster.devices() if os.path.basename(path) == node["device"])


def _db_file(cluster, node, datadir, part, name_hash):
    return os.path.join(_device_path(cluster, node), datadir, str(part), name_hash[-3:],
                        name_hash, name_hash + ".db")


def _content(broker):
    """What must survive: every row (live and deleted), timestamps, metadata."""
    info = broker.get_info()
    rows = sorted(tuple(sorted((k, v) for k, v in row.items() if k != "ROWID"))
                  for row in broker.get_items_since(-1, 1000000))
    return (rows, info["put_timestamp"], info["delete_timestamp"], broker.metadata)


def _dbs_on(device_path, broker_class):
    return {os.path.relpath(f.path, device_path): f.path
            for f in broker_class.iter_on_device(device_path)}


def test_wiped_device_gets_every_database_back(cluster, conn):
    account = conn.get_auth()[0].rstrip("/").rsplit("/", 1)[1]
    containers = ["wipe-%s-%d" % (uuid.uuid4().hex[:6], i) for i in range(8)]
    for i, name in enumerate(containers):
        conn.put_container(name, headers={"X-Container-Meta-Index": str(i)})
        for j in range(i % 3 + 1):
            conn.put_object(name, "obj-%d" % j, b"x" * (j + 1))
        if i % 2:
            conn.delete_object(name, "obj-0")     # a deleted row must come back too
    # Converge first (replicas may differ, e.g. in the account's put
    # timestamp), so "restored" means equal to the agreed state.
    cluster.run_daemons_once(kinds=["container-updater"] + REPLICATORS)
    # The node holding the most of these containers' replicas loses its device.
    holders = {}
    for name in containers:
        _part, nodes, _hash = _place(cluster, "container", "/%s/%s" % (account, name))
        for node in nodes:
            holders[node["device"]] = holders.get(node["device"], 0) + 1
    device = max(holders, key=holders.get)
    device_path = next(p for p in cluster.devices() if os.path.basename(p) == device)
    before = {}
    for broker_class in (ContainerBroker, AccountBroker):
        for rel, path in _dbs_on(device_path, broker_class).items():
            broker = broker_class(path)
            before[rel] = (broker_class, _content(broker))
            broker.close()
    written = len(before)
    assert sum(1 for rel in before if rel.startswith("containers")) >= holders[device]

    for entry in os.listdir(device_path):
        shutil.rmtree(os.path.join(device_path, entry))
    assert not _dbs_on(device_path, ContainerBroker)

    cluster.run_daemons_once(kinds=REPLICATORS)

    verified = 0
    for rel, (broker_class, content) in before.items():
        path = os.path.join(device_path, rel)
        assert os.path.exists(path), "%s not restored" % rel
        broker = broker_class(path)
        assert _content(broker) == content, rel
        assert broker.integrity_problem(full=True) is None
        broker.close()
        verified += 1
    assert verified == written > 0
    # and through the API, every listing is whole
    for i, name in enumerate(containers):
        headers, listing = conn.get_container(name)
        expected = ["obj-%d" % j for j in range(i % 3 + 1) if not (i % 2 and j == 0)]
        assert [row["name"] for row in listing] == expected
        assert headers["x-container-meta-index"] == str(i)


def test_database_written_only_to_a_handoff_drains_home(cluster, conn):
    account = conn.get_auth()[0].rstrip("/").rsplit("/", 1)[1]
    container = "handoff-%s" % uuid.uuid4().hex[:8]
    part, primaries, name_hash = _place(cluster, "container", "/%s/%s" % (account, container))
    handoff = next(_ring(cluster, "container").get_more_nodes(part))
    path = "/%s/%s" % (account, container)
    ts = "%.5f" % time.time()
    resp = backend_request(handoff["ip"], handoff["port"], handoff["device"], part, "PUT",
                           path, headers={"X-Timestamp": ts})
    assert resp.status == 201, resp
    names = ["o%d" % i for i in range(6)]
    for name in names:
        resp = backend_request(handoff["ip"], handoff["port"], handoff["device"], part, "PUT",
                               path + "/" + name,
                               headers={"X-Timestamp": ts, "X-Size": "3",
                                        "X-Content-Type": "text/plain", "X-Etag": "e"})
        assert resp.status == 201, resp
    handoff_file = _db_file(cluster, handoff, "containers", part, name_hash)
    assert os.path.exists(handoff_file)
    for node in primaries:
        assert not os.path.exists(_db_file(cluster, node, "containers", part, name_hash))

    cluster.run_daemons_once(kinds=["container-replicator"])

    verified = 0
    for node in primaries:
        broker = ContainerBroker(_db_file(cluster, node, "containers", part, name_hash))
        assert sorted(r["name"] for r in broker.get_items_since(-1, 100)) == names
        broker.close()
        verified += 1
    assert verified == len(primaries) == 3
    assert not os.path.exists(handoff_file)
    assert not os.path.exists(os.path.dirname(handoff_file))


def test_corrupt_database_is_quarantined_and_restored(cluster, conn):
    account = conn.get_auth()[0].rstrip("/").rsplit("/", 1)[1]
    container = "rot-%s" % uuid.uuid4().hex[:8]
    conn.put_container(container)
    for i in range(20):
        conn.put_object(container, "o%02d" % i, b"data")
    part, primaries, name_hash = _place(cluster, "container", "/%s/%s" % (account, container))
    victim = _db_file(cluster, primaries[0], "containers", part, name_hash)
    broker = ContainerBroker(victim)
    expected = _content(broker)
    broker.checkpoint()
    broker.close()
    with open(victim, "r+b") as handle:
        handle.seek(2048)
        handle.write(b"\x00\xff" * 2048)

    cluster.run_daemons_once(kinds=["container-auditor"])
    quarantined = os.path.join(_device_path(cluster, primaries[0]), "quarantined",
                               "containers", name_hash)
    assert os.path.isdir(quarantined) and not os.path.exists(victim)

    cluster.run_daemons_once(kinds=["container-replicator"])
    broker = ContainerBroker(victim)
    assert _content(broker) == expected
    broker.close()


def test_reseller_admin_deletes_account_and_reaper_removes_everything(cluster):
    admin = _connect(cluster, "admin:admin")
    storage_url, token = admin.get_auth()
    account = "AUTH_reap%s" % uuid.uuid4().hex[:8]
    url = storage_url.rsplit("/", 1)[0] + "/" + account
    resp = _raw(url, token, "PUT")
    assert resp in (201, 202), resp
    written = {}
    for c in range(3):
        container = "c%d" % c
        swift_client.put_container(url, token, container)
        for o in range(4):
            swift_client.put_object(url, token, container, "o%d" % o, b"payload-%d" % o)
            written[(container, "o%d" % o)] = True
    assert len(written) == 12
    assert _raw(url, token, "DELETE") == 204
    assert _raw(url, token, "HEAD") == 410 and _raw(url, token, "GET") == 410
    a_part, a_nodes, _hash = _place(cluster, "account", "/%s" % account)
    for node in a_nodes:   # marked deleted, the data still there for the reaper
        resp = backend_request(node["ip"], node["port"], node["device"], a_part, "HEAD",
                               "/%s" % account)
        assert (resp.status, resp.headers.get("X-Account-Status")) == (404, "Deleted")

    cluster.run_daemons_once()

    # Every object: no .data left on any node (a tombstone instead).
    data_left = 0
    for container, obj in written:
        part, _nodes, name_hash = _place(cluster, "object",
                                         "/%s/%s/%s" % (account, container, obj))
        for device_path in cluster.devices():
            hash_dir = os.path.join(device_path, "objects", str(part), name_hash[-3:],
                                    name_hash)
            if os.path.isdir(hash_dir):
                data_left += sum(1 for f in os.listdir(hash_dir) if f.endswith(".data"))
    assert data_left == 0
    # Every container replica deleted, every account replica without live rows.
    for c in range(3):
        part, nodes, name_hash = _place(cluster, "container", "/%s/c%d" % (account, c))
        for node in nodes:
            broker = ContainerBroker(_db_file(cluster, node, "containers", part, name_hash))
            assert broker.is_deleted() and broker.get_info()["object_count"] == 0
            broker.close()
    part, nodes, name_hash = _place(cluster, "account", "/%s" % account)
    for node in nodes:
        broker = AccountBroker(_db_file(cluster, node, "accounts", part, name_hash))
        info = broker.get_info()
        assert broker.is_deleted()
        assert (info["container_count"], info["object_count"]) == (0, 0)
        broker.close()
    admin.close()


def _raw(url, token, method):
    """The status of one request with the admin's token (account PUT/DELETE/HEAD)."""
    req = urllib.request.Request(url, method=method, headers={"X-Auth-Token": token})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
