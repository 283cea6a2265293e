"""The object updater delivers async pendings, newest first, keeping failures."""
import pytest

from objstore.common.cluster_config import ClusterConfig
from objstore.common.timestamp import Timestamp
from objstore.common.storage_policy import PolicyCollection, StoragePolicy
from objstore.obj.diskfile import (AsyncUpdate, ContainerNode, DiskFileRouter,
                                   FsDiskFileManager, MemDiskFileManager)
from objstore.obj.updater import ObjectUpdater

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")
HASHER = CLUSTER.hasher


POLICIES = PolicyCollection([StoragePolicy(index=0, name="gold", default=True),
                             StoragePolicy(index=1, name="silver")])


@pytest.fixture(params=["fs", "mem"])
def managers(request, tmp_path):
    if request.param == "fs":
        (tmp_path / "sda").mkdir()
        (tmp_path / "sdb").mkdir()
        return DiskFileRouter(POLICIES, lambda policy: FsDiskFileManager(
            str(tmp_path), HASHER, policy=policy))
    return DiskFileRouter(POLICIES, lambda policy: MemDiskFileManager(
        HASHER, devices=["sda", "sdb"], policy=policy))


@pytest.fixture
def manager(managers):
    return managers[0]


def _update(when, ports, op="PUT", obj="o", policy=0):
    headers = {"X-Timestamp": Timestamp(when).internal, "X-Trans-Id": "tx-orig",
               "X-Backend-Storage-Policy-Index": str(policy)}
    if op == "PUT":
        headers.update({"X-Size": "3", "X-Content-Type": "text/plain", "X-Etag": "e"})
    return AsyncUpdate(op=op, account="AUTH_a", container="c", obj=obj, headers=headers,
                       nodes=[ContainerNode("127.0.0.1", port, "sdc", "9") for port in ports],
                       policy_index=policy)


def _updater(tmp_path, managers):
    return ObjectUpdater(CLUSTER, {"devices": str(tmp_path), "node_timeout": "1",
                                   "conn_timeout": "0.5"}, managers=managers)


def test_delivers_and_removes(tmp_path, managers, recorder):
    manager = managers[0]
    manager.save_async_update("sda", _update(1, [recorder.port]))
    managers[1].save_async_update("sdb", _update(1, [recorder.port], obj="p", policy=1))
    stats = _updater(tmp_path, managers).run_once()
    assert (stats.found, stats.successes, stats.failures) == (2, 2, 0)
    seen = sorted((r[0], r[1], r[2]["X-Backend-Storage-Policy-Index"])
                  for r in recorder.requests)
    assert seen == [("PUT", "/sdc/9/AUTH_a/c/o", "0"), ("PUT", "/sdc/9/AUTH_a/c/p", "1")]
    assert recorder.requests[0][2]["X-Trans-Id"] == "tx-orig"
    assert list(manager.iter_async_updates("sda")) == []
    assert list(managers[1].iter_async_updates("sdb")) == []


def test_only_newest_update_per_object_is_sent(tmp_path, managers, manager, recorder):
    manager.save_async_update("sda", _update(1, [recorder.port]))
    manager.save_async_update("sda", _update(3, [recorder.port], op="DELETE"))
    manager.save_async_update("sda", _update(2, [recorder.port]))
    stats = _updater(tmp_path, managers).run_once()
    assert stats.found == 1 and stats.successes == 1
    assert [(r[0], r[2]["X-Timestamp"]) for r in recorder.requests] == [
        ("DELETE", Timestamp(3).internal)]
    assert list(manager.iter_async_updates("sda")) == []


def test_failures_stay_and_partial_success_is_remembered(tmp_path, managers, manager, recorder,
                                                         dead_port):
    manager.save_async_update("sda", _update(1, [recorder.port, dead_port.port]))
    updater = _updater(tmp_path, managers)
    stats = updater.run_once()
    assert (stats.found, stats.successes, stats.failures) == (1, 0, 1)
    left = list(manager.iter_async_updates("sda"))
    assert [n.port for n in left[0].nodes] == [dead_port.port]
    # the next pass only talks to the node still missing the update
    late = dead_port.start_recorder()
    stats = updater.run_once()
    assert stats.successes == 1 and len(recorder.requests) == 1 and len(late.requests) == 1
    assert list(manager.iter_async_updates("sda")) == []


def test_error_status_counts_as_failure(tmp_path, managers, manager, recorder):
    recorder.status = 507
    manager.save_async_update("sda", _update(1, [recorder.port]))
    stats = _updater(tmp_path, managers).run_once()
    assert stats.failures == 1
    assert len(list(manager.iter_async_updates("sda"))) == 1


class _FakeRing:
    def __init__(self, port):
        self.port = port
        self.asked = []

    def get_nodes(self, account, container=None, obj=None):
        self.asked.append((account, container))
        return 7, [{"ip": "127.0.0.1", "port": self.port, "device": "sdz"}]


def test_pending_without_nodes_is_routed_by_the_container_ring(tmp_path, managers, manager,
                                                                recorder):
    manager.save_async_update("sda", _update(1, []))
    ring = _FakeRing(recorder.port)
    updater = ObjectUpdater(CLUSTER, {"devices": str(tmp_path)}, managers=managers,
                            container_ring=ring)
    stats = updater.run_once()
    assert stats.successes == 1 and stats.unroutable == 0
    assert ring.asked == [("AUTH_a", "c")]
    assert [(r[0], r[1]) for r in recorder.requests] == [("PUT", "/sdz/7/AUTH_a/c/o")]
    assert list(manager.iter_async_updates("sda")) == []


def test_pending_without_nodes_and_without_ring_is_kept(tmp_path, managers, manager):
    manager.save_async_update("sda", _update(1, []))
    updater = ObjectUpdater(CLUSTER, {"devices": str(tmp_path), "swift_dir": str(tmp_path)},
                            managers=managers)
    stats = updater.run_once()
    assert stats.unroutable == 1
    assert len(list(manager.iter_async_updates("sda"))) == 1


def test_default_manager_reads_devices_dir(tmp_path, recorder):
    (tmp_path / "sda").mkdir()
    FsDiskFileManager(str(tmp_path), HASHER).save_async_update("sda", _update(1, [recorder.port]))
    stats = ObjectUpdater(CLUSTER, {"devices": str(tmp_path)}).run_once()
    assert stats.successes == 1
