"""The expirer's pass against real object servers (in-process), one of them older than EXPIRE."""
import os

from webob import Request
from webob.headers import ResponseHeaders

from objstore.common.backend_client import BackendResponse, quote_backend_path
from objstore.common.expiring_queue import queue_row
from objstore.common.storage_app import StorageServerApp
from objstore.common.timestamp import Timestamp
from objstore.obj.expirer import ObjectExpirer
from objstore.obj.server import ObjectServer
from tests.unit.obj.test_object_expirer import CLUSTER, NOW, FakeNodes, FakeRing, _merges, \
    _queue, _row_removals

DUE = NOW - 5


class OldObjectServer(ObjectServer):
    """An object server from before the EXPIRE verb."""

    methods = StorageServerApp.methods + ("REPLICATE", "SSYNC")


class ObjectRing:
    """Three replicas, each device on its own object server."""

    def get_nodes(self, account, container=None, obj=None):
        return 3, [{"ip": "127.0.0.1", "port": 6010 + i, "device": "sd%d" % i}
                   for i in (1, 2, 3)]


def _servers(tmp_path):
    servers = {}
    for i in (1, 2, 3):
        (tmp_path / str(i) / ("sd%d" % i)).mkdir(parents=True)
        kind = OldObjectServer if i == 3 else ObjectServer
        servers[6010 + i] = kind(CLUSTER, {"devices": str(tmp_path / str(i))})
    return servers


def _store(server, device, name, delete_at=None, tombstone_at=None):
    df = server.managers[0].get_diskfile(device, "3", "AUTH_a", "c", name)
    if tombstone_at is not None:
        df.delete(Timestamp(tombstone_at))
        return
    metadata = {"X-Timestamp": Timestamp(1).internal, "Content-Type": "text/plain",
                "Content-Length": "1", "ETag": "9dd4e461268c8034f5c8564e155c67a6",
                "X-Delete-At": str(delete_at)}
    with df.writer(1) as writer:
        writer.write(b"x")
        writer.put(metadata)


def _files(server, device, name):
    df = server.managers[0].get_diskfile(device, "3", "AUTH_a", "c", name)
    return sorted(os.listdir(df.hash_dir)) if os.path.isdir(df.hash_dir) else []


def test_a_pass_over_new_and_old_object_servers(tmp_path):
    servers = _servers(tmp_path)
    devices = {port: "sd%d" % (port - 6010) for port in servers}
    for port, server in servers.items():
        _store(server, devices[port], "expired", delete_at=DUE)
        _store(server, devices[port], "postponed", delete_at=NOW + 500)
        _store(server, devices[port], "told before", tombstone_at=DUE)
        if port != 6013:
            _store(server, devices[port], "missed one", delete_at=DUE)
    nodes = FakeNodes()   # the account and container servers
    rows = [queue_row(DUE, "AUTH_a", "c", name)
            for name in ("expired", "postponed", "told before", "missed one")]
    _queue(nodes, sorted(rows))
    sent = []

    def request(node, part, method, path, headers, query_string="", body=b""):
        server = servers.get(node["port"])
        if server is None:
            return nodes.request(node, part, method, path, headers, query_string, body)
        sent.append((node["port"], method))
        req = Request.blank(quote_backend_path(node["device"], part, path), method=method,
                            headers=dict(headers), body=body)
        resp = req.get_response(server)
        return BackendResponse(resp.status_int, resp.status.split(" ", 1)[1],
                               ResponseHeaders(resp.headerlist), resp.body)

    expirer = ObjectExpirer(CLUSTER, {"concurrency": "4"},
                            account_ring=FakeRing(nodes.port, "a", 1),
                            container_ring=FakeRing(nodes.port, "c", 2),
                            object_ring_for=lambda index: ObjectRing(), clock=lambda: NOW)
    expirer._request = request
    stats = expirer.run_once()
    assert (stats.due, stats.expired, stats.skipped, stats.failures) == (4, 3, 1, 0)
    # the new servers took one EXPIRE each; the old one answered 405, then single DELETEs
    assert sorted(sent) == [(6011, "EXPIRE"), (6012, "EXPIRE")] + [(6013, "DELETE")] * 4 + [
        (6013, "EXPIRE")]
    tombstone = Timestamp(DUE).internal + ".ts"
    for port, server in servers.items():
        device = devices[port]
        assert _files(server, device, "expired") == [tombstone]
        assert _files(server, device, "told before") == [tombstone]
        assert _files(server, device, "postponed")[0].endswith(".data")
        assert _files(server, device, "missed one") == ([] if port == 6013 else [tombstone])
    listed = {item["name"] for _path, items in _merges(nodes, "AUTH_a", "c") for item in items}
    assert listed == {"expired", "told before", "missed one"}   # the postponed stays listed
    assert sorted(name for _p, names in _row_removals(nodes) for name in names) == sorted(
        rows * 3)
