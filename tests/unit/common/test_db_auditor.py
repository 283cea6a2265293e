"""DB auditors: good databases pass, broken ones go to quarantine (never deleted)."""
import os
import sqlite3

from objstore.account.auditor import AccountAuditor
from objstore.account.backend import AccountBroker
from objstore.common.cluster_config import ClusterConfig
from objstore.container.auditor import ContainerAuditor
from objstore.container.backend import ContainerBroker

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


def auditor(cls, tmp_path, **options):
    conf = {"devices": str(tmp_path), "mount_check": "false"}
    conf.update(options)
    return cls(CLUSTER, conf)


def make(tmp_path, name):
    device = tmp_path / "d1"
    device.mkdir(exist_ok=True)
    broker = ContainerBroker.for_container(CLUSTER.hasher, str(device), 3, "AUTH_a", name)
    broker.initialize(1000, account="AUTH_a", container=name)
    for i in range(50):
        broker.put_object("o%d" % i, 1001 + i, i, "t", "e")
    broker.checkpoint()
    broker.close()
    return broker


def test_good_databases_pass(tmp_path):
    make(tmp_path, "a")
    make(tmp_path, "b")
    stats = auditor(ContainerAuditor, tmp_path, full_check="yes").run_once()
    assert (stats.passed, stats.quarantined, stats.errors) == (2, 0, 0)


def test_corrupt_file_and_missing_table_are_quarantined(tmp_path):
    good = make(tmp_path, "good")
    garbled = make(tmp_path, "garbled")
    with open(garbled.db_file, "r+b") as handle:       # overwrite pages after the header
        handle.seek(1024)
        handle.write(b"\xff" * 6000)
    dropped = make(tmp_path, "dropped")
    conn = sqlite3.connect(dropped.db_file)
    conn.execute("DROP TABLE incoming_sync")
    conn.commit()
    conn.close()
    stats = auditor(ContainerAuditor, tmp_path).run_once()
    assert (stats.passed, stats.quarantined) == (1, 2)
    assert os.path.exists(good.db_file)
    quarantined = tmp_path / "d1" / "quarantined" / "containers"
    names = sorted(os.listdir(quarantined))
    assert names == sorted(os.path.basename(b.db_dir) for b in (garbled, dropped))
    for name in names:     # kept whole, file and all
        assert (quarantined / name / (name + ".db")).exists()
    assert not os.path.exists(garbled.db_file) and not os.path.exists(dropped.db_file)


def test_account_auditor(tmp_path):
    device = tmp_path / "d1"
    device.mkdir()
    broker = AccountBroker.for_account(CLUSTER.hasher, str(device), 3, "AUTH_a")
    broker.initialize(1000, account="AUTH_a")
    broker.close()
    stats = auditor(AccountAuditor, tmp_path).run_once()
    assert (stats.passed, stats.quarantined) == (1, 0)
    with open(broker.db_file, "r+b") as handle:
        handle.write(b"not a database at all" * 10)
    stats = auditor(AccountAuditor, tmp_path).run_once()
    assert stats.quarantined == 1
    assert not broker.exists()


def test_a_locked_database_is_not_taken_for_a_broken_one(tmp_path):
    broker = make(tmp_path, "busy")
    holder = sqlite3.connect(broker.db_file, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("DELETE FROM outgoing_sync")
    try:
        stats = auditor(ContainerAuditor, tmp_path, db_timeout="0.3").run_once()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (stats.passed, stats.quarantined, stats.errors) == (0, 0, 1)
    assert broker.exists()
    assert not (tmp_path / "d1" / "quarantined").exists()
    assert auditor(ContainerAuditor, tmp_path).run_once().passed == 1
