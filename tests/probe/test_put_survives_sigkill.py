"""A PUT answered 201 is on disk: killing every storage server right after the
answer loses nothing.

The proxy answers 201 only once a quorum of object servers has written,
fsynced and renamed the object into place; the backend connections it keeps
alive between requests must not change that.  Each PUT here is followed at
once by a SIGKILL of every account, container and object server (no
graceful shutdown, nothing flushed after the answer); after a restart every
acknowledged object reads back whole, and a quorum of its primaries hold it;
an acknowledged overwrite reads back as the new bytes.
"""
import hashlib
import os
import signal
import uuid

from objstore.common.backend_client import backend_request

from tests.probe.test_updaters_heal import _primaries

OBJECTS = 2


def _storage_pids(cluster):
    names = {spec.name for spec in cluster.specs()
             if not spec.is_daemon and spec.kind in ("object", "container", "account")}
    return [row["pid"] for row in cluster.status() if row["name"] in names and row["up"]]


def _kill_every_storage_server(cluster):
    pids = _storage_pids(cluster)
    assert pids, "no storage server is running"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass            # reaped by the supervisor already
    cluster.reap()
    return pids


def _restart(cluster):
    for node in sorted({spec.node for spec in cluster.specs() if spec.node}):
        cluster.start_node(node)


def test_acknowledged_put_survives_sigkill_of_every_storage_server(cluster, conn):
    container = "sigkill-%s" % uuid.uuid4().hex[:8]
    conn.put_container(container)
    written = {}
    for number in range(OBJECTS):
        name = "obj-%d" % number
        body = os.urandom(4096 + number)
        etag = conn.put_object(container, name, body)
        # Straight after the 201: nothing on the storage side gets to run on.
        killed = _kill_every_storage_server(cluster)
        assert len(killed) >= 3
        assert _storage_pids(cluster) == []
        written[name] = (body, etag)
        _restart(cluster)

    _assert_acknowledged(cluster, conn, container, written)

    # An overwrite acknowledged just before the kill: the new bytes, never the old.
    name = "obj-0"
    body = os.urandom(5000)
    etag = conn.put_object(container, name, body)
    _kill_every_storage_server(cluster)
    _restart(cluster)
    _assert_acknowledged(cluster, conn, container, {name: (body, etag)})


def _assert_acknowledged(cluster, conn, container, written):
    """Every object reads back whole through the proxy; a quorum of primaries hold it."""
    account = conn.get_auth()[0].rstrip("/").rsplit("/", 1)[1]
    for name, (body, etag) in written.items():
        headers, got = conn.get_object(container, name, headers={"X-Newest": "true"})
        assert got == body
        assert headers["etag"] == etag == hashlib.md5(body).hexdigest()
        part, nodes = _primaries(cluster, "object", "/%s/%s/%s" % (account, container, name))
        holding = 0
        for node in nodes:
            resp = backend_request(node["ip"], node["port"], node["device"], part, "GET",
                                   "/%s/%s/%s" % (account, container, name))
            if resp.status == 200 and resp.body == body:
                holding += 1
        assert holding >= len(nodes) // 2 + 1, (name, holding)
