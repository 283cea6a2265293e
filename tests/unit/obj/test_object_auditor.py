"""The object auditor against both DiskFile backends, then file-system-only cases."""
import hashlib
import os
import time
import zlib

import pytest

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError
from objstore.common.timestamp import Timestamp
from objstore.obj import auditor as auditor_module
from objstore.obj.auditor import ObjectAuditor
from objstore.obj.diskfile import DiskFileRouter, FsDiskFileManager, MemDiskFileManager
from objstore.obj.diskfile import metadata as mdcodec

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")
PART = "7"
CRC_KEY = "X-Backend-Data-Crc32"


class Store:
    """One node's objects on one backend, with ways to break them behind the DiskFile's back."""

    def __init__(self, kind, root):
        self.kind = kind
        self.root = root
        if kind == "fs":
            os.makedirs(os.path.join(root, "sda"))
            self.router = DiskFileRouter(CLUSTER.policies, lambda policy: FsDiskFileManager(
                root, CLUSTER.hasher, policy=policy))
        else:
            self.router = DiskFileRouter(CLUSTER.policies, lambda policy: MemDiskFileManager(
                CLUSTER.hasher, devices=["sda"], policy=policy))
        self.manager = self.router[0]

    def auditor(self, **conf):
        options = {"devices": self.root, "files_per_second": "0", "bytes_per_second": "0"}
        options.update({key: str(value) for key, value in conf.items()})
        return ObjectAuditor(CLUSTER, options, managers=self.router)

    def put(self, obj, body, when=None, **extra):
        df = self.manager.get_diskfile("sda", PART, "AUTH_a", "c", obj)
        stamp = Timestamp(when or time.time()).internal
        with df.writer(len(body)) as writer:
            writer.write(body)
            meta = {"X-Timestamp": stamp, "Content-Type": "text/plain",
                    "Content-Length": str(len(body)), "ETag": writer.etag}
            meta.update(extra)
            writer.put({k: v for k, v in meta.items() if v is not None})
        return stamp

    def put_exactly(self, obj, body, crc=None, etag=None):
        """Store ``body`` with exactly this metadata: no CRC (written before
        CRCs were stored) or the stored CRC value given."""
        df = self.manager.get_diskfile("sda", PART, "AUTH_a", "c", obj)
        meta = {"X-Timestamp": Timestamp(time.time()).internal, "Content-Type": "text/plain",
                "Content-Length": str(len(body)),
                "ETag": etag or hashlib.md5(body).hexdigest()}
        if crc is not None:
            meta[CRC_KEY] = crc
        with df.writer(len(body)) as writer:
            writer.write(body)
            writer._put(meta)

    def name_hash(self, obj):
        return str(CLUSTER.hasher.hash_path("AUTH_a", "c", obj))

    def read(self, obj):
        df = self.manager.get_diskfile("sda", PART, "AUTH_a", "c", obj).open()
        try:
            return b"".join(df.reader())
        finally:
            df.close()

    def hash_dir(self, obj):
        name_hash = self.name_hash(obj)
        return os.path.join(self.root, "sda", "objects", PART, name_hash[-3:], name_hash)

    def rewrite_body(self, obj, change):
        """Replace the stored bytes of ``obj``'s .data with ``change(bytes)``."""
        if self.kind == "fs":
            hash_dir = self.hash_dir(obj)
            (name,) = [n for n in os.listdir(hash_dir) if n.endswith(".data")]
            path = os.path.join(hash_dir, name)
            with open(path, "rb") as handle:
                body = handle.read()
            with open(path, "r+b") as handle:  # in place: the xattrs stay
                handle.truncate(0)
                handle.write(change(body))
            return
        files = self.manager.objects[("sda", PART, self.name_hash(obj))]
        (name,) = [n for n in files if n.endswith(".data")]
        body, meta = files[name]
        files[name] = (change(body), meta)

    def is_quarantined(self, obj):
        if self.kind == "fs":
            target = os.path.join(self.root, "sda", "quarantined", "objects",
                                  self.name_hash(obj))
            return os.path.isdir(target) and not os.path.exists(self.hash_dir(obj))
        return any(key[2] == self.name_hash(obj) for key, _f, _r in self.manager.quarantined)


@pytest.fixture(params=["fs", "mem"])
def store(request, tmp_path):
    return Store(request.param, str(tmp_path / "node"))


def _flip_last_byte(body):
    return body[:-1] + bytes([body[-1] ^ 0x01])


# -- contract: both backends ----------------------------------------------------

def test_healthy_objects_pass_and_every_byte_is_read(store):
    store.put("a", b"x" * 100_000)
    store.put("b", b"hello")
    stats = store.auditor().run_once()
    assert (stats.objects, stats.passed, stats.quarantined, stats.errors) == (2, 2, 0, 0)
    assert stats.bytes_read == 100_005
    assert store.read("a") == b"x" * 100_000


def test_flipped_byte_is_quarantined_not_deleted(store):
    store.put("good", b"fine")
    store.put("bad", b"some bytes that will rot" * 1000)
    store.rewrite_body("bad", _flip_last_byte)
    stats = store.auditor().run_once()
    assert (stats.passed, stats.quarantined) == (1, 1)
    assert store.is_quarantined("bad")
    assert not store.is_quarantined("good")
    assert store.auditor().run_once().objects == 1  # it is gone from the object's place


def test_quick_mode_reads_no_bytes_but_catches_a_truncated_file(store):
    store.put("flipped", b"abcdef")
    store.put("short", b"abcdef")
    store.rewrite_body("flipped", _flip_last_byte)
    store.rewrite_body("short", lambda body: body[:3])
    stats = store.auditor(mode="quick").run_once()
    assert stats.bytes_read == 0
    assert (stats.passed, stats.quarantined) == (1, 1)
    assert store.is_quarantined("short") and not store.is_quarantined("flipped")
    assert store.auditor().run_once(mode="full").quarantined == 1  # full mode finds the flip


def test_metadata_without_an_etag_is_quarantined(store):
    store.put("no-etag", b"abc", ETag=None)
    store.put("bad-length", b"abc", **{"Content-Length": "three"})
    assert store.auditor().run_once().quarantined == 2
    assert store.is_quarantined("no-etag") and store.is_quarantined("bad-length")


def test_unusable_stored_crc_is_quarantined(store):
    store.put("good", b"abc")
    store.put_exactly("garbled", b"abc", crc="not a crc")
    other = hashlib.md5(b"other").hexdigest()
    store.put_exactly("other-etag", b"abc", crc="%08x %s" % (zlib.crc32(b"abc"), other))
    stats = store.auditor(mode="quick").run_once()
    assert (stats.passed, stats.quarantined) == (1, 2)
    assert store.is_quarantined("garbled") and store.is_quarantined("other-etag")
    assert not store.is_quarantined("good")


def test_objects_from_before_crcs_are_audited_with_the_md5(store):
    store.put_exactly("old-good", b"old bytes" * 100)
    store.put_exactly("old-bad", b"old bytes" * 100)
    store.rewrite_body("old-bad", _flip_last_byte)
    stats = store.auditor().run_once()
    assert (stats.passed, stats.quarantined) == (1, 1)
    assert store.is_quarantined("old-bad") and not store.is_quarantined("old-good")


def test_expired_and_deleted_objects(store):
    store.put("expired", b"old", **{"X-Delete-At": "1"})
    store.rewrite_body("expired", _flip_last_byte)
    store.put("deleted", b"gone")
    store.manager.get_diskfile("sda", PART, "AUTH_a", "c", "deleted").delete(
        Timestamp(time.time() + 1))
    stats = store.auditor().run_once()
    assert (stats.objects, stats.quarantined) == (1, 1)  # a tombstone has nothing to audit
    assert store.is_quarantined("expired")


def test_reads_are_held_to_the_configured_rates(store, monkeypatch):
    used = {}

    class Recording(auditor_module.RateLimiter):
        def __init__(self, rate, **kwargs):
            super().__init__(rate, pause=lambda seconds: None)
            used.setdefault(rate, []).append(self)

        def consume(self, amount):
            self.total = getattr(self, "total", 0) + amount
            super().consume(amount)

    monkeypatch.setattr(auditor_module, "RateLimiter", Recording)
    store.put("a", b"1" * 3000)
    store.put("b", b"2" * 4000)
    store.auditor(bytes_per_second=1000, files_per_second=3).run_once()
    assert used[1000][0].total == 7000
    assert used[3][0].total == 2


def test_config_is_checked():
    with pytest.raises(ConfigError):
        ObjectAuditor(CLUSTER, {"mode": "thorough"}, managers=Store("mem", "").router)
    with pytest.raises(ConfigError):
        ObjectAuditor(CLUSTER, {"bytes_per_second": "-1"}, managers=Store("mem", "").router)


# -- the file system only ----------------------------------------------------------

@pytest.fixture
def fs_store(tmp_path):
    return Store("fs", str(tmp_path / "node"))


def test_quarantine_marks_the_suffix_for_the_replicator(fs_store):
    fs_store.put("keep", b"k")
    fs_store.put("rot", b"r" * 10)
    suffix = fs_store.name_hash("rot")[-3:]
    before = fs_store.manager.suffix_hashes("sda", PART)
    assert suffix in before
    fs_store.rewrite_body("rot", _flip_last_byte)
    assert fs_store.manager.suffix_hashes("sda", PART) == before  # cached: rot unseen
    fs_store.auditor().run_once()
    after = fs_store.manager.suffix_hashes("sda", PART)
    assert after.get(suffix) != before[suffix]
    quarantined = os.path.join(fs_store.root, "sda", "quarantined", "objects",
                               fs_store.name_hash("rot"))
    assert [n for n in os.listdir(quarantined) if n.endswith(".data")]


def test_undecodable_metadata_is_quarantined(fs_store):
    fs_store.put("garbled", b"abc")
    hash_dir = fs_store.hash_dir("garbled")
    (name,) = os.listdir(hash_dir)
    os.setxattr(os.path.join(hash_dir, name), mdcodec.XATTR_KEY, b"\x80\x03}q\x00.")
    stats = fs_store.auditor(mode="quick").run_once()
    assert stats.quarantined == 1 and fs_store.is_quarantined("garbled")


def test_stale_temp_files_go_fresh_ones_stay(fs_store):
    tmp_dir = os.path.join(fs_store.root, "sda", "tmp")
    os.makedirs(tmp_dir, exist_ok=True)
    stale, fresh = os.path.join(tmp_dir, ".obj-stale"), os.path.join(tmp_dir, ".obj-fresh")
    for path in (stale, fresh):
        with open(path, "wb") as handle:
            handle.write(b"partial upload")
    two_days_ago = time.time() - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))
    stats = fs_store.auditor().run_once()
    assert stats.temp_files_removed == 1
    assert os.listdir(tmp_dir) == [".obj-fresh"]


def test_orphaned_meta_and_sidecar_without_data_are_removed(fs_store):
    fs_store.put("orphan", b"abc")
    fs_store.put("whole", b"xyz")
    df = fs_store.manager.get_diskfile("sda", PART, "AUTH_a", "c", "orphan")
    df.write_metadata({"X-Timestamp": Timestamp(time.time() + 1).internal,
                       "X-Object-Meta-Big": "v" * 5000})  # spills to a sidecar
    hash_dir = fs_store.hash_dir("orphan")
    (data,) = [n for n in os.listdir(hash_dir) if n.endswith(".data")]
    os.unlink(os.path.join(hash_dir, data))  # lost behind the DiskFile's back
    assert len(os.listdir(hash_dir)) == 2     # the .meta and its .spill
    stats = fs_store.auditor().run_once()
    assert stats.objects == 1 and stats.passed == 1
    assert not os.path.exists(hash_dir)
    assert fs_store.read("whole") == b"xyz"
