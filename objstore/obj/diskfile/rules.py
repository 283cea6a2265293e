"""Which files of an object count: the one place that says "newest wins".

An object's hash directory may hold several generations at once (a replica
that missed a DELETE, a PUT racing a POST).  Both DiskFile implementations and
every daemon decide with these functions, so they can never disagree:

- the newest ``.data`` or ``.ts`` wins; everything older of either is obsolete;
- a ``.meta`` applies only when it is newer than the winning ``.data``; the
  newest such ``.meta`` is kept, older ``.meta`` files are obsolete, and a
  ``.meta`` next to a winning tombstone is obsolete too;
- a sidecar (``<file>.spill``) lives and dies with its owner file; a sidecar
  whose owner is missing is kept only while it is newer than the winner (its
  owner may be about to be renamed in).
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Iterable, Mapping, Optional

from objstore.common.timestamp import InvalidTimestamp, Timestamp
from objstore.obj.diskfile.metadata import SPILL_SUFFIX

DATA_EXT = ".data"
TOMBSTONE_EXT = ".ts"
META_EXT = ".meta"
OBJECT_EXTS = (DATA_EXT, TOMBSTONE_EXT, META_EXT)

# Keys bound to the bytes of the .data file: a POST can never change them.
DATA_BOUND_KEYS = frozenset(("content-length", "etag", "x-static-large-object"))
DATA_BOUND_PREFIXES = ("x-object-sysmeta-", "x-backend-")
# Keys a POST (.meta) may set; user metadata and transient sysmeta are replaced
# wholesale by a POST.
POST_REPLACEABLE_PREFIXES = ("x-object-meta-", "x-object-transient-sysmeta-")


def parse_name(filename: str) -> Optional[tuple[Timestamp, str]]:
    """``(timestamp, ext)`` for an object file name, None for anything else."""
    for ext in OBJECT_EXTS:
        if filename.endswith(ext):
            try:
                return Timestamp(filename[:-len(ext)]), ext
            except (InvalidTimestamp, ValueError):
                return None
    return None


def file_name(timestamp: Timestamp, ext: str) -> str:
    return timestamp.internal + ext


def sidecar_name(owner: str) -> str:
    return owner + SPILL_SUFFIX


@dataclasses.dataclass
class FileChoice:
    """The files that make up the current state of one object."""
    data: Optional[str] = None        # winning .data name
    tombstone: Optional[str] = None   # winning .ts name
    meta: Optional[str] = None        # .meta that applies to ``data``
    obsolete: list = dataclasses.field(default_factory=list)

    @property
    def winner(self) -> Optional[str]:
        return self.data or self.tombstone


def choose_files(filenames: Iterable[str]) -> FileChoice:
    """Sort a hash directory's names into winner, applying .meta and obsolete."""
    parsed: list[tuple[Timestamp, str, str]] = []
    sidecars: list[str] = []
    for name in filenames:
        if name.endswith(SPILL_SUFFIX):
            sidecars.append(name)
            continue
        info = parse_name(name)
        if info is not None:
            parsed.append((info[0], info[1], name))
    # Newest first; for equal timestamps a tombstone outranks data (a DELETE and a
    # PUT at the same instant: the DELETE is what a replay would leave).
    rank = {TOMBSTONE_EXT: 0, DATA_EXT: 1, META_EXT: 2}
    parsed.sort(key=lambda item: (item[0], -rank[item[1]]), reverse=True)
    choice = FileChoice()
    winner_ts: Optional[Timestamp] = None
    for stamp, ext, name in parsed:
        if ext == META_EXT:
            continue
        if winner_ts is None:
            winner_ts = stamp
            if ext == DATA_EXT:
                choice.data = name
            else:
                choice.tombstone = name
        else:
            choice.obsolete.append(name)
    for stamp, ext, name in parsed:
        if ext != META_EXT:
            continue
        if choice.data and choice.meta is None and stamp > winner_ts:
            choice.meta = name
        else:
            choice.obsolete.append(name)
    keep = {n for n in (choice.data, choice.tombstone, choice.meta) if n}
    for name in sidecars:
        owner = name[:-len(SPILL_SUFFIX)]
        if owner in keep:
            continue
        info = parse_name(owner)
        if info is None:
            choice.obsolete.append(name)
        elif owner in choice.obsolete or winner_ts is None or info[0] <= winner_ts:
            choice.obsolete.append(name)
    return choice


def is_expired(metadata: Mapping[str, str], now: float) -> bool:
    """Whether the object's ``X-Delete-At`` has passed (an unreadable value never expires)."""
    delete_at = metadata.get("X-Delete-At")
    if not delete_at or not delete_at.isascii() or not delete_at.strip().isdigit():
        return False
    return int(delete_at) <= now


def merge_metadata(data_meta: Mapping[str, str],
                   post_meta: Optional[Mapping[str, str]]) -> dict[str, str]:
    """The metadata a client sees: the .data's, with a newer .meta applied.

    The .meta replaces everything a POST may change (user metadata, transient
    sysmeta, X-Delete-At, Content-Disposition, ...) and sets X-Timestamp; the
    keys bound to the bytes (ETag, Content-Length, sysmeta) always come from
    the .data.  Content-Type comes from the .meta only when the POST sent one.
    """
    if not post_meta:
        return dict(data_meta)
    merged: dict[str, str] = {}
    for key, value in data_meta.items():
        lower = key.lower()
        if lower in DATA_BOUND_KEYS or lower.startswith(DATA_BOUND_PREFIXES) \
                or lower == "content-type":
            merged[key] = value
    merged.update(post_meta)
    return merged


def is_post_replaceable(key: str) -> bool:
    return key.lower().startswith(POST_REPLACEABLE_PREFIXES)


# -- replication: what a hash directory's state is, and what a peer lacks ------

DEFAULT_RECLAIM_AGE = 7 * 24 * 3600  # seconds a tombstone outlives its object


def current_files(filenames: Iterable[str]) -> list[str]:
    """The files that make up an object's state (no sidecars, nothing obsolete), sorted."""
    choice = choose_files(filenames)
    return sorted(n for n in (choice.data, choice.tombstone, choice.meta) if n)


def reclaimable(filenames: Iterable[str], now: float, reclaim_age: float) -> bool:
    """True when the object is only a tombstone older than ``reclaim_age``.

    A tombstone must outlive every replica that might still hold the object
    it deleted (a node down for days); dropped earlier, replication would
    bring the object back.
    """
    choice = choose_files(filenames)
    if not choice.tombstone:
        return False
    return parse_name(choice.tombstone)[0].seconds < now - reclaim_age


def wanted_files(local: Iterable[str], offered: Iterable[str]) -> list[str]:
    """The offered file names a receiver should store: what the newest-wins rules keep.

    Anything the union's winner makes obsolete (an older .data than the local
    tombstone, a .meta older than the data) is not wanted.
    """
    local = set(local)
    offered = [name for name in offered if parse_name(name) is not None]
    keep = set(current_files(local | set(offered)))
    return sorted(name for name in offered if name in keep and name not in local)


def suffix_digest(hash_files: Mapping[str, Iterable[str]]) -> Optional[str]:
    """One MD5 over a suffix's hashes and their current files; None for an empty suffix.

    Two replicas of a suffix agree exactly when their digests match, so the
    replicator only exchanges suffixes whose digests differ.
    """
    md5 = hashlib.md5(usedforsecurity=False)
    seen = False
    for name_hash in sorted(hash_files):
        files = list(hash_files[name_hash])
        if not files:
            continue
        seen = True
        md5.update(("%s:%s\n" % (name_hash, ",".join(sorted(files)))).encode("ascii"))
    return md5.hexdigest() if seen else None
