"""REPLICATE and SSYNC on the object server, and the replicator between two real servers."""
import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from webob import Request

from objstore.common.cluster_config import ClusterConfig
from objstore.common.timestamp import Timestamp
from objstore.obj import sync_protocol as proto
from objstore.obj.diskfile import DiskFileRouter, FsDiskFileManager
from objstore.obj.replicator import ObjectReplicator
from objstore.obj.server import ObjectServer

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


def _hash(obj):
    return str(CLUSTER.hasher.hash_path("AUTH_a", "c", obj))


@pytest.fixture
def app(tmp_path):
    (tmp_path / "sda").mkdir()
    return ObjectServer(CLUSTER, {"devices": str(tmp_path), "log_level": "CRITICAL"})


def _put(app, obj, body, when, device="sda", part="7"):
    resp = Request.blank("/%s/%s/AUTH_a/c/%s" % (device, part, obj), method="PUT", body=body,
                         headers={"X-Timestamp": Timestamp(when).internal,
                                  "Content-Type": "text/plain"}).get_response(app)
    assert resp.status_int == 201


def _call(app, method, path, body=b"", **headers):
    return Request.blank(path, method=method, body=body, headers=headers).get_response(app)


def _record(name_hash, name, body, metadata):
    return proto.encode_record_header(name_hash, name, len(body), metadata) + body


def test_replicate_returns_suffix_hashes_and_recalculates(app):
    now = time.time()
    _put(app, "o", b"abc", now)
    resp = _call(app, "REPLICATE", "/sda/7")
    assert resp.status_int == 200
    hashes = json.loads(resp.body)
    assert list(hashes) == [_hash("o")[-3:]]
    assert _call(app, "REPLICATE", "/sda/7/%s" % _hash("o")[-3:]).json == hashes
    assert _call(app, "REPLICATE", "/sda/8").json == {}
    assert _call(app, "REPLICATE", "/sda/7/zzz").status_int == 400
    assert _call(app, "REPLICATE", "/nodev/7").status_int == 507
    assert _call(app, "REPLICATE", "/sda/7",
                 **{"X-Backend-Storage-Policy-Index": "9"}).status_int == 400


def test_ssync_missing_check_and_updates(app):
    now = Timestamp(time.time())
    name = now.internal + ".data"
    body = b"replicated bytes"
    meta = {"X-Timestamp": now.internal, "Content-Type": "text/plain",
            "Content-Length": str(len(body)), "X-Object-Meta-Color": "blue",
            "ETag": hashlib.md5(body).hexdigest()}
    offer = proto.encode_json({"hashes": {_hash("o"): [name]}})
    resp = _call(app, "SSYNC", "/sda/7", offer, **{proto.PHASE_HEADER: proto.MISSING_CHECK})
    assert resp.json == {"wanted": {_hash("o"): [name]}}
    bad = dict(meta, ETag="0" * 32)
    records = _record(_hash("o"), name, body, bad) + _record(_hash("o"), name, body, meta)
    resp = _call(app, "SSYNC", "/sda/7", records, **{proto.PHASE_HEADER: proto.UPDATES})
    assert resp.status_int == 200
    answer = resp.json
    assert (answer["stored"], answer["skipped"], len(answer["refused"])) == (1, 0, 1)
    got = _call(app, "GET", "/sda/7/AUTH_a/c/o")
    assert got.body == body and got.headers["X-Object-Meta-Color"] == "blue"
    # now nothing is missing, and an older file is not wanted
    older = Timestamp(now.seconds - 1).internal + ".data"
    offer = proto.encode_json({"hashes": {_hash("o"): [name, older]}})
    resp = _call(app, "SSYNC", "/sda/7", offer, **{proto.PHASE_HEADER: proto.MISSING_CHECK})
    assert resp.json == {"wanted": {}}


@pytest.mark.parametrize("body", [
    b"not json\n",
    b'{"hash": "%s", "file": "1.data", "length": 10, "metadata": {}}\nshort' % b"a" * 1,
    b'{"hash": 1}\n',
    b'{"hash": "x", "file": "../x", "length": 0, "metadata": {}}\n',
])
def test_ssync_malformed_updates_are_400(app, body):
    resp = _call(app, "SSYNC", "/sda/7", body, **{proto.PHASE_HEADER: proto.UPDATES})
    assert resp.status_int == 400


def test_ssync_needs_a_phase(app):
    assert _call(app, "SSYNC", "/sda/7", b"{}").status_int == 400


# -- the replicator between two real object servers ------------------------------

SERVER_SCRIPT = textwrap.dedent("""
    import sys
    from objstore.common import concurrency
    concurrency.monkey_patch()
    from objstore.common.cluster_config import ClusterConfig
    from objstore.obj.server import ObjectServer
    from objstore.common.http_protocol import serve_http
    cluster = ClusterConfig.build("test-prefix", "test-suffix")
    sock = concurrency.green_listen(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    serve_http(sock, ObjectServer(cluster, {"devices": sys.argv[1], "log_level": "CRITICAL"}))
""")


class _Ring:
    def __init__(self, nodes, handoffs=()):
        self.nodes = nodes
        self.handoffs = list(handoffs)

    def get_part_nodes(self, part):
        return self.nodes

    def get_more_nodes(self, part):
        return iter(self.handoffs)


@pytest.fixture(scope="module")
def remote_server(tmp_path_factory):
    """One object server process for the module; each test gets its own device."""
    root = tmp_path_factory.mktemp("remote")
    proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    port = int(proc.stdout.readline())
    yield port, root
    proc.kill()
    proc.wait(5)


@pytest.fixture
def remote(remote_server):
    port, root = remote_server
    device = "sdb-%s" % uuid.uuid4().hex[:8]
    (root / device).mkdir()
    return {"ip": "127.0.0.1", "port": port, "device": device}, root


def _replicator(tmp_path, nodes, handoffs=(), **conf):
    local = tmp_path / "local"
    (local / "sda").mkdir(parents=True, exist_ok=True)
    managers = DiskFileRouter(CLUSTER.policies, lambda policy: FsDiskFileManager(
        str(local), CLUSTER.hasher, policy=policy))
    options = {"devices": str(local), "bind_ip": "127.0.0.1", "bind_port": "1"}
    options.update(conf)
    return ObjectReplicator(CLUSTER, options, managers=managers,
                            rings={0: _Ring(nodes, handoffs)})


def _write(manager, device, obj, body, when):
    df = manager.get_diskfile(device, "7", "AUTH_a", "c", obj)
    with df.writer() as writer:
        writer.write(body)
        writer.put({"X-Timestamp": Timestamp(when).internal, "Content-Type": "text/plain",
                    "Content-Length": str(len(body)), "ETag": writer.etag,
                    "X-Object-Meta-Name": obj})


def _read(manager, device, obj):
    df = manager.get_diskfile(device, "7", "AUTH_a", "c", obj).open()
    try:
        return b"".join(df.reader()), df.metadata
    finally:
        df.close()


def test_primary_pushes_only_differing_suffixes(tmp_path, remote):
    node, remote_root = remote
    me = {"ip": "127.0.0.1", "port": 1, "device": "sda"}
    replicator = _replicator(tmp_path, [me, node])
    manager = replicator.managers[0]
    theirs = FsDiskFileManager(str(remote_root), CLUSTER.hasher)
    now = time.time()
    names = ["obj-%d" % i for i in range(20)]
    for i, name in enumerate(names):
        _write(manager, "sda", name, b"body-%d" % i, now - 10)
    stats = replicator.run_once()
    assert (stats.partitions, stats.handoffs, stats.failures) == (1, 0, 0)
    assert stats.files_sent == 20
    for i, name in enumerate(names):
        body, meta = _read(theirs, node["device"], name)
        assert body == b"body-%d" % i and meta["X-Object-Meta-Name"] == name
    assert theirs.suffix_hashes(node["device"], "7") == manager.suffix_hashes("sda", "7")
    # nothing to do: no suffix syncs, no file travels
    again = replicator.run_once()
    assert (again.suffixes_synced, again.files_sent, again.failures) == (0, 0, 0)
    # a delete travels as a tombstone and wins over the remote's data
    manager.get_diskfile("sda", "7", "AUTH_a", "c", names[0]).delete(Timestamp(now))
    third = replicator.run_once()
    assert (third.suffixes_synced, third.files_sent) == (1, 1)
    with pytest.raises(Exception) as info:
        _read(theirs, node["device"], names[0])
    assert type(info.value).__name__ == "DiskFileDeleted"


def test_handoff_is_drained_to_primaries_then_removed(tmp_path, remote):
    node, remote_root = remote
    replicator = _replicator(tmp_path, [node])  # this device is not a primary
    manager = replicator.managers[0]
    theirs = FsDiskFileManager(str(remote_root), CLUSTER.hasher)
    now = time.time()
    _write(manager, "sda", "o", b"on a handoff", now - 5)
    _write(theirs, node["device"], "p", b"already home", now - 5)
    stats = replicator.run_once()
    assert (stats.handoffs, stats.handoffs_removed, stats.files_sent) == (1, 1, 1)
    assert _read(theirs, node["device"], "o")[0] == b"on a handoff"
    assert manager.list_partitions("sda") == []


def test_handoff_stays_while_a_primary_is_down(tmp_path, remote):
    node, _root = remote
    dead = {"ip": "127.0.0.1", "port": 9, "device": "sdc"}
    replicator = _replicator(tmp_path, [node, dead], conn_timeout="0.2")
    manager = replicator.managers[0]
    _write(manager, "sda", "o", b"keep me", time.time())
    stats = replicator.run_once()
    assert stats.failures == 1 and stats.handoffs_removed == 0
    assert _read(manager, "sda", "o")[0] == b"keep me"


@pytest.mark.parametrize("absence", ["unmounted", "down"])
def test_absent_primary_s_replica_goes_to_the_next_handoff_that_takes_it(tmp_path, remote,
                                                                          absence):
    node, remote_root = remote
    me = {"ip": "127.0.0.1", "port": 1, "device": "sda"}
    if absence == "unmounted":  # its server answers 507 for a device it lacks
        absent = dict(node, device=node["device"] + "-unmounted")
    else:
        absent = {"ip": "127.0.0.1", "port": 9, "device": "sdc"}
    spare = dict(node, device=node["device"] + "-spare")
    (remote_root / spare["device"]).mkdir()
    dead_spare = {"ip": "127.0.0.1", "port": 9, "device": "sdz"}
    replicator = _replicator(tmp_path, [me, node, absent], handoffs=[me, dead_spare, spare],
                             conn_timeout="0.2")
    manager = replicator.managers[0]
    theirs = FsDiskFileManager(str(remote_root), CLUSTER.hasher)
    for i in range(3):
        _write(manager, "sda", "o%d" % i, b"body %d" % i, time.time())
    stats = replicator.run_once()
    assert (stats.unavailable, stats.handoff_pushes) == (1, 1)
    for i in range(3):
        assert _read(theirs, node["device"], "o%d" % i)[0] == b"body %d" % i
        assert _read(theirs, spare["device"], "o%d" % i)[0] == b"body %d" % i
    again = replicator.run_once()  # still away: the spare is kept up to date, nothing moves
    assert (again.unavailable, again.handoff_pushes, again.files_sent) == (1, 1, 0)


def test_a_primary_that_answers_but_fails_gets_no_handoff(tmp_path, remote, recorder):
    node, remote_root = remote
    me = {"ip": "127.0.0.1", "port": 1, "device": "sda"}
    spare = dict(node, device=node["device"] + "-spare")
    (remote_root / spare["device"]).mkdir()
    confused = {"ip": "127.0.0.1", "port": recorder.port, "device": "sdb"}  # answers 501
    replicator = _replicator(tmp_path, [me, confused], handoffs=[spare])
    _write(replicator.managers[0], "sda", "o", b"x", time.time())
    stats = replicator.run_once()
    assert stats.failures == 1 and (stats.unavailable, stats.handoff_pushes) == (0, 0)


def test_bandwidth_limit_is_honoured(tmp_path, remote):
    node, _root = remote
    me = {"ip": "127.0.0.1", "port": 1, "device": "sda"}
    replicator = _replicator(tmp_path, [me, node], max_bytes_per_second="200000")
    _write(replicator.managers[0], "sda", "big", b"x" * 100000, time.time())
    began = time.monotonic()
    stats = replicator.run_once()
    assert stats.bytes_sent == 100000
    assert time.monotonic() - began >= 0.45
