"""DatabaseBroker base: placement, durable creation, quarantine, busy, schema."""
import os
import sqlite3
import threading

import pytest

from objstore.common.db import DatabaseBusy, DatabaseNotFound, DatabaseQuarantined, db_path
from objstore.common.db_listing import _next_prefix
from objstore.common.path_hash import PathHasher
from objstore.container.backend import ContainerBroker

HASHER = PathHasher.from_salt("test-prefix", "test-suffix")


def make(tmp_path, timeout=25.0):
    device = tmp_path / "sdb"
    device.mkdir(exist_ok=True)
    broker = ContainerBroker.for_container(HASHER, str(device), 12, "AUTH_x", "cont",
                                           timeout=timeout)
    broker.initialize(1000, account="AUTH_x", container="cont")
    return broker


def test_path_layout(tmp_path):
    broker = make(tmp_path)
    name_hash = HASHER.hash_path("AUTH_x", "cont")
    assert broker.db_file == str(tmp_path / "sdb" / "containers" / "12" / name_hash[-3:] /
                                 name_hash / (name_hash + ".db"))
    assert db_path("/d", "accounts", 3, "abcdef") == "/d/accounts/3/def/abcdef/abcdef.db"
    assert broker.device_path == str(tmp_path / "sdb")


def test_schema_and_journal_mode(tmp_path):
    broker = make(tmp_path)
    conn = sqlite3.connect(broker.db_file)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"object", "policy_stat", "container_info", "incoming_sync",
            "outgoing_sync"} <= tables
    columns = [row[2] for row in conn.execute("PRAGMA index_info(ix_object_deleted_name)")]
    assert columns == ["deleted", "name"]
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_checkpoint_folds_log_into_db_file(tmp_path):
    broker = make(tmp_path)
    broker.put_object("a", 1001, 1, "t", "e")
    wal = broker.db_file + "-wal"
    assert os.path.getsize(wal) > 0
    broker.checkpoint()
    assert os.path.getsize(wal) == 0
    broker.close()
    # The .db file alone now holds the row.
    import shutil
    copy = tmp_path / "copy.db"
    shutil.copy(broker.db_file, copy)
    assert ContainerBroker(str(copy)).get_object_row("a")["size"] == 1


def test_missing_db(tmp_path):
    broker = ContainerBroker(str(tmp_path / "nope" / "x.db"))
    assert not broker.exists()
    assert broker.is_deleted()
    with pytest.raises(DatabaseNotFound):
        broker.get_info()


def test_rows_cannot_be_updated_in_place(tmp_path):
    broker = make(tmp_path)
    broker.put_object("a", 1001, 1, "t", "e")
    import sqlite3
    with pytest.raises(sqlite3.DatabaseError):
        with broker.get() as conn:
            conn.execute("UPDATE object SET size = 5")
    assert broker.get_info()["bytes_used"] == 1


def test_corrupt_file_is_quarantined_not_deleted(tmp_path):
    broker = make(tmp_path)
    db_file = broker.db_file
    with open(db_file, "r+b") as handle:
        handle.write(b"\x00" * 100 + b"not sqlite" * 500)
    fresh = ContainerBroker(db_file)
    with pytest.raises(DatabaseQuarantined):
        fresh.get_info()
    assert not os.path.exists(db_file)
    target = tmp_path / "sdb" / "quarantined" / "containers" / os.path.basename(broker.db_dir)
    assert (target / os.path.basename(db_file)).exists()


def test_busy_database_raises_busy(tmp_path):
    broker = make(tmp_path, timeout=0.1)
    holder = ContainerBroker(broker.db_file, timeout=0.1)
    ready, release = threading.Event(), threading.Event()

    def hold_lock():
        with holder.transaction() as conn:
            conn.execute("INSERT INTO object (name, created_at) VALUES ('x', '1')")
            ready.set()
            release.wait(5)

    thread = threading.Thread(target=hold_lock)
    thread.start()
    ready.wait(5)
    try:
        with pytest.raises(DatabaseBusy):
            broker.put_object("y", 1001, 1, "t", "e")
    finally:
        release.set()
        thread.join()
    assert broker.put_object("y", 1001, 1, "t", "e")


def test_next_prefix():
    assert _next_prefix("a/") == "a0"
    assert _next_prefix("\ud7ff") == "\ue000"
    assert _next_prefix("a\U0010ffff") == "b"
    assert _next_prefix("") is None


def test_writer_waits_for_lock_held_by_another_process(tmp_path):
    broker = make(tmp_path, timeout=5)
    holder = ContainerBroker(broker.db_file, timeout=5)
    ready = threading.Event()

    def hold_lock_briefly():
        with holder.transaction() as conn:
            conn.execute("INSERT INTO object (name, created_at) VALUES ('x', '1')")
            ready.set()
            threading.Event().wait(0.3)

    thread = threading.Thread(target=hold_lock_briefly)
    thread.start()
    ready.wait(5)
    try:
        assert broker.put_object("y", 1001, 1, "t", "e")
    finally:
        thread.join()
    assert broker.get_info()["object_count"] == 2
