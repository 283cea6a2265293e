"""Group commit: concurrent row merges to one database share a transaction, fail alone."""
import pytest

from objstore.common.concurrency import GreenPile
from objstore.common.db_group_commit import GroupCommit
from objstore.common.path_hash import PathHasher
from objstore.container.backend import ContainerBroker

HASHER = PathHasher.from_salt("test-prefix", "test-suffix")


def broker_for(tmp_path, group):
    (tmp_path / "sda").mkdir(exist_ok=True)
    return ContainerBroker.for_container(HASHER, str(tmp_path / "sda"), 7, "AUTH_test", "c",
                                         group_commit=group)


def row(name, timestamp, size=1):
    return {"name": name, "created_at": timestamp, "size": size, "content_type": "text/plain",
            "etag": "e", "deleted": 0, "storage_policy_index": 0}


def test_concurrent_merges_share_one_commit_and_each_gets_its_own_result(tmp_path):
    group = GroupCommit()
    broker_for(tmp_path, None).initialize(1000, account="AUTH_test", container="c")
    pile = GreenPile(20)
    for i in range(20):
        # every request opens its own broker, as the server does
        pile.spawn(broker_for(tmp_path, group).merge_items, [row("o%02d" % (i % 10), 2000 + i)])
    assert sorted(pile) == [1] * 20
    assert group.jobs == 20 and group.commits < 5
    rows = broker_for(tmp_path, None).get_items_since(-1, 100)
    assert sorted(r["name"] for r in rows) == ["o%02d" % i for i in range(10)]
    # the newer of the two writes of each name won
    assert {r["created_at"] for r in rows} == {
        broker_for(tmp_path, None).get_object_row("o%02d" % i)["created_at"] for i in range(10)}
    assert broker_for(tmp_path, None).get_object_row("o03")["created_at"].startswith("0000002013")


def test_a_bad_merge_fails_alone(tmp_path):
    group = GroupCommit()
    broker_for(tmp_path, None).initialize(1000, account="AUTH_test", container="c")
    pile = GreenPile(3)
    pile.spawn(broker_for(tmp_path, group).merge_items, [row("good1", 2000)])
    pile.spawn(broker_for(tmp_path, group).merge_items, [row("good2", 2000), row("bad", 2000, -1)])
    pile.spawn(broker_for(tmp_path, group).merge_items, [row("good3", 2000)])
    results = []
    for _ in range(3):
        try:
            results.append(next(pile))
        except ValueError as err:
            results.append(str(err))
    assert results == [1, "object size must not be negative", 1]
    assert group.commits == 1
    broker = broker_for(tmp_path, None)
    # the failed request's rows are all rolled back, the others are kept
    assert broker.get_object_row("good2") is None and broker.get_object_row("bad") is None
    assert broker.get_info()["object_count"] == 2


def test_a_failed_transaction_fails_every_member(tmp_path):
    group = GroupCommit()
    pile = GreenPile(2)
    for name in ("a", "b"):   # no database: the leader's transaction cannot start
        pile.spawn(broker_for(tmp_path, group).merge_items, [row(name, 2000)])
    errors = []
    for _ in range(2):
        with pytest.raises(Exception) as info:
            next(pile)
        errors.append(type(info.value).__name__)
    assert errors == ["DatabaseNotFound", "DatabaseNotFound"]
    assert group.commits == 0
