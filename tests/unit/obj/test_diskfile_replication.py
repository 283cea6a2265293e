"""DiskFile replication seams: one contract suite for both backends, then fs-only cases."""
import hashlib
import json
import os
import time
import zlib

import pytest

from objstore.common.path_hash import PathHasher
from objstore.common.timestamp import Timestamp
from objstore.obj.diskfile import (DiskFileDeleted, DiskFileNotExist, FsDiskFileManager,
                                   MemDiskFileManager)
from objstore.obj.diskfile.interface import ObjectFileInvalid

HASHER = PathHasher.from_salt("test-prefix", "test-suffix")
WEEK = 7 * 24 * 3600
CRC_KEY = "X-Backend-Data-Crc32"


@pytest.fixture(params=["fs", "mem"])
def managers(request, tmp_path):
    """Two independent stores of one backend (a sender and a receiver)."""
    if request.param == "fs":
        made = []
        for index in range(2):
            (tmp_path / str(index) / "sda").mkdir(parents=True)
            made.append(FsDiskFileManager(str(tmp_path / str(index)), HASHER))
        return made
    return [MemDiskFileManager(HASHER, devices=["sda"]) for _ in range(2)]


@pytest.fixture
def manager(managers):
    return managers[0]


def _df(manager, obj="o"):
    return manager.get_diskfile("sda", "7", "AUTH_a", "c", obj)


def _put(manager, body, ts, obj="o", extra=None):
    df = _df(manager, obj)
    meta = {"X-Timestamp": Timestamp(ts).internal, "Content-Type": "text/plain"}
    with df.writer(len(body)) as writer:
        writer.write(body)
        meta.update({"ETag": writer.etag, "Content-Length": str(writer.bytes_written)})
        meta.update(extra or {})
        writer.put(meta)
    # what is stored: the writer adds the body's CRC32 beside its ETag
    return dict(meta, **{"X-Backend-Data-Crc32": "%08x %s" % (zlib.crc32(body),
                                                              hashlib.md5(body).hexdigest())})


def _hash(obj="o"):
    return str(HASHER.hash_path("AUTH_a", "c", obj))


def _copy(src, dst, name_hash, partition="7"):
    """Every current file of one object from ``src`` to ``dst``, as the sync verb does."""
    for suffix in src.list_suffixes("sda", partition):
        for got_hash, files in src.list_hashes("sda", partition, suffix).items():
            if got_hash != name_hash:
                continue
            for name in files:
                stored = src.read_file("sda", partition, name_hash, name)
                dst.receive_file("sda", partition, name_hash, name, stored.metadata,
                                 stored.chunks)


# -- contract ----------------------------------------------------------------------

def test_walk_partitions_suffixes_hashes(manager):
    _put(manager, b"abc", 1)
    _put(manager, b"xyz", 2, obj="p")
    assert manager.list_partitions("sda") == ["7"]
    suffixes = manager.list_suffixes("sda", "7")
    assert sorted(suffixes) == sorted({_hash()[-3:], _hash("p")[-3:]})
    found = manager.list_hashes("sda", "7", _hash()[-3:])
    assert found[_hash()] == [Timestamp(1).internal + ".data"]


def test_suffix_hashes_change_on_each_write_and_only_there(manager):
    now = time.time()
    _put(manager, b"abc", now - 3)
    _put(manager, b"xyz", now - 3, obj="p")
    before = manager.suffix_hashes("sda", "7")
    assert set(before) == {_hash()[-3:], _hash("p")[-3:]}
    assert manager.suffix_hashes("sda", "7") == before  # stable with nothing new
    _df(manager).write_metadata({"X-Timestamp": Timestamp(now - 2).internal})
    after_post = manager.suffix_hashes("sda", "7")
    assert after_post[_hash()[-3:]] != before[_hash()[-3:]]
    assert after_post[_hash("p")[-3:]] == before[_hash("p")[-3:]]
    _df(manager).delete(Timestamp(now - 1))
    after_delete = manager.suffix_hashes("sda", "7")
    assert after_delete[_hash()[-3:]] not in (before[_hash()[-3:]],
                                               after_post[_hash()[-3:]])


def test_same_state_same_hashes_on_two_managers(managers):
    first, second = managers
    for store in (first, second):
        _put(store, b"abc", 1)
        _df(store).write_metadata({"X-Timestamp": Timestamp(2).internal})
    assert first.suffix_hashes("sda", "7") == second.suffix_hashes("sda", "7")


def test_received_files_reproduce_the_object(managers):
    src, dst = managers[0], managers[1]
    meta = _put(src, b"hello world", 1, extra={"X-Object-Meta-Color": "blue"})
    _df(src).write_metadata({"X-Timestamp": Timestamp(2).internal,
                             "X-Object-Meta-Color": "red"})
    _copy(src, dst, _hash())
    df = _df(dst).open()
    assert b"".join(df.reader()) == b"hello world"
    assert df.metadata["X-Object-Meta-Color"] == "red"
    assert df.data_metadata["ETag"] == meta["ETag"]
    # the CRC whole reads check travels with the file
    assert df.data_metadata[CRC_KEY] == meta[CRC_KEY]
    df.close()
    assert dst.suffix_hashes("sda", "7") == src.suffix_hashes("sda", "7")


def test_receive_keeps_newest_wins(managers):
    src, dst = managers[0], managers[1]
    _put(src, b"old", 1)
    _df(dst).delete(Timestamp(5))
    name = Timestamp(1).internal + ".data"
    stored = src.read_file("sda", "7", _hash(), name)
    assert not dst.receive_file("sda", "7", _hash(), name, stored.metadata, stored.chunks)
    with pytest.raises(DiskFileDeleted):
        _df(dst).open()


def test_receive_refuses_bytes_that_do_not_match(managers):
    src, dst = managers[0], managers[1]
    meta = _put(src, b"good bytes", 1)
    name = Timestamp(1).internal + ".data"
    with pytest.raises(ObjectFileInvalid):
        dst.receive_file("sda", "7", _hash(), name, meta, [b"bad bytes!"])
    with pytest.raises(ObjectFileInvalid):  # name and metadata disagree
        dst.receive_file("sda", "7", _hash(), Timestamp(9).internal + ".data", meta,
                         [b"good bytes"])
    with pytest.raises(DiskFileNotExist):
        _df(dst).open()
    assert dst.list_partitions("sda") in ([], ["7"])
    assert dst.suffix_hashes("sda", "7") == {}


def test_receive_refuses_a_crc_that_does_not_match_the_bytes(managers):
    dst = managers[1]
    body = b"good bytes"
    meta = {"X-Timestamp": Timestamp(1).internal, "Content-Type": "text/plain",
            "Content-Length": str(len(body)), "ETag": hashlib.md5(body).hexdigest(),
            CRC_KEY: "%08x %s" % (zlib.crc32(body) ^ 1, hashlib.md5(body).hexdigest())}
    name = Timestamp(1).internal + ".data"
    with pytest.raises(ObjectFileInvalid):
        dst.receive_file("sda", "7", _hash(), name, meta, [body])
    with pytest.raises(DiskFileNotExist):
        _df(dst).open()


def test_file_from_before_crcs_gains_one_when_received(managers):
    dst = managers[1]
    body = b"old sender"
    meta = {"X-Timestamp": Timestamp(1).internal, "Content-Type": "text/plain",
            "Content-Length": str(len(body)), "ETag": hashlib.md5(body).hexdigest()}
    name = Timestamp(1).internal + ".data"
    assert dst.receive_file("sda", "7", _hash(), name, meta, [body[:3], body[3:]])
    df = _df(dst).open()
    assert df.data_metadata[CRC_KEY] == "%08x %s" % (zlib.crc32(body), meta["ETag"])
    assert b"".join(df.reader()) == body
    df.close()


def test_remove_files_drains_a_handoff(manager):
    _put(manager, b"abc", 1)
    manager.remove_files("sda", "7", _hash(), [Timestamp(1).internal + ".data"])
    assert manager.suffix_hashes("sda", "7") == {}
    assert manager.remove_partition_if_empty("sda", "7")
    assert manager.list_partitions("sda") == []


def test_tombstone_reclaimed_only_after_reclaim_age(manager):
    _put(manager, b"abc", 1000)
    _df(manager).delete(Timestamp(2000))
    suffix = _hash()[-3:]
    hashes = manager.suffix_hashes("sda", "7", [suffix], now=2000 + WEEK - 1)
    assert suffix in hashes  # a day short of a week: the tombstone stays
    assert manager.list_hashes("sda", "7", suffix, now=2000 + WEEK - 1) == {
        _hash(): [Timestamp(2000).internal + ".ts"]}
    assert manager.suffix_hashes("sda", "7", [suffix], now=2000 + WEEK + 1) == {}
    assert manager.list_hashes("sda", "7", suffix, now=2000 + WEEK + 1) == {}
    assert _df(manager).newest_timestamp() is None


# -- file system only: the on-disk cache ------------------------------------------

@pytest.fixture
def fs_manager(tmp_path):
    (tmp_path / "sda").mkdir()
    return FsDiskFileManager(str(tmp_path), HASHER)


def test_cache_is_json_and_only_invalid_suffixes_are_rehashed(fs_manager, tmp_path,
                                                              monkeypatch):
    from objstore.obj.diskfile import fs_partitions
    _put(fs_manager, b"abc", 1)
    _put(fs_manager, b"xyz", 2, obj="p")
    part_dir = tmp_path / "sda" / "objects" / "7"
    first = fs_manager.suffix_hashes("sda", "7")
    doc = json.loads((part_dir / "hashes.json").read_text())
    assert doc == {"version": 1, "hashes": first}
    assert not (part_dir / "hashes.invalid").exists()
    scanned = []
    real_scan = fs_partitions.scan_suffix
    monkeypatch.setattr(fs_partitions, "scan_suffix",
                        lambda path, *a: scanned.append(os.path.basename(path))
                        or real_scan(path, *a))
    assert fs_manager.suffix_hashes("sda", "7") == first
    assert scanned == []  # nothing changed: nothing read
    _df(fs_manager).delete(Timestamp.now())
    assert (part_dir / "hashes.invalid").read_text() == _hash()[-3:] + "\n"
    fs_manager.suffix_hashes("sda", "7")
    assert scanned == [_hash()[-3:]]


def test_damaged_cache_is_rebuilt_from_files(fs_manager, tmp_path):
    _put(fs_manager, b"abc", 1)
    first = fs_manager.suffix_hashes("sda", "7")
    (tmp_path / "sda" / "objects" / "7" / "hashes.json").write_bytes(b"\x80garbage")
    assert fs_manager.suffix_hashes("sda", "7") == first


def test_quarantine_invalidates_the_suffix(fs_manager, tmp_path):
    from objstore.obj.diskfile import DiskFileQuarantined
    _put(fs_manager, b"abc", 1)
    assert fs_manager.suffix_hashes("sda", "7")
    df = _df(fs_manager).open()
    with pytest.raises(DiskFileQuarantined):
        df.quarantine("test")
    assert fs_manager.suffix_hashes("sda", "7") == {}
    assert os.listdir(tmp_path / "sda" / "quarantined" / "objects") == [_hash()]
