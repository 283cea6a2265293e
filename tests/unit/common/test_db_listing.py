"""db_listing.list_rows against a plain model of Swift's listing rules.

The model sorts every live name in UTF-8 byte order and applies marker,
end_marker, prefix, path, delimiter and reverse one name at a time; the
listing must give the same page for every combination, whichever mix of
range scans and prefix walks it uses.
"""
import random
import sqlite3

import pytest

from objstore.common.db_listing import list_rows
from objstore.common.listing_format import SubdirEntry

COLUMNS = "name, created_at, size, content_type, etag"


@pytest.fixture
def conn():
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE object (name TEXT NOT NULL, created_at TEXT, size INTEGER, "
                 "content_type TEXT, etag TEXT, deleted INTEGER NOT NULL DEFAULT 0)")
    conn.execute("CREATE UNIQUE INDEX ix_object_name ON object (name)")
    conn.execute("CREATE INDEX ix_object_deleted_name ON object (deleted, name)")
    yield conn
    conn.close()


def fill(conn, live, deleted=()):
    conn.execute("DELETE FROM object")
    conn.executemany("INSERT INTO object VALUES (?, '1700000000.00000', 1, 't', 'e', ?)",
                     [(n, 0) for n in live] + [(n, 1) for n in deleted])


def model(live, limit, marker="", end_marker="", prefix="", delimiter="", path=None,
          reverse=False, show_reserved=True):
    """Swift's rules, one name at a time: (kind, name) pairs."""
    if path is not None:
        prefix = path.rstrip("/") + "/" if path else ""
        delimiter = "/"
    order = sorted(live, key=lambda n: n.encode("utf-8"), reverse=reverse)
    out = []
    for name in order:
        key = name.encode("utf-8")
        if marker and (key >= marker.encode("utf-8") if reverse
                       else key <= marker.encode("utf-8")):
            continue
        if end_marker and (key <= end_marker.encode("utf-8") if reverse
                           else key >= end_marker.encode("utf-8")):
            continue
        if not name.startswith(prefix) or (not show_reserved and name.startswith("\x00")):
            continue
        if path is not None and prefix and name == prefix:
            continue    # the directory's own marker object
        cut = name.find(delimiter, len(prefix)) if delimiter else -1
        if cut < 0:
            out.append(("object", name))
            continue
        subdir = name[:cut + len(delimiter)]
        if path is not None:
            if name == subdir:
                out.append(("object", name))
            continue    # deeper names are not listed at all
        if subdir != marker and ("subdir", subdir) not in out[-1:]:
            out.append(("subdir", subdir))
    return out[:limit]


def listed(conn, *args, **kwargs):
    rows = list_rows(conn, "object", COLUMNS, None, *args, **kwargs)
    return [("subdir", e.name) if type(e) is SubdirEntry else ("object", e[0]) for e in rows]


def test_plain_page_is_the_rows_themselves(conn):
    fill(conn, ["b", "a"], deleted=["c"])
    assert list_rows(conn, "object", COLUMNS, None, 10) == [
        ("a", "1700000000.00000", 1, "t", "e"), ("b", "1700000000.00000", 1, "t", "e")]
    assert list_rows(conn, "object", COLUMNS, list, 10, delimiter="/") == [
        ["a", "1700000000.00000", 1, "t", "e"], ["b", "1700000000.00000", 1, "t", "e"]]
    assert list_rows(conn, "object", COLUMNS, None, 0) == []


def test_directory_tree_matches_the_model(conn):
    rng = random.Random(14)
    parts = ["a", "b", "\u00e9", "\U0001f600", "x-&y", "\U0010ffff", "d-"]
    live = set()
    while len(live) < 400:
        depth = rng.randint(1, 4)
        live.add("/".join(rng.choice(parts) + str(rng.randint(0, 6)) for _ in range(depth))
                 + rng.choice(["", "", "/"]))
    live |= {"", "\x00hidden/x", "a0", "a0/"} - {""}
    deleted = {"a0/zz", "b1/", "\u00e90/q"} - live
    fill(conn, live, deleted)
    pool = sorted(live)[::7] + ["a", "a0/", "b", "\U0010ffff", "\u00e9"]
    delimiters = ["/", "-", "-&", "0/", "\U0010ffff", "\U0001f600"]
    for _ in range(600):
        kwargs = dict(
            marker=rng.choice(pool) if rng.random() < 0.4 else "",
            end_marker=rng.choice(pool) if rng.random() < 0.3 else "",
            prefix=rng.choice(["", "a", "a0/", "\u00e9", "x-"]) if rng.random() < 0.4 else "",
            delimiter=rng.choice(delimiters) if rng.random() < 0.8 else "",
            path=rng.choice([None, None, None, "", "a0", "a0/", "b1"]),
            reverse=rng.random() < 0.4, show_reserved=rng.random() < 0.7)
        limit = rng.choice([1, 2, 3, 7, 50, 10000])
        assert listed(conn, limit, **kwargs) == model(live, limit, **kwargs), kwargs


def test_edge_cases_match_the_model(conn):
    live = ["a", "a/", "a//", "a/b", "a/b/", "a/b/c", "a0", "b/1", "b/2/", "c\U0010ffff\U0010ffffx",
            "c\U0010ffff/", "\x00r/1", "\ud7ff/1", "\ue000/1"]
    fill(conn, live)
    cases = [
        dict(delimiter="/"), dict(delimiter="/", reverse=True),
        dict(delimiter="/", marker="a/"), dict(delimiter="/", marker="a/", reverse=True),
        dict(delimiter="/", marker="a/b"), dict(delimiter="/", end_marker="b/2/"),
        dict(delimiter="/", prefix="a/"), dict(delimiter="/", prefix="a/", reverse=True),
        dict(delimiter="\U0010ffff"), dict(delimiter="\U0010ffff", reverse=True),
        dict(delimiter="\U0010ffff\U0010ffff"), dict(path="a"), dict(path="a", reverse=True),
        dict(path="a/b"), dict(path=""), dict(path="", reverse=True),
        dict(delimiter="/", show_reserved=False), dict(delimiter="//"),
    ]
    for kwargs in cases:
        for limit in (1, 2, 3, 100):
            assert listed(conn, limit, **kwargs) == model(live, limit, **kwargs), kwargs


def vm_steps(conn, *args, **kwargs):
    """SQLite virtual machine instructions a listing runs (a measure of rows read)."""
    count = [0]

    def tick():
        count[0] += 1
    conn.set_progress_handler(tick, 1)
    try:
        list_rows(conn, "object", COLUMNS, None, *args, **kwargs)
    finally:
        conn.set_progress_handler(None, 1)
    return count[0]


def test_rolled_up_prefixes_are_skipped_not_read(conn):
    fill(conn, ["dir%03d/obj%03d" % (d, i) for d in range(100) for i in range(50)])
    # 100 subdirs cost about as much as reading 100 rows, not the 5,000 under them.
    assert listed(conn, 1000, delimiter="/") == [("subdir", "dir%03d/" % d) for d in range(100)]
    assert vm_steps(conn, 1000, delimiter="/") < vm_steps(conn, 300) * 3
    assert vm_steps(conn, 1000, delimiter="/", reverse=True) < vm_steps(conn, 300) * 3
    # The walk over prefixes is one statement, not one per prefix.
    statements = []
    conn.set_trace_callback(statements.append)
    listed(conn, 1000, delimiter="/")
    conn.set_trace_callback(None)
    assert len([s for s in statements if s.startswith(("SELECT", "WITH"))]) == 2


def test_a_page_is_read_in_one_transaction(conn):
    fill(conn, ["d%d/x" % i for i in range(5)] + ["e", "f/g"])
    statements = []
    conn.set_trace_callback(statements.append)
    assert len(listed(conn, 100, delimiter="/")) == 7
    conn.set_trace_callback(None)
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
    assert not conn.in_transaction
    # Inside a caller's transaction the listing neither begins nor ends one.
    conn.execute("BEGIN")
    statements.clear()
    conn.set_trace_callback(statements.append)
    assert len(listed(conn, 100, delimiter="/")) == 7
    conn.set_trace_callback(None)
    assert conn.in_transaction and "COMMIT" not in statements
    conn.execute("COMMIT")


def test_a_failing_page_ends_its_transaction_and_raises(conn):
    fill(conn, ["a", "b/1", "c"])

    def broken(row):
        raise ValueError("bad row %r" % (row,))
    with pytest.raises(ValueError, match="bad row"):
        list_rows(conn, "object", COLUMNS, broken, 10, delimiter="/")
    assert not conn.in_transaction
    assert len(listed(conn, 10, delimiter="/")) == 3
