"""Connections kept between requests: reused only while the path names the same file."""
import os
import shutil
import sqlite3

from webob import Request

from objstore.common.cluster_config import ClusterConfig
from objstore.common.db_connections import IdleDbConnections, file_identity
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker
from objstore.container.server import app_factory

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")
BASE = "/sda/1/AUTH_test/c"


def _db(path, value):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE t (v TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (value,))
    conn.close()


def test_a_kept_connection_comes_back_for_the_same_file(tmp_path):
    path = str(tmp_path / "a.db")
    _db(path, "one")
    kept = IdleDbConnections()
    conn = sqlite3.connect(path)
    kept.give(path, conn, file_identity(path))
    assert len(kept) == 1
    assert kept.take(path) == (conn, file_identity(path))
    assert kept.take(path) is None and len(kept) == 0


def test_a_file_renamed_over_is_never_read_through_the_old_connection(tmp_path):
    path, newer = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    _db(path, "old")
    _db(newer, "new")
    kept = IdleDbConnections()
    kept.give(path, sqlite3.connect(path), file_identity(path))
    os.rename(newer, path)                    # a replicated copy takes its place
    assert kept.take(path) is None
    os.unlink(path)                           # and a reclaimed one is gone
    kept.give(path, sqlite3.connect(str(tmp_path / "c.db")), (1, 1))
    assert kept.take(path) is None and len(kept) == 0


def test_a_connection_in_a_transaction_is_not_kept(tmp_path):
    path = str(tmp_path / "a.db")
    _db(path, "x")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    kept = IdleDbConnections()
    kept.give(path, conn, file_identity(path))
    assert len(kept) == 0
    # closed, so the write lock it held is gone
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")


def test_bounds_per_file_and_overall(tmp_path):
    kept = IdleDbConnections(max_kept=3, max_per_file=2)
    paths = []
    for name in "abcd":
        path = str(tmp_path / (name + ".db"))
        _db(path, name)
        paths.append(path)
    first = [sqlite3.connect(paths[0]) for _ in range(3)]
    for conn in first:
        kept.give(paths[0], conn, file_identity(paths[0]))
    assert len(kept) == 2                     # the oldest of the three was closed
    for path in paths[1:]:
        kept.give(path, sqlite3.connect(path), file_identity(path))
    assert len(kept) == 3
    # the least recently used file's connections went first
    assert kept.take(paths[0]) is None
    assert all(kept.take(path) is not None for path in paths[1:])


def _call(app, method, path, **headers):
    return Request.blank(path, method=method, headers=headers).get_response(app)


def test_the_container_server_reuses_one_connection_and_sees_a_replaced_file(tmp_path,
                                                                             monkeypatch):
    (tmp_path / "sda").mkdir()
    app = app_factory(CLUSTER, {"devices": str(tmp_path)}, mount_check="false")
    opened = []
    real_connect = ContainerBroker._connect
    monkeypatch.setattr(ContainerBroker, "_connect",
                        lambda self, path: opened.append(path) or real_connect(self, path))
    ts = Timestamp.now
    assert _call(app, "PUT", BASE, **{"X-Timestamp": ts().internal}).status_int == 201
    for name in ("o1", "o2", "o3"):
        resp = _call(app, "PUT", BASE + "/" + name, **{
            "X-Timestamp": ts().internal, "X-Size": "1", "X-Content-Type": "a/b",
            "X-Etag": "d41d8cd98f00b204e9800998ecf8427e"})
        assert resp.status_int == 201
    assert _call(app, "HEAD", BASE).headers["X-Container-Object-Count"] == "3"
    db_file = ContainerBroker.for_container(CLUSTER.hasher, str(tmp_path / "sda"), 1,
                                            "AUTH_test", "c").db_file
    assert opened.count(db_file) == 1, opened
    # A copy with one object fewer is renamed over the file (as replication does).
    copy = str(tmp_path / "copy.db")
    ContainerBroker(db_file).checkpoint()     # the copy is of the whole database
    shutil.copy(db_file, copy)
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.execute("DELETE FROM object WHERE name = 'o3'")
    conn.close()
    os.rename(copy, db_file)
    before = opened.count(db_file)
    resp = _call(app, "GET", BASE)
    assert resp.body == b"o1\no2\n"
    assert opened.count(db_file) == before + 1, "the replaced file was opened afresh"
