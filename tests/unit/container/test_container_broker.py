"""ContainerBroker: rows, exact stats, newest-wins merging and listings."""
import random

import pytest

from objstore.common.db import DatabaseAlreadyExists
from objstore.common.listing_format import ObjectEntry, SubdirEntry
from objstore.common.path_hash import PathHasher
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker

HASHER = PathHasher.from_salt("test-prefix", "test-suffix")


def make_broker(tmp_path, name="c", policy=0, put_ts=1000) -> ContainerBroker:
    device = tmp_path / "sda"
    device.mkdir(exist_ok=True)
    broker = ContainerBroker.for_container(HASHER, str(device), 7, "AUTH_test", name)
    broker.initialize(put_ts, account="AUTH_test", container=name,
                      storage_policy_index=policy)
    return broker


def names(entries):
    return [e.name for e in entries]


def test_initialize_places_file_and_refuses_second_create(tmp_path):
    broker = make_broker(tmp_path)
    assert broker.db_file.startswith(str(tmp_path / "sda" / "containers" / "7"))
    assert broker.db_file.endswith(".db")
    info = broker.get_info()
    assert info["account"] == "AUTH_test" and info["container"] == "c"
    assert info["put_timestamp"] == Timestamp(1000).internal
    assert info["object_count"] == 0 and info["bytes_used"] == 0
    # Nothing left behind in tmp.
    assert list((tmp_path / "sda" / "tmp").iterdir()) == []
    with pytest.raises(DatabaseAlreadyExists):
        broker.initialize(1001, account="AUTH_test", container="c")


def test_stats_exact_through_overwrites_and_deletes(tmp_path):
    broker = make_broker(tmp_path)
    broker.put_object("a", 1001, 10, "text/plain", "e1")
    broker.put_object("b", 1001, 5, "text/plain", "e2")
    assert (broker.get_info()["object_count"], broker.get_info()["bytes_used"]) == (2, 15)
    broker.put_object("a", 1002, 100, "text/plain", "e3")      # overwrite grows
    assert (broker.get_info()["object_count"], broker.get_info()["bytes_used"]) == (2, 105)
    broker.put_object("a", 1000, 7, "text/plain", "old")        # older: ignored
    assert broker.get_info()["bytes_used"] == 105
    broker.delete_object("b", 1003)
    assert (broker.get_info()["object_count"], broker.get_info()["bytes_used"]) == (1, 100)
    broker.put_object("b", 1002, 9, "text/plain", "late")       # older than the delete
    assert (broker.get_info()["object_count"], broker.get_info()["bytes_used"]) == (1, 100)
    broker.delete_object("zz", 1004)                             # delete of unknown name
    assert broker.get_info()["object_count"] == 1
    broker.delete_object("a", 1001)                              # out-of-order old delete
    assert broker.get_info()["object_count"] == 1
    broker.delete_object("a", 1005)
    assert (broker.get_info()["object_count"], broker.get_info()["bytes_used"]) == (0, 0)
    assert broker.empty()


def _random_rows(rng, count=60):
    rows = []
    for i in range(count):
        name = "obj-%d" % rng.randrange(15)
        deleted = rng.random() < 0.3
        rows.append({"name": name, "created_at": Timestamp(1000 + i).internal,
                     "size": 0 if deleted else rng.randrange(1000),
                     "content_type": "text/plain", "etag": "e%d" % i,
                     "deleted": int(deleted), "storage_policy_index": rng.choice([0, 1])})
    return rows


def _state(broker):
    rows = sorted((r["name"], r["created_at"], r["size"], r["etag"], r["deleted"])
                  for r in broker.get_items_since(-1, 10000))
    return rows, broker.get_policy_stats(), broker.get_info()["object_count"]


def test_merge_is_order_independent_and_idempotent(tmp_path):
    rng = random.Random(42)
    rows = _random_rows(rng)
    states = []
    for attempt in range(4):
        broker = make_broker(tmp_path, name="c%d" % attempt)
        shuffled = rows[:]
        rng.shuffle(shuffled)
        # Half one row at a time, half in a batch, then everything again.
        for row in shuffled[:30]:
            broker.merge_items([row])
        broker.merge_items(shuffled[30:])
        assert broker.merge_items(rows) == 0
        states.append(_state(broker))
    assert all(state == states[0] for state in states)
    # The stats equal a recount of the live rows.
    live = [r for r in states[0][0] if not r[4]]
    stats = states[0][1]
    assert sum(s["object_count"] for s in stats.values()) == len(live)
    assert sum(s["bytes_used"] for s in stats.values()) == sum(r[2] for r in live)


def test_equal_timestamps_pick_same_winner_in_any_order(tmp_path):
    put = {"name": "x", "created_at": "1000.00000", "size": 3, "content_type": "a",
           "etag": "e", "deleted": 0}
    delete = {"name": "x", "created_at": "1000.00000", "size": 0, "content_type": "",
              "etag": "", "deleted": 1}
    first = make_broker(tmp_path, "one")
    first.merge_items([put])
    first.merge_items([delete])
    second = make_broker(tmp_path, "two")
    second.merge_items([delete])
    second.merge_items([put])
    assert first.get_object_row("x")["deleted"] == second.get_object_row("x")["deleted"] == 1


def test_changed_row_gets_new_rowid_for_replication(tmp_path):
    broker = make_broker(tmp_path)
    broker.put_object("a", 1001, 1, "t", "e")
    broker.put_object("b", 1001, 1, "t", "e")
    first_max = broker.get_info()["max_row"]
    broker.put_object("a", 1002, 2, "t", "e")
    newer = broker.get_items_since(first_max, 10)
    assert [r["name"] for r in newer] == ["a"]
    assert broker.get_items_since(-1, 1)[0]["name"] == "b"


def test_sync_points_only_move_forward(tmp_path):
    broker = make_broker(tmp_path)
    assert broker.get_sync("remote") == -1
    broker.merge_syncs([{"remote_id": "remote", "sync_point": 5}])
    broker.merge_syncs([{"remote_id": "remote", "sync_point": 3}])
    assert broker.get_sync("remote") == 5
    broker.merge_items([{"name": "a", "created_at": "1001", "size": 1, "content_type": "t",
                         "etag": "e", "ROWID": 9}], source="peer")
    assert broker.get_sync("peer") == 9
    assert broker.get_sync("remote", incoming=False) == -1


def test_reclaim_removes_only_old_tombstones(tmp_path):
    broker = make_broker(tmp_path)
    broker.delete_object("old", 1001)
    broker.delete_object("new", 2001)
    broker.put_object("live", 1001, 4, "t", "e")
    assert broker.reclaim(2000) == 1
    assert broker.get_object_row("old") is None
    assert broker.get_object_row("new")["deleted"] == 1
    assert broker.get_object_row("live")["deleted"] == 0
    assert broker.get_info()["object_count"] == 1


def test_metadata_newest_wins_per_key_and_empty_deletes(tmp_path):
    broker = make_broker(tmp_path)
    broker.update_metadata({"X-Container-Meta-A": ("1", "1001"),
                            "X-Container-Meta-B": ("b", "1001")})
    broker.update_metadata({"X-Container-Meta-A": ("old", "1000"),
                            "X-Container-Meta-B": ("b2", "1002")})
    meta = broker.metadata
    assert meta["X-Container-Meta-A"][0] == "1"
    assert meta["X-Container-Meta-B"][0] == "b2"
    broker.update_metadata({"X-Container-Meta-A": ("", "1003")})
    assert "X-Container-Meta-A" not in broker.metadata
    # An older value arriving later (replication) does not resurrect the key.
    broker.update_metadata({"X-Container-Meta-A": ("back", "1002")})
    assert "X-Container-Meta-A" not in broker.metadata
    broker.reclaim(1004)
    assert "X-Container-Meta-A" not in broker.get_raw_metadata()
    assert broker.metadata["X-Container-Meta-B"][0] == "b2"


def test_delete_and_recreate_timestamps(tmp_path):
    broker = make_broker(tmp_path)
    assert not broker.is_deleted()
    assert broker.update_delete_timestamp(1001)
    assert broker.is_deleted()
    assert broker.get_info()["status_changed_at"] == Timestamp(1001).internal
    assert not broker.update_put_timestamp(999)
    assert broker.update_put_timestamp(1002)
    assert not broker.is_deleted()
    # A container holding objects is not deleted even if the delete is newer.
    broker.put_object("a", 1003, 1, "t", "e")
    broker.update_delete_timestamp(1004)
    assert not broker.is_deleted()


@pytest.fixture
def listing_broker(tmp_path):
    broker = make_broker(tmp_path)
    for i, name in enumerate(["a", "a/1", "a/2", "a/b/1", "b", "b/1", "c", "c/",
                              "c/x", "d-1", "d-2", "\u00e9", "\U0001f600", "z"]):
        broker.put_object(name, 1001 + i, i, "text/plain", "etag%d" % i)
    broker.delete_object("b", 2000)
    return broker


def test_listing_is_utf8_byte_order_and_skips_deleted(listing_broker):
    all_names = names(listing_broker.list_objects_iter(100))
    assert all_names == sorted(all_names, key=lambda n: n.encode("utf-8"))
    assert "b" not in all_names
    entry = listing_broker.list_objects_iter(1)[0]
    assert isinstance(entry, ObjectEntry)
    assert entry == ObjectEntry("a", Timestamp(1001).internal, 0, "text/plain", "etag0")


def test_plain_rows_are_object_entries_fields(listing_broker):
    for kwargs in ({}, {"delimiter": "/"}, {"path": "a"}, {"reverse": True, "delimiter": "-"}):
        entries = listing_broker.list_objects_iter(100, **kwargs)
        rows = listing_broker.list_objects_iter(100, plain_rows=True, **kwargs)
        assert rows == entries
        assert [type(r) for r in rows] == [
            SubdirEntry if type(e) is SubdirEntry else tuple for e in entries]
        names_only = listing_broker.list_objects_iter(100, names_only=True, **kwargs)
        assert names_only == [e if type(e) is SubdirEntry else (e.name,) for e in entries]


def test_listing_limit_marker_end_marker(listing_broker):
    assert names(listing_broker.list_objects_iter(3)) == ["a", "a/1", "a/2"]
    assert names(listing_broker.list_objects_iter(3, marker="a/2")) == ["a/b/1", "b/1", "c"]
    assert names(listing_broker.list_objects_iter(100, marker="c", end_marker="d-2")) == \
        ["c/", "c/x", "d-1"]
    assert listing_broker.list_objects_iter(0) == []


def test_listing_prefix_and_delimiter(listing_broker):
    assert names(listing_broker.list_objects_iter(100, prefix="a/")) == ["a/1", "a/2", "a/b/1"]
    out = listing_broker.list_objects_iter(100, delimiter="/")
    assert out[:3] == [ObjectEntry(*out[0]), SubdirEntry("a/"), SubdirEntry("b/")]
    assert names(out) == ["a", "a/", "b/", "c", "c/", "d-1", "d-2", "z", "\u00e9",
                          "\U0001f600"]
    assert names(listing_broker.list_objects_iter(100, prefix="a/", delimiter="/")) == \
        ["a/1", "a/2", "a/b/"]
    assert names(listing_broker.list_objects_iter(100, delimiter="-")) == \
        ["a", "a/1", "a/2", "a/b/1", "b/1", "c", "c/", "c/x", "d-", "z", "\u00e9", "\U0001f600"]
    # Limit counts subdirs; marker inside a rolled-up prefix continues after it.
    assert names(listing_broker.list_objects_iter(2, delimiter="/")) == ["a", "a/"]
    assert names(listing_broker.list_objects_iter(2, delimiter="/", marker="a/")) == ["b/", "c"]


def test_listing_reverse(listing_broker):
    forward = names(listing_broker.list_objects_iter(100))
    assert names(listing_broker.list_objects_iter(100, reverse=True)) == forward[::-1]
    assert names(listing_broker.list_objects_iter(100, reverse=True, delimiter="/")) == \
        ["\U0001f600", "\u00e9", "z", "d-2", "d-1", "c/", "c", "b/", "a/", "a"]
    assert names(listing_broker.list_objects_iter(2, reverse=True, marker="c")) == ["b/1", "a/b/1"]
    assert names(listing_broker.list_objects_iter(100, reverse=True, marker="c/x",
                                                  end_marker="b/1")) == ["c/", "c"]
    assert names(listing_broker.list_objects_iter(100, reverse=True, prefix="a/",
                                                  delimiter="/")) == ["a/b/", "a/2", "a/1"]


def test_listing_path(listing_broker):
    # the directory's own marker object "c/" is not one of its children
    assert names(listing_broker.list_objects_iter(100, path="c")) == ["c/x"]
    assert names(listing_broker.list_objects_iter(100, path="c/")) == ["c/x"]
    assert names(listing_broker.list_objects_iter(100, path="a")) == ["a/1", "a/2"]
    assert names(listing_broker.list_objects_iter(100, path="c", reverse=True)) == ["c/x"]


def test_delimiter_listing_does_not_scan_rolled_up_prefixes(tmp_path):
    broker = make_broker(tmp_path)
    rows = [{"name": "dir%d/obj%04d" % (d, i), "created_at": "1001", "size": 1,
             "content_type": "t", "etag": "e"} for d in range(3) for i in range(500)]
    broker.merge_items(rows)
    statements = []
    with broker.get() as conn:
        conn.set_trace_callback(statements.append)
    out = broker.list_objects_iter(100, delimiter="/")
    with broker.get() as conn:
        conn.set_trace_callback(None)
    assert names(out) == ["dir0/", "dir1/", "dir2/"]
    # one scan finds dir0/, one walk seeks from prefix to prefix to the end
    queries = [s for s in statements if s.startswith(("SELECT name", "WITH"))]
    assert len(queries) == 2 and "LIMIT 100" in queries[0]
    assert queries[1].startswith("WITH RECURSIVE")
