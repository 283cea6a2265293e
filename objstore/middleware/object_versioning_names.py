"""How object versioning names what it stores, and the headers it speaks.

Every version of ``<container>/<object>`` lives in the hidden container
``\\x00versions\\x00<container>`` as ``\\x00<object>\\x00<inverted timestamp>``:
reserved names (:mod:`objstore.common.reserved_names`) that no client can
spell.  The timestamp is inverted (``9999999999.99999 - t``) so that, in
name order, an object's versions run newest first, which is the order a
version listing shows them.  A version's id is the timestamp itself.
"""
from __future__ import annotations

from typing import Optional

from objstore.common.reserved_names import RESERVED, reserved_name, split_reserved_name
from objstore.common.timestamp import MAX_SECONDS, TICKS_PER_SECOND, Timestamp

CLIENT_VERSIONS_ENABLED = "X-Versions-Enabled"
SYSMETA_VERSIONS_ENABLED = "X-Container-Sysmeta-Versions-Enabled"
SYSMETA_VERSIONS_CONTAINER = "X-Container-Sysmeta-Versions-Container"
# On the user-visible link: "this link is a version pointer", not a client's symlink.
SYSMETA_VERSIONS_SYMLINK = "X-Object-Sysmeta-Versions-Symlink"
VERSION_ID = "X-Object-Version-Id"
VERSION_QUERY = "version-id"
NULL_VERSION = "null"
# (info_cache keys sysmeta by the lower-case name after the prefix)
INFO_ENABLED = "versions-enabled"
INFO_CONTAINER = "versions-container"

_MAX_TICKS = MAX_SECONDS * TICKS_PER_SECOND + (TICKS_PER_SECOND - 1)


def inverted(stamp: Timestamp) -> Timestamp:
    """The timestamp mirrored inside the representable range (its own inverse)."""
    return Timestamp(0, delta=_MAX_TICKS - stamp.ticks)


def versions_container(container: str) -> str:
    return reserved_name("versions", container)


def parent_container(hidden: str) -> Optional[str]:
    """The versioned container a hidden versions container belongs to (None: not one)."""
    try:
        parts = split_reserved_name(hidden)
    except ValueError:
        return None
    return parts[1] if len(parts) == 2 and parts[0] == "versions" else None


def version_prefix(obj: str) -> str:
    """What every version name of ``obj`` starts with."""
    return reserved_name(obj, "")


def version_object(obj: str, version: Timestamp) -> str:
    return reserved_name(obj, inverted(Timestamp(version.internal.split("_")[0])).internal)


def split_version_object(name: str) -> tuple[str, Optional[Timestamp]]:
    """``(object, version)`` for a version's name; ``(name, None)`` for another name."""
    if not name.startswith(RESERVED):
        return name, None
    obj, _sep, stamp = name[1:].rpartition(RESERVED)
    try:
        return obj, inverted(Timestamp(stamp))
    except ValueError:
        return name, None


def parse_version_id(text: str) -> Timestamp:
    """A client's ``version-id`` (anything but ``null``); ValueError when malformed."""
    stamp = Timestamp(text)
    if stamp.offset:
        raise ValueError("a version id has no offset")
    return stamp
