"""Account reaper decisions that need no cluster: which accounts, which node, retries.

The whole reap (objects, containers, account rows) runs against real
processes in tests/probe/test_db_durability.py.
"""
import socket
import time

from objstore.account.backend import AccountBroker
from objstore.account.reaper import AccountReaper
from objstore.common.cluster_config import ClusterConfig

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")
PART = 5


def dead_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class FakeRing:
    def __init__(self, devices):
        self.devices = devices

    def get_part_nodes(self, part):
        return [dict(dev, index=i) for i, dev in enumerate(self.devices)]

    def get_nodes(self, *names):
        return PART, self.get_part_nodes(PART)


def setup(tmp_path, deleted=True, containers=()):
    (tmp_path / "d1").mkdir()
    broker = AccountBroker.for_account(CLUSTER.hasher, str(tmp_path / "d1"), PART, "AUTH_x")
    broker.initialize(1000, account="AUTH_x")
    for name in containers:
        broker.put_container(name, 1001, 0, 2, 20)
    if deleted:
        broker.update_delete_timestamp(2000)
    return broker


def reaper(tmp_path, first_device="d1", **conf):
    dead = dead_port()
    devices = [{"ip": "127.0.0.1", "port": dead, "device": first_device},
               {"ip": "127.0.0.1", "port": dead, "device": "d9"}]
    ring = FakeRing(devices)
    return AccountReaper(CLUSTER, {"devices": str(tmp_path), "mount_check": "false",
                                   "conn_timeout": "0.2", "bind_port": str(dead), **conf},
                         rings={"account": ring, "container": ring, "object": ring})


def test_live_accounts_are_left_alone(tmp_path):
    setup(tmp_path, deleted=False, containers=["c"])
    stats = reaper(tmp_path).run_once()
    assert (stats.accounts_seen, stats.containers_deleted, stats.failures) == (0, 0, 0)


def test_only_the_first_primary_reaps(tmp_path):
    setup(tmp_path, containers=["c"])
    stats = reaper(tmp_path, first_device="d0").run_once()
    assert stats.accounts_seen == 0


def test_unreachable_container_servers_leave_the_account_for_next_pass(tmp_path):
    broker = setup(tmp_path, containers=["c"])
    stats = reaper(tmp_path).run_once()
    assert (stats.accounts_seen, stats.failures, stats.accounts_emptied) == (1, 1, 0)
    assert [entry.name for entry in broker.list_containers_iter(10)] == ["c"]


def test_an_account_without_containers_is_already_empty(tmp_path):
    setup(tmp_path)
    stats = reaper(tmp_path).run_once()
    assert (stats.accounts_seen, stats.accounts_emptied, stats.failures) == (1, 1, 0)


def test_delay_reaping_leaves_a_recent_delete_alone(tmp_path):
    broker = setup(tmp_path, containers=["c"])
    broker.update_delete_timestamp(time.time() - 60)  # deleted a minute ago
    stats = reaper(tmp_path, delay_reaping="3600").run_once()
    assert (stats.accounts_seen, stats.accounts_delayed, stats.failures) == (1, 1, 0)
    stats = reaper(tmp_path, delay_reaping="30").run_once()
    assert (stats.accounts_delayed, stats.failures) == (0, 1)  # its turn: servers are down
