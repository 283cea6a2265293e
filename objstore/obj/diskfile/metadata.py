"""The object metadata encoding: versioned bytes, never pickle.

An object's metadata is a flat ``{str: str}`` dict (header names to values,
UTF-8 text, non-ASCII allowed).  It is stored as one *blob*::

    blob    = MAGIC version kind payload
    MAGIC   = b"OSM"            (3 bytes: "objstore metadata")
    version = b"\\x01"          (1 byte; bump it and keep a decoder for old ones)
    kind    = b"J" | b"S"        (1 byte)
    payload = UTF-8 JSON

``kind`` ``J``: the payload is the metadata itself, a JSON object of string
keys to string values.  ``kind`` ``S`` (*spill*): the payload is a small JSON
object ``{"file": <sidecar name>, "length": <bytes>, "md5": <hex>}`` naming a
sidecar file in the same directory whose whole content is a ``J`` blob.

Why a spill: ext4 keeps all of a file's extended attributes in the inode plus
one block (about 4 KB in total), but a PUT may carry 4 KB of user metadata plus
system metadata.  Metadata that does not fit is written to the sidecar
(atomically, before its owner file is renamed into place) and only the
reference goes into the xattr, so nothing is ever dropped or refused.

In xattrs the blob is cut into pieces of :data:`XATTR_CHUNK` bytes stored
under ``user.objstore.metadata``, ``user.objstore.metadata1``, ... (some file
systems limit a single value's size).  Reading stops at the first missing key.

This module only turns dicts into bytes and back; the file-system side
(reading and writing xattrs and sidecars) lives in :mod:`.fs`.
"""
from __future__ import annotations

import hashlib
import json
from typing import Mapping

MAGIC = b"OSM"
VERSION_1 = 1
KIND_INLINE = b"J"
KIND_SPILL = b"S"
HEADER_LEN = len(MAGIC) + 2

XATTR_KEY = "user.objstore.metadata"
XATTR_CHUNK = 1024
# Blobs up to this size stay in xattrs; larger ones spill to a sidecar.  Leaves
# room under ext4's ~4 KB per-inode budget for the key names and other xattrs
# (SELinux labels, ACLs) that may share the inode.
INLINE_LIMIT = 2048
SPILL_SUFFIX = ".spill"


class MetadataCorrupt(ValueError):
    """Bytes that are not a metadata blob this code can read."""


def _check_mapping(metadata: Mapping[str, str]) -> dict[str, str]:
    clean = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError("metadata keys must be str, got %r" % (key,))
        if isinstance(value, bytes):
            value = value.decode("utf-8", "surrogateescape")
        elif not isinstance(value, str):
            value = str(value)
        clean[key] = value
    return clean


def _json_bytes(obj: object) -> bytes:
    # surrogateescape round-trips header bytes that are not valid UTF-8
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return text.encode("utf-8", "surrogateescape")


def encode_inline(metadata: Mapping[str, str]) -> bytes:
    """The ``J`` blob for ``metadata``."""
    return MAGIC + bytes([VERSION_1]) + KIND_INLINE + _json_bytes(_check_mapping(metadata))


def encode_spill_ref(sidecar_name: str, sidecar_blob: bytes) -> bytes:
    """The ``S`` blob pointing at a sidecar that holds ``sidecar_blob``."""
    ref = {"file": sidecar_name, "length": len(sidecar_blob),
           "md5": hashlib.md5(sidecar_blob, usedforsecurity=False).hexdigest()}
    return MAGIC + bytes([VERSION_1]) + KIND_SPILL + _json_bytes(ref)


def _split_header(blob: bytes) -> tuple[bytes, bytes]:
    if len(blob) < HEADER_LEN or not blob.startswith(MAGIC):
        raise MetadataCorrupt("not an objstore metadata blob")
    version = blob[len(MAGIC)]
    if version != VERSION_1:
        raise MetadataCorrupt("unknown metadata version %d" % version)
    kind = blob[len(MAGIC) + 1:HEADER_LEN]
    if kind not in (KIND_INLINE, KIND_SPILL):
        raise MetadataCorrupt("unknown metadata kind %r" % kind)
    return kind, blob[HEADER_LEN:]


def _load_json(payload: bytes) -> dict:
    try:
        obj = json.loads(payload.decode("utf-8", "surrogateescape"))
    except ValueError as err:
        raise MetadataCorrupt("bad metadata JSON: %s" % err) from None
    if not isinstance(obj, dict):
        raise MetadataCorrupt("metadata JSON is not an object")
    return obj


def blob_kind(blob: bytes) -> bytes:
    return _split_header(blob)[0]


def decode_inline(blob: bytes) -> dict[str, str]:
    kind, payload = _split_header(blob)
    if kind != KIND_INLINE:
        raise MetadataCorrupt("expected inline metadata")
    obj = _load_json(payload)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in obj.items()):
        raise MetadataCorrupt("metadata values must be strings")
    return obj


def decode_spill_ref(blob: bytes) -> tuple[str, int, str]:
    """``(sidecar_name, length, md5)`` from an ``S`` blob."""
    kind, payload = _split_header(blob)
    if kind != KIND_SPILL:
        raise MetadataCorrupt("expected a spill reference")
    ref = _load_json(payload)
    try:
        name, length, md5 = str(ref["file"]), int(ref["length"]), str(ref["md5"])
    except (KeyError, TypeError, ValueError):
        raise MetadataCorrupt("bad spill reference") from None
    if "/" in name or name in (".", "..") or not name.endswith(SPILL_SUFFIX):
        raise MetadataCorrupt("bad spill file name %r" % name)
    return name, length, md5


def verify_sidecar(blob: bytes, length: int, md5: str) -> dict[str, str]:
    """Decode a sidecar's bytes after checking them against their reference."""
    if len(blob) != length or hashlib.md5(blob, usedforsecurity=False).hexdigest() != md5:
        raise MetadataCorrupt("spilled metadata does not match its checksum")
    return decode_inline(blob)


def split_for_xattrs(blob: bytes) -> list[tuple[str, bytes]]:
    """``[(xattr_key, piece), ...]`` for storing ``blob``."""
    pieces = []
    for index, start in enumerate(range(0, max(len(blob), 1), XATTR_CHUNK)):
        key = XATTR_KEY if index == 0 else "%s%d" % (XATTR_KEY, index)
        pieces.append((key, blob[start:start + XATTR_CHUNK]))
    return pieces


def xattr_key(index: int) -> str:
    return XATTR_KEY if index == 0 else "%s%d" % (XATTR_KEY, index)
