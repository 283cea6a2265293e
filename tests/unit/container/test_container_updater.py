"""Container updater: reports changed containers to a majority of account servers."""
import socket
import threading
import wsgiref.simple_server

import pytest

from objstore.common.cluster_config import ClusterConfig
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker
from objstore.container.updater import ContainerUpdater, needs_report
from objstore.ring.builder import RingBuilder

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


class Recorder:
    def __init__(self):
        self.requests = []
        self.status = "201 Created"

    def __call__(self, environ, start_response):
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], headers))
        start_response(self.status, [("Content-Length", "0")])
        return [b""]


class _Quiet(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def account_servers():
    servers = []
    for _ in range(2):
        recorder = Recorder()
        server = wsgiref.simple_server.make_server("127.0.0.1", 0, recorder,
                                                   handler_class=_Quiet)
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append((recorder, server))
    yield [(rec, srv.server_address[1]) for rec, srv in servers]
    for _rec, srv in servers:
        srv.shutdown()
        srv.server_close()


def dead_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class FakeRing:
    """The Ring interface the updater uses: get_nodes(account) -> (part, nodes)."""

    def __init__(self, ports):
        self.ports = ports

    def get_nodes(self, account, container=None, obj=None):
        return 11, [{"ip": "127.0.0.1", "port": port, "device": "sd%d" % i}
                    for i, port in enumerate(self.ports)]


def make_container(tmp_path, name, objects=()):
    device = tmp_path / "sda"
    device.mkdir(exist_ok=True)
    broker = ContainerBroker.for_container(CLUSTER.hasher, str(device), 4, "AUTH_u", name)
    broker.initialize(1000, account="AUTH_u", container=name)
    for i, (obj, size) in enumerate(objects):
        broker.put_object(obj, 1001 + i, size, "t", "e")
    return broker


def updater(tmp_path, ports):
    return ContainerUpdater(CLUSTER, {"devices": str(tmp_path), "mount_check": "false",
                                      "node_timeout": "2", "concurrency": "2"},
                            account_ring=FakeRing(ports))


def test_reports_changed_containers_once(tmp_path, account_servers):
    (rec1, port1), (rec2, port2) = account_servers
    broker = make_container(tmp_path, "c1", [("a", 5), ("b", 7)])
    make_container(tmp_path, "c2")
    daemon = updater(tmp_path, [port1, port2, dead_port()])
    stats = daemon.run_once()
    assert stats["checked"] == 2 and stats["reported"] == 2
    by_path = {path: headers for _m, path, headers in rec1.requests}
    headers = by_path["/sd0/11/AUTH_u/c1"]
    assert headers["X-Object-Count"] == "2" and headers["X-Bytes-Used"] == "12"
    assert headers["X-Put-Timestamp"] == Timestamp(1000).internal
    assert "/sd1/11/AUTH_u/c2" in {path for _m, path, _h in rec2.requests}
    assert not needs_report(broker.get_info())
    # Nothing changed: nothing sent.
    assert daemon.run_once()["unchanged"] == 2
    assert len(rec1.requests) == 2
    # An object row changes the stats: only that container is reported again.
    broker.put_object("c", 1010, 1, "t", "e")
    stats = daemon.run_once()
    assert stats["reported"] == 1 and stats["unchanged"] == 1
    assert rec1.requests[-1][2]["X-Object-Count"] == "3"


def test_no_majority_means_retry_next_pass(tmp_path, account_servers):
    (rec1, port1), (rec2, port2) = account_servers
    rec2.status = "500 Internal Server Error"
    broker = make_container(tmp_path, "c1", [("a", 5)])
    daemon = updater(tmp_path, [port1, port2, dead_port()])
    assert daemon.run_once()["failed"] == 1
    assert needs_report(broker.get_info())
    rec2.status = "204 No Content"
    assert daemon.run_once()["reported"] == 1
    assert not needs_report(broker.get_info())


def test_deleted_container_is_reported(tmp_path, account_servers):
    (rec1, port1), (_rec2, port2) = account_servers
    broker = make_container(tmp_path, "gone")
    broker.update_delete_timestamp(2000)
    daemon = updater(tmp_path, [port1, port2])
    assert daemon.run_once()["reported"] == 1
    assert rec1.requests[0][2]["X-Delete-Timestamp"] == Timestamp(2000).internal


def test_uses_account_ring_file(tmp_path, account_servers):
    (rec1, port1), (rec2, port2) = account_servers
    builder = RingBuilder(4, 2, 0)
    for i, port in enumerate([port1, port2]):
        builder.add_dev({"region": 1, "zone": i + 1, "ip": "127.0.0.1", "port": port,
                         "device": "sd%d" % i, "weight": 1.0})
    builder.rebalance(seed=1)
    swift_dir = tmp_path / "etc"
    swift_dir.mkdir()
    builder.write_ring(str(swift_dir / "account.ring.gz"))
    make_container(tmp_path, "c1", [("a", 1)])
    daemon = ContainerUpdater(CLUSTER, {"devices": str(tmp_path), "swift_dir": str(swift_dir)})
    assert daemon.run_once()["reported"] == 1
    assert len(rec1.requests) == 1 and len(rec2.requests) == 1


def _age_files(broker, seconds=10):
    """Make the database's files look written ``seconds`` ago."""
    import os
    import time
    then = time.time() - seconds
    for path in (broker.db_file, broker.db_file + "-wal"):
        if os.path.exists(path):
            os.utime(path, (then, then))


def test_a_database_whose_files_did_not_change_is_not_opened_again(tmp_path, account_servers,
                                                                   monkeypatch):
    (rec1, port1), (_rec2, port2) = account_servers
    quiet = make_container(tmp_path, "quiet", [("a", 5)])
    busy = make_container(tmp_path, "busy", [("a", 5)])
    daemon = updater(tmp_path, [port1, port2])
    assert daemon.run_once()["reported"] == 2
    _age_files(quiet)
    _age_files(busy)
    assert daemon.run_once()["unchanged"] == 2      # read, found up to date, remembered
    opened = []
    real_get_info = ContainerBroker.get_info
    monkeypatch.setattr(ContainerBroker, "get_info",
                        lambda self: opened.append(self.db_file) or real_get_info(self))
    assert daemon.run_once()["unchanged"] == 2
    assert opened == []
    # a row written since: that database is read and reported again, the other is not
    busy.put_object("b", 1010, 1, "t", "e")
    stats = daemon.run_once()
    assert stats["reported"] == 1 and stats["unchanged"] == 1
    assert opened == [busy.db_file]
    assert rec1.requests[-1][2]["X-Object-Count"] == "2"


def test_a_database_written_just_now_is_always_read(tmp_path, account_servers, monkeypatch):
    (_rec1, port1), (_rec2, port2) = account_servers
    make_container(tmp_path, "fresh")
    daemon = updater(tmp_path, [port1, port2])
    daemon.run_once()
    opened = []
    real_get_info = ContainerBroker.get_info
    monkeypatch.setattr(ContainerBroker, "get_info",
                        lambda self: opened.append(self.db_file) or real_get_info(self))
    # its files changed within the last two seconds: no signature is trusted
    assert daemon.run_once()["unchanged"] == 1
    assert daemon.run_once()["unchanged"] == 1
    assert len(opened) == 2
