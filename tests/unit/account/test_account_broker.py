"""AccountBroker: container rows, newest-wins merge, totals per policy, listings."""
import random

from objstore.account.backend import AccountBroker
from objstore.common.listing_format import ContainerEntry, SubdirEntry
from objstore.common.path_hash import PathHasher
from objstore.common.timestamp import Timestamp

HASHER = PathHasher.from_salt("test-prefix", "test-suffix")


def make_broker(tmp_path, account="AUTH_test") -> AccountBroker:
    device = tmp_path / "sda"
    device.mkdir(exist_ok=True)
    broker = AccountBroker.for_account(HASHER, str(device), 3, account)
    broker.initialize(1000, account=account)
    return broker


def totals(broker):
    info = broker.get_info()
    return info["container_count"], info["object_count"], info["bytes_used"]


def test_put_container_totals_and_policies(tmp_path):
    broker = make_broker(tmp_path)
    assert "/accounts/3/" in broker.db_file
    broker.put_container("c1", 1001, 0, 3, 30, storage_policy_index=0)
    broker.put_container("c2", 1002, 0, 5, 50, storage_policy_index=1)
    assert totals(broker) == (2, 8, 80)
    broker.put_container("c1", 1001, 0, 4, 44, storage_policy_index=0)   # new stats report
    assert totals(broker) == (2, 9, 94)
    assert broker.get_policy_stats() == {
        0: {"container_count": 1, "object_count": 4, "bytes_used": 44},
        1: {"container_count": 1, "object_count": 5, "bytes_used": 50}}
    broker.put_container("c1", 0, 1003, 0, 0)                           # container deleted
    assert totals(broker) == (1, 5, 50)
    assert broker.get_container_row("c1")["deleted"] == 1
    broker.put_container("c1", 1000, 0, 9, 9)                           # stale put report
    assert totals(broker) == (1, 5, 50)
    broker.put_container("c1", 1004, 0, 1, 1)                           # re-created
    assert totals(broker) == (2, 6, 51)


def test_merge_order_independent(tmp_path):
    rng = random.Random(7)
    rows = []
    for i in range(50):
        name = "c%d" % rng.randrange(10)
        if rng.random() < 0.3:
            rows.append({"name": name, "put_timestamp": "0",
                         "delete_timestamp": Timestamp(1000 + i).internal,
                         "object_count": 0, "bytes_used": 0, "storage_policy_index": 0})
        else:
            rows.append({"name": name, "put_timestamp": Timestamp(1000 + i).internal,
                         "delete_timestamp": "0", "object_count": rng.randrange(5),
                         "bytes_used": rng.randrange(100),
                         "storage_policy_index": rng.choice([0, 1])})
    states = []
    for attempt in range(4):
        broker = make_broker(tmp_path, "AUTH_%d" % attempt)
        shuffled = rows[:]
        rng.shuffle(shuffled)
        for row in shuffled[:25]:
            broker.merge_items([row])
        broker.merge_items(shuffled[25:])
        assert broker.merge_items(rows) == 0
        state = sorted(tuple(r[k] for k in ("name", "put_timestamp", "delete_timestamp",
                                            "object_count", "bytes_used", "deleted",
                                            "storage_policy_index"))
                       for r in broker.get_items_since(-1, 1000))
        states.append((state, broker.get_policy_stats(), totals(broker)))
    assert all(s == states[0] for s in states)
    live = [r for r in states[0][0] if not r[5]]
    assert states[0][2] == (len(live), sum(r[3] for r in live), sum(r[4] for r in live))


def test_account_delete_and_reclaim(tmp_path):
    broker = make_broker(tmp_path)
    broker.put_container("gone", 1001, 1002, 0, 0)
    broker.put_container("kept", 1001, 0, 0, 0)
    assert broker.reclaim(1003) == 1
    assert broker.get_container_row("gone") is None
    assert not broker.is_deleted()
    broker.update_delete_timestamp(1005)
    assert broker.is_deleted()


def test_listing(tmp_path):
    broker = make_broker(tmp_path)
    for i, name in enumerate(["a", "a-1", "a-2", "b", "c-x-1"]):
        broker.put_container(name, 1001 + i, 0, i, i * 10)
    broker.put_container("b", 0, 2000, 0, 0)
    out = broker.list_containers_iter(100)
    assert [e.name for e in out] == ["a", "a-1", "a-2", "c-x-1"]
    assert out[1] == ContainerEntry("a-1", 1, 10, Timestamp(1002).internal)
    assert broker.list_containers_iter(100, delimiter="-") == [
        ContainerEntry("a", 0, 0, Timestamp(1001).internal), SubdirEntry("a-"),
        SubdirEntry("c-")]
    assert [e.name for e in broker.list_containers_iter(2, reverse=True)] == ["c-x-1", "a-2"]
    assert [e.name for e in broker.list_containers_iter(100, prefix="a-", marker="a-1")] == \
        ["a-2"]
    assert [e.name for e in broker.list_containers_iter(100, end_marker="a-2")] == ["a", "a-1"]
