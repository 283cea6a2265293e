"""DiskFile: one contract suite for both implementations, then fs-only cases."""
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import zlib

import pytest

from objstore.common.path_hash import PathHasher
from objstore.common.storage_policy import PolicyCollection, StoragePolicy
from objstore.common.timestamp import Timestamp
from objstore.obj.diskfile import (AsyncUpdate, ContainerNode, DiskFileDeleted,
                                   DiskFileDeviceUnavailable, DiskFileExpired,
                                   DiskFileNotExist, DiskFileQuarantined, DiskFileRouter,
                                   FsDiskFileManager, MemDiskFileManager)
from objstore.obj.diskfile import metadata as mdcodec

HASHER = PathHasher.from_salt("test-prefix", "test-suffix")
POLICIES = PolicyCollection([StoragePolicy(index=0, name="gold", default=True),
                             StoragePolicy(index=1, name="silver")])


@pytest.fixture(params=["fs", "mem"])
def managers(request, tmp_path):
    """One manager per policy, as an object server has them."""
    if request.param == "fs":
        (tmp_path / "sda").mkdir()
        return DiskFileRouter(POLICIES, lambda policy: FsDiskFileManager(
            str(tmp_path), HASHER, policy=policy))
    return DiskFileRouter(POLICIES, lambda policy: MemDiskFileManager(
        HASHER, devices=["sda"], policy=policy))


@pytest.fixture
def manager(managers):
    return managers[0]


def _df(manager, obj="o"):
    return manager.get_diskfile("sda", "7", "AUTH_a", "c", obj)


def _put(manager, body, ts, obj="o", extra=None):
    df = _df(manager, obj)
    meta = {"X-Timestamp": Timestamp(ts).internal, "Content-Type": "text/plain"}
    with df.writer(len(body)) as writer:
        for start in range(0, len(body), 3):
            writer.write(body[start:start + 3])
        meta.update({"ETag": writer.etag, "Content-Length": str(writer.bytes_written)})
        meta.update(extra or {})
        writer.put(meta)
    # what is stored: the writer adds the body's CRC32 beside its ETag
    return dict(meta, **{"X-Backend-Data-Crc32": "%08x %s" % (zlib.crc32(body),
                                                              hashlib.md5(body).hexdigest())})


def _read(manager, obj="o", **kw):
    df = _df(manager, obj).open()
    try:
        return b"".join(df.reader(**kw)), df
    finally:
        df.close()


# -- contract ----------------------------------------------------------------

def test_missing_object_does_not_exist(manager):
    with pytest.raises(DiskFileNotExist) as info:
        _df(manager).open()
    assert info.value.timestamp is None
    assert _df(manager).newest_timestamp() is None


def test_unknown_device_is_unavailable(manager):
    with pytest.raises(DiskFileDeviceUnavailable):
        manager.get_diskfile("nope", "1", "a", "c", "o")


def test_put_then_read_round_trip(manager):
    meta = _put(manager, b"hello world", 1, extra={"X-Object-Meta-Ä": "ü"})
    body, df = _read(manager)
    assert body == b"hello world"
    assert df.metadata == meta
    assert df.metadata["ETag"] == hashlib.md5(b"hello world").hexdigest()
    assert df.data_timestamp == Timestamp(1) == df.timestamp
    assert df.content_length == 11


def test_ranges(manager):
    _put(manager, b"0123456789", 1)
    assert _read(manager, start=2, end=5)[0] == b"234"
    assert _read(manager, start=8)[0] == b"89"
    assert _read(manager, start=0, end=100)[0] == b"0123456789"
    assert _read(manager, chunk_size=1)[0] == b"0123456789"


def test_empty_object(manager):
    _put(manager, b"", 1)
    body, df = _read(manager)
    assert body == b"" and df.content_length == 0


def test_nothing_visible_before_put(manager):
    df = _df(manager)
    writer = df.writer(5)
    writer.write(b"abcde")
    with pytest.raises(DiskFileNotExist):
        _df(manager).open()
    writer.abort()
    with pytest.raises(DiskFileNotExist):
        _df(manager).open()


def test_newer_put_wins_and_older_put_after_is_ignored(manager):
    _put(manager, b"new", 5)
    _put(manager, b"old", 3)
    assert _read(manager)[0] == b"new"
    assert _df(manager).newest_timestamp() == Timestamp(5)


def test_delete_writes_tombstone_with_timestamp(manager):
    _put(manager, b"x", 1)
    _df(manager).delete(Timestamp(2))
    with pytest.raises(DiskFileDeleted) as info:
        _df(manager).open()
    assert info.value.timestamp == Timestamp(2)
    _put(manager, b"again", 3)
    assert _read(manager)[0] == b"again"


def test_post_metadata_applies_only_when_newer(manager):
    _put(manager, b"x", 1, extra={"X-Object-Meta-Old": "1", "X-Object-Sysmeta-S": "keep"})
    _df(manager).write_metadata({"X-Timestamp": Timestamp(2).internal,
                                 "X-Object-Meta-New": "2"})
    _, df = _read(manager)
    assert df.metadata["X-Object-Meta-New"] == "2"
    assert "X-Object-Meta-Old" not in df.metadata
    assert df.metadata["X-Object-Sysmeta-S"] == "keep"
    assert df.metadata["Content-Type"] == "text/plain"
    assert df.timestamp == Timestamp(2) and df.data_timestamp == Timestamp(1)
    assert df.data_metadata["X-Object-Meta-Old"] == "1"
    # a newer PUT makes the .meta obsolete
    _put(manager, b"y", 3)
    _, df = _read(manager)
    assert "X-Object-Meta-New" not in df.metadata


def test_expired_object(manager):
    _put(manager, b"x", 1, extra={"X-Delete-At": "1000"})
    with pytest.raises(DiskFileExpired) as info:
        _df(manager).open(now=1000)
    assert info.value.metadata["X-Delete-At"] == "1000"
    assert _df(manager).open(now=999).metadata["X-Delete-At"] == "1000"


def test_expired_object_opened_on_request(manager):
    """What the expirer has not removed yet stays readable when asked for explicitly."""
    _put(manager, b"kept", 1, extra={"X-Delete-At": "1000"})
    df = _df(manager).open(now=2000, open_expired=True)
    try:
        assert df.metadata["X-Delete-At"] == "1000"
        assert b"".join(df.reader()) == b"kept"
    finally:
        df.close()


def test_policies_are_separate(managers):
    gold, silver = managers[0], managers[1]
    assert (gold.policy_index, silver.policy_index) == (0, 1)
    _put(gold, b"zero", 1)
    assert silver.get_diskfile("sda", "7", "AUTH_a", "c", "o").newest_timestamp() is None
    _put(silver, b"one", 2)
    assert b"".join(_df(gold).open().reader()) == b"zero"
    assert b"".join(_df(silver).open().reader()) == b"one"
    _df(silver).delete(Timestamp(3))
    assert b"".join(_df(gold).open().reader()) == b"zero"


def test_async_pendings_stay_with_their_policy(managers):
    gold, silver = managers[0], managers[1]
    update = AsyncUpdate(op="PUT", account="AUTH_a", container="c", obj="o",
                         headers={"X-Timestamp": Timestamp(1).internal},
                         nodes=[ContainerNode("127.0.0.1", 6001, "sdb", "3")], policy_index=1)
    with pytest.raises(ValueError):
        gold.save_async_update("sda", update)
    silver.save_async_update("sda", update)
    assert list(gold.iter_async_updates("sda")) == []
    assert [u.policy_index for u in silver.iter_async_updates("sda")] == [1]


def test_router_knows_only_configured_policies(managers):
    assert 1 in managers and 2 not in managers
    assert managers.get(2) is None
    assert [m.policy_index for m in managers] == [0, 1]


def test_large_metadata_round_trips(manager):
    meta = {"X-Object-Meta-%03d-%s" % (i, "ñ" * 40): "v☃" * 80 for i in range(90)}
    stored = _put(manager, b"x", 1, extra=meta)
    assert _read(manager)[1].metadata == stored


def _corrupt(manager):
    if isinstance(manager, MemDiskFileManager):
        files = next(iter(manager.objects.values()))
        name = next(n for n in files if n.endswith(".data"))
        body, meta = files[name]
        files[name] = (b"X" + body[1:], meta)
    else:
        for root, _dirs, names in os.walk(manager.devices):
            for name in names:
                if name.endswith(".data"):
                    with open(os.path.join(root, name), "r+b") as handle:
                        handle.write(b"X")


def test_bad_checksum_quarantines_after_full_read(manager):
    _put(manager, b"good data", 1)
    _corrupt(manager)
    # a range read cannot check, so it does not quarantine
    assert _read(manager, start=1)[0] == b"ood data"
    df = _df(manager).open()
    with pytest.raises(DiskFileQuarantined):
        b"".join(df.reader())
    with pytest.raises(DiskFileNotExist):
        _df(manager).open()


CRC_KEY = "X-Backend-Data-Crc32"


def _stored_crc(body):
    return "%08x %s" % (zlib.crc32(body), hashlib.md5(body).hexdigest())


def _put_exactly(manager, body, ts, crc="absent", etag=None):
    """Store ``body`` with exactly this metadata, bypassing the writer's CRC:
    as a writer from before CRCs were stored did (``crc="absent"``), or with
    a stored CRC value that does not fit the body."""
    df = _df(manager)
    meta = {"X-Timestamp": Timestamp(ts).internal, "Content-Type": "text/plain",
            "Content-Length": str(len(body)), "ETag": etag or hashlib.md5(body).hexdigest()}
    if crc != "absent":
        meta[CRC_KEY] = crc
    with df.writer(len(body)) as writer:
        writer.write(body)
        writer._put(meta)
    return meta


def _whole_read_quarantines(manager):
    df = _df(manager).open()
    with pytest.raises(DiskFileQuarantined):
        b"".join(df.reader(chunk_size=4))
    with pytest.raises(DiskFileNotExist):
        _df(manager).open()


def test_writer_stores_the_crc_beside_the_etag(manager):
    body = b"some bytes" * 1000
    meta = {"X-Timestamp": Timestamp(1).internal, "Content-Type": "text/plain"}
    df = _df(manager)
    with df.writer(len(body)) as writer:
        writer.write(body[:7])
        writer.write(body[7:])
        meta.update({"ETag": writer.etag, "Content-Length": str(len(body))})
        writer.put(meta)
    assert CRC_KEY not in meta  # the caller's dict is left alone
    assert writer.crc32 == zlib.crc32(body)
    body_read, df = _read(manager)
    assert body_read == body
    assert df.data_metadata[CRC_KEY] == _stored_crc(body)


def test_writer_told_the_etag_hashes_only_the_crc(manager):
    # the proxy hashed the body once; the node keeps its CRC32 and the named MD5
    body = b"streamed body" * 500
    df = _df(manager)
    with df.writer(len(body)) as writer:
        writer.etag_named_by_sender()
        writer.write(body[:100])
        writer.write(body[100:])
        with pytest.raises(ValueError):
            writer.etag    # nothing named yet, and nothing hashed to fall back on
        writer.name_etag(hashlib.md5(body).hexdigest())
        writer.put({"X-Timestamp": Timestamp(1).internal, "Content-Type": "text/plain",
                    "ETag": writer.etag, "Content-Length": str(len(body))})
    assert writer._md5 is None
    body_read, df = _read(manager)
    assert body_read == body
    assert df.data_metadata[CRC_KEY] == _stored_crc(body)


def test_a_writer_hashing_its_own_md5_takes_no_named_one(manager):
    with _df(manager).writer(3) as writer:
        writer.write(b"abc")
        with pytest.raises(ValueError):
            writer.etag_named_by_sender()
        with pytest.raises(ValueError):
            writer.name_etag("0" * 32)
        assert writer.etag == hashlib.md5(b"abc").hexdigest()


def test_whole_read_checks_the_crc_not_the_md5(manager):
    # the MD5 matches, the stored CRC does not: only a CRC check catches it
    _put_exactly(manager, b"good data", 1, crc="%08x %s" % (
        zlib.crc32(b"good data") ^ 1, hashlib.md5(b"good data").hexdigest()))
    assert _read(manager, start=1)[0] == b"ood data"  # a range read cannot check
    _whole_read_quarantines(manager)


def test_object_without_a_crc_is_checked_with_the_md5(manager):
    _put_exactly(manager, b"written before CRCs", 1)
    body, df = _read(manager)
    assert body == b"written before CRCs" and CRC_KEY not in df.data_metadata
    _corrupt(manager)
    _whole_read_quarantines(manager)


def test_crc_stored_beside_another_etag_quarantines(manager):
    # the body is intact but its ETag is not the one the CRC was stored with
    body = b"intact body"
    _put_exactly(manager, body, 1, crc=_stored_crc(body), etag=hashlib.md5(b"x").hexdigest())
    _whole_read_quarantines(manager)


@pytest.mark.parametrize("value", ["", "zzzzzzzz", "0000000g " + "0" * 32, "00000000"])
def test_unusable_crc_falls_back_to_the_md5(manager, value):
    _put_exactly(manager, b"intact body", 1, crc=value)
    assert _read(manager)[0] == b"intact body"
    _corrupt(manager)
    _whole_read_quarantines(manager)


def test_post_leaves_the_crc_of_the_data(manager):
    _put(manager, b"body", 1)
    _df(manager).write_metadata({"X-Timestamp": Timestamp(2).internal,
                                 "X-Object-Meta-Color": "red"})
    body, df = _read(manager)
    assert body == b"body"
    assert df.metadata[CRC_KEY] == df.data_metadata[CRC_KEY] == _stored_crc(b"body")
    assert df.metadata["X-Object-Meta-Color"] == "red"


def test_async_pending_round_trip_newest_wins(manager):
    def update(ts, op):
        return AsyncUpdate(op=op, account="AUTH_a", container="c", obj="ö",
                           headers={"X-Timestamp": Timestamp(ts).internal, "X-Size": "3"},
                           nodes=[ContainerNode("127.0.0.1", 6001, "sdb", "3")])
    manager.save_async_update("sda", update(1, "PUT"))
    manager.save_async_update("sda", update(2, "DELETE"))
    found = list(manager.iter_async_updates("sda"))
    assert len(found) == 1 and found[0].op == "DELETE" and found[0] == update(2, "DELETE")
    assert list(manager.iter_async_updates("sda")) == found  # older one was dropped
    found[0].nodes = []
    manager.update_async_update(found[0])
    assert list(manager.iter_async_updates("sda"))[0].nodes == []
    manager.remove_async_update(found[0])
    assert list(manager.iter_async_updates("sda")) == []


# -- filesystem only ---------------------------------------------------------

@pytest.fixture
def fs_manager(tmp_path):
    (tmp_path / "sda").mkdir()
    return FsDiskFileManager(str(tmp_path), HASHER)


def _hash_dir(fs_manager):
    return _df(fs_manager).hash_dir


def test_on_disk_layout(fs_manager, tmp_path):
    _put(fs_manager, b"abc", 1)
    df = _df(fs_manager)
    assert df.hash_dir == str(tmp_path / "sda" / "objects" / "7" / df.name_hash[-3:]
                              / df.name_hash)
    assert os.listdir(df.hash_dir) == ["0000000001.00000.data"]
    raw = os.getxattr(os.path.join(df.hash_dir, "0000000001.00000.data"),
                      "user.objstore.metadata")
    assert mdcodec.decode_inline(raw)["Content-Length"] == "3"
    assert os.listdir(tmp_path / "sda" / "tmp") == []
    _put(FsDiskFileManager(str(tmp_path), HASHER, policy=StoragePolicy(index=2, name="two")),
         b"abc", 1)
    assert os.path.isdir(tmp_path / "sda" / "objects-2" / "7")


def test_cleanup_removes_older_files(fs_manager):
    _put(fs_manager, b"one", 1)
    _df(fs_manager).write_metadata({"X-Timestamp": Timestamp(2).internal})
    assert sorted(os.listdir(_hash_dir(fs_manager))) == [
        "0000000001.00000.data", "0000000002.00000.meta"]
    _put(fs_manager, b"two", 3)
    assert os.listdir(_hash_dir(fs_manager)) == ["0000000003.00000.data"]
    _df(fs_manager).delete(Timestamp(4))
    assert os.listdir(_hash_dir(fs_manager)) == ["0000000004.00000.ts"]


def _record_durability_steps(monkeypatch):
    """Every fsync (by the path it syncs) and rename, in the order made."""
    steps = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd):
        steps.append(("fsync", os.readlink("/proc/self/fd/%d" % fd)))
        return real_fsync(fd)

    def rename(src, dst):
        steps.append(("rename", str(dst)))
        return real_rename(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    return steps


def test_new_object_is_durable_data_first_then_its_name_then_new_dirs(fs_manager, tmp_path,
                                                                     monkeypatch):
    steps = _record_durability_steps(monkeypatch)
    _put(fs_manager, b"abc", 1)
    df = _df(fs_manager)
    final = os.path.join(df.hash_dir, "0000000001.00000.data")
    assert steps[0][0] == "fsync" and steps[0][1].startswith(str(tmp_path / "sda" / "tmp"))
    assert steps[1] == ("rename", final)
    # the new name, and every directory the write created (up to objects/), each
    # persisted in its parent before the PUT returns
    suffix_dir, part_dir = os.path.dirname(df.hash_dir), df.part_dir
    objects_dir = os.path.dirname(part_dir)
    assert sorted(steps[2:]) == sorted([("fsync", df.hash_dir), ("fsync", suffix_dir),
                                        ("fsync", part_dir), ("fsync", objects_dir),
                                        ("fsync", str(tmp_path / "sda"))])
    # a second generation of the object only needs its own name persisted
    del steps[:]
    _put(fs_manager, b"abcd", 2)
    assert [kind for kind, _ in steps] == ["fsync", "rename", "fsync"]
    assert steps[2] == ("fsync", df.hash_dir)
    assert os.listdir(df.hash_dir) == ["0000000002.00000.data"]


def test_hash_dir_pruned_before_the_rename_is_made_again(fs_manager, monkeypatch):
    """A replicator removes empty hash dirs; one made for a write in progress
    may go while the data is being fsynced."""
    df = _df(fs_manager)
    real_fsync = os.fsync
    pruned = []

    def fsync_then_prune(fd):
        real_fsync(fd)
        if not pruned and os.path.isdir(df.hash_dir) and not os.listdir(df.hash_dir):
            os.rmdir(df.hash_dir)
            pruned.append(df.hash_dir)

    monkeypatch.setattr(os, "fsync", fsync_then_prune)
    _put(fs_manager, b"abc", 1)
    assert pruned
    assert _read(fs_manager)[0] == b"abc"


def test_write_waits_for_a_replicator_holding_the_partition_lock(fs_manager):
    """The suffix of every write reaches hashes.invalid, even when the hub
    could not take the lock at once."""
    import threading

    from objstore.obj.diskfile.fs_partitions import INVALID_FILE, partition_lock

    df = _df(fs_manager)
    os.makedirs(df.part_dir)
    held, release = threading.Event(), threading.Event()

    def replicator():
        with partition_lock(df.part_dir):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=replicator)
    holder.start()
    held.wait(10)
    with pytest.raises(BlockingIOError):
        from objstore.obj.diskfile.fs_partitions import invalidate_suffix
        invalidate_suffix(df.part_dir, df.suffix, blocking=False)
    threading.Timer(0.2, release.set).start()
    _put(fs_manager, b"abc", 1)
    assert release.is_set()  # the write returned only after the lock was free
    holder.join(10)
    with open(os.path.join(df.part_dir, INVALID_FILE)) as handle:
        assert handle.read().split() == [df.suffix]


def test_full_user_metadata_round_trips_on_real_ext4(fs_manager):
    """The largest metadata a client may send, plus sysmeta, survives on the real fs."""
    user = {}
    for i in range(90):
        name = "ñ%02d" % i + "n" * 20            # 24 bytes each
        user["X-Object-Meta-" + name] = ("☃" + "v" * 18)  # 21 bytes each
    size = sum(len(k[14:].encode()) + len(v.encode()) for k, v in user.items())
    # pad one value up to the overall 4096-byte budget with non-ASCII text
    pad = 4096 - size
    user["X-Object-Meta-ñ00" + "n" * 20] += "ü" * (pad // 2)
    size = sum(len(k[14:].encode()) + len(v.encode()) for k, v in user.items())
    assert 4090 <= size <= 4096 and len(user) == 90
    sysmeta = {"X-Object-Sysmeta-Slo-Etag": "e" * 32, "X-Object-Sysmeta-Crypto": "c" * 200}
    stored = _put(fs_manager, b"payload", 1, extra=dict(user, **sysmeta))
    # more than ext4 keeps in one inode's xattrs (it refuses ~4000 bytes already)
    assert len(mdcodec.encode_inline(stored)) > 5000
    df = _df(fs_manager)
    names = sorted(os.listdir(df.hash_dir))
    assert names == ["0000000001.00000.data", "0000000001.00000.data.spill"]
    body, opened = _read(fs_manager)
    assert body == b"payload" and opened.metadata == stored
    # a POST with the same amount of metadata spills too, and round-trips
    post = dict(user, **{"X-Timestamp": Timestamp(2).internal})
    df.write_metadata(post)
    assert _read(fs_manager)[1].metadata["X-Object-Meta-ñ00" + "n" * 20] == \
        user["X-Object-Meta-ñ00" + "n" * 20]
    # cleanup removes an obsolete owner's sidecar with it
    _put(fs_manager, b"small", 3)
    assert os.listdir(df.hash_dir) == ["0000000003.00000.data"]


def test_xattr_refusal_falls_back_to_sidecar(fs_manager, monkeypatch):
    """Even without the size threshold, ext4's refusal (ENOSPC) spills instead of failing."""
    monkeypatch.setattr(mdcodec, "INLINE_LIMIT", 10 ** 9)
    extra = {"X-Object-Meta-K%02d" % i: "ø" * 120 for i in range(60)}  # ~14 KB encoded
    stored = _put(fs_manager, b"x", 1, extra=extra)
    assert _read(fs_manager)[1].metadata == stored
    path = os.path.join(_hash_dir(fs_manager), "0000000001.00000.data")
    assert os.path.exists(path + ".spill")
    # no partial xattr pieces were left beside the reference
    assert [k for k in os.listxattr(path) if k.startswith("user.objstore")] == \
        ["user.objstore.metadata"]


def test_missing_sidecar_quarantines(fs_manager, tmp_path):
    _put(fs_manager, b"x", 1, extra={"X-Object-Meta-Big": "b" * 250,
                                     "X-Object-Meta-Big2": "b" * 250,
                                     "X-Object-Meta-Big3": "b" * 250,
                                     "X-Object-Meta-Big4": "b" * 250,
                                     "X-Object-Meta-Big5": "b" * 250,
                                     "X-Object-Meta-Big6": "b" * 250,
                                     "X-Object-Meta-Big7": "b" * 250,
                                     "X-Object-Meta-Big8": "b" * 250,
                                     "X-Object-Meta-Big9": "b" * 250})
    hash_dir = _hash_dir(fs_manager)
    os.unlink(os.path.join(hash_dir, "0000000001.00000.data.spill"))
    with pytest.raises(DiskFileQuarantined):
        _df(fs_manager).open()
    name_hash = os.path.basename(hash_dir)
    assert os.listdir(tmp_path / "sda" / "quarantined" / "objects" / name_hash) == \
        ["0000000001.00000.data"]


def test_quarantine_moves_files_never_deletes(fs_manager, tmp_path):
    _put(fs_manager, b"good data", 1)
    name_hash = os.path.basename(_hash_dir(fs_manager))
    _corrupt(fs_manager)
    df = _df(fs_manager).open()
    with pytest.raises(DiskFileQuarantined):
        for _ in df.reader():
            pass
    moved = tmp_path / "sda" / "quarantined" / "objects" / name_hash
    assert os.listdir(moved) == ["0000000001.00000.data"]
    assert (moved / "0000000001.00000.data").read_bytes() == b"Xood data"
    assert not os.path.exists(_hash_dir(fs_manager))


def test_crc_mismatch_moves_the_files_to_quarantined(fs_manager, tmp_path):
    meta = _put(fs_manager, b"bytes that rot" * 100, 1)
    assert CRC_KEY in meta
    _corrupt(fs_manager)
    _whole_read_quarantines(fs_manager)
    name_hash = _df(fs_manager).name_hash
    moved = os.listdir(tmp_path / "sda" / "quarantined" / "objects" / name_hash)
    assert moved == [Timestamp(1).internal + ".data"]


def test_truncated_data_file_quarantined_on_open(fs_manager):
    _put(fs_manager, b"0123456789", 1)
    path = os.path.join(_hash_dir(fs_manager), "0000000001.00000.data")
    os.truncate(path, 4)
    with pytest.raises(DiskFileQuarantined):
        _df(fs_manager).open()


def test_file_without_metadata_quarantined(fs_manager):
    _put(fs_manager, b"abc", 1)
    path = os.path.join(_hash_dir(fs_manager), "0000000001.00000.data")
    os.removexattr(path, "user.objstore.metadata")
    with pytest.raises(DiskFileQuarantined):
        _df(fs_manager).open()


def test_async_pending_path(fs_manager, tmp_path):
    update = AsyncUpdate(op="PUT", account="a", container="c", obj="o",
                         headers={"X-Timestamp": Timestamp(5).internal},
                         nodes=[], policy_index=1)
    two = FsDiskFileManager(str(tmp_path), HASHER, policy=POLICIES.get_by_index(1))
    two.save_async_update("sda", update)
    name_hash = HASHER.hash_path("a", "c", "o")
    expected = tmp_path / "sda" / "async_pending-1" / name_hash[-3:] / (
        "%s-0000000005.00000" % name_hash)
    assert update.location == str(expected) and expected.exists()
    assert expected.read_bytes().startswith(b"OSA\x01")


def test_corrupt_async_pending_is_quarantined(fs_manager, tmp_path):
    bad = tmp_path / "sda" / "async_pending" / "abc" / ("f" * 29 + "abc-0000000001.00000")
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"garbage")
    assert list(fs_manager.iter_async_updates("sda")) == []
    assert not bad.exists()
    assert (tmp_path / "sda" / "quarantined" / "async_pending" / bad.name).exists()


WRITER_SCRIPT = textwrap.dedent("""
    import sys, time
    from objstore.common.path_hash import PathHasher
    from objstore.obj.diskfile import FsDiskFileManager
    hasher = PathHasher.from_salt("test-prefix", "test-suffix")
    df = FsDiskFileManager(sys.argv[1], hasher).get_diskfile("sda", "7", "AUTH_a", "c", "o")
    writer = df.writer(10 * 65536)
    for i in range(3):
        writer.write(b"x" * 65536)
    print("streaming", flush=True)
    time.sleep(60)
""")


def test_writer_killed_mid_put_leaves_only_a_temp_file(fs_manager, tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(tmp_path)],
                            stdout=subprocess.PIPE, cwd=os.getcwd(),
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    try:
        assert proc.stdout.readline().strip() == b"streaming"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    with pytest.raises(DiskFileNotExist):
        _df(fs_manager).open()
    assert not (tmp_path / "sda" / "objects").exists()
    leftovers = os.listdir(tmp_path / "sda" / "tmp")
    assert len(leftovers) == 1 and leftovers[0].startswith(".obj-")
    # and the next writer is not disturbed by the leftover
    _put(fs_manager, b"fine", time.time())
    assert _read(fs_manager)[0] == b"fine"


def test_large_objects_leave_the_page_cache_once_durable(fs_manager, monkeypatch):
    from objstore.common import durable_fs
    dropped = []
    monkeypatch.setattr(durable_fs, "drop_buffer_cache", lambda fd, *a: dropped.append(fd))
    fs_manager.keep_cache_size = 10
    _put(fs_manager, b"x" * 10, 1, obj="small")
    assert dropped == []
    _put(fs_manager, b"x" * 11, 2, obj="large")
    assert len(dropped) == 1
    df = _df(fs_manager, "large")
    df.open()
    assert b"".join(df.reader()) == b"x" * 11   # advice only: the data is intact
    df.close()


def test_large_bodies_are_handed_to_the_disk_while_they_stream(fs_manager, monkeypatch):
    from objstore.common import durable_fs
    from objstore.obj.diskfile import fs as fs_module
    advised = []
    real_drop = durable_fs.drop_buffer_cache

    def record(fd, offset=0, length=0):
        advised.append((offset, length))
        real_drop(fd, offset, length)     # the real advice: the bytes must survive it
    monkeypatch.setattr(durable_fs, "drop_buffer_cache", record)
    monkeypatch.setattr(fs_module, "WRITE_BEHIND_BYTES", 6)
    fs_manager.keep_cache_size = 10
    _put(fs_manager, b"s" * 10, 1, obj="small")   # kept in cache: no advice at all
    assert advised == []
    body = bytes(range(256)) * 2
    meta = _put(fs_manager, body, 2, obj="large")  # written 3 bytes at a time
    *steps, final = advised
    assert final == (0, 0)                         # the whole file once durable
    # every step of 6 new bytes past keep_cache_size is queued for writing as it
    # arrives; each advice also covers the step before (evicted by now)
    ends = [offset + length for offset, length in steps]
    assert ends[0] == 12 and all(b - a == 6 for a, b in zip(ends, ends[1:]))
    assert ends[-1] > len(body) - 6
    assert [offset for offset, _ in steps] == [0, 0] + ends[:-2]
    data, df = _read(fs_manager, obj="large")
    assert data == body and df.metadata["ETag"] == meta["ETag"]


def test_reads_ask_for_the_next_step_before_reading_this_one(fs_manager, monkeypatch):
    from objstore.common import durable_fs
    asked = []
    real_prefetch = durable_fs.prefetch

    def record(fd, offset, length):
        asked.append((offset, length))
        real_prefetch(fd, offset, length)   # the real advice: the bytes must survive it
    monkeypatch.setattr(durable_fs, "prefetch", record)
    _put(fs_manager, b"0123456789", 1)
    assert _read(fs_manager, chunk_size=4)[0] == b"0123456789"
    assert asked == [(4, 4), (8, 2)]        # never past the end, nothing for the first
    asked.clear()
    assert _read(fs_manager, start=1, end=7, chunk_size=4)[0] == b"123456"
    assert asked == [(5, 2)]
    asked.clear()
    assert _read(fs_manager, chunk_size=16)[0] == b"0123456789"
    assert asked == []                      # one step: nothing to ask for ahead
