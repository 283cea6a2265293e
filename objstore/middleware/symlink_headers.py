"""The names a symlink is made of, and the two forms of them.

Clients speak ``X-Symlink-Target`` (``<container>/<object>``, percent-quoted),
``X-Symlink-Target-Account`` and, for a *static* link, ``X-Symlink-Target-Etag``
and ``-Bytes``.  The object itself keeps them as object sysmeta
(``X-Object-Sysmeta-Symlink-*``): the gatekeeper never lets a client send or
see sysmeta, so only this filter (or a middleware acting for it, such as
object versioning) can make an object a link.

The container listing learns about a link through the ETag its row stores:
``<md5 of nothing>; symlink_target=<c/o>[; symlink_target_account=<a>]
[; symlink_target_etag=<etag>; symlink_target_bytes=<n>]``
(:func:`listing_etag`), which :mod:`objstore.middleware.symlink_listing`
turns back into ``symlink_path``/``symlink_etag``/``symlink_bytes``.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, MutableMapping, Optional

TARGET = "X-Symlink-Target"
TARGET_ACCOUNT = "X-Symlink-Target-Account"
TARGET_ETAG = "X-Symlink-Target-Etag"
TARGET_BYTES = "X-Symlink-Target-Bytes"

SYSMETA_TARGET = "X-Object-Sysmeta-Symlink-Target"
SYSMETA_TARGET_ACCOUNT = "X-Object-Sysmeta-Symlink-Target-Account"
SYSMETA_TARGET_ETAG = "X-Object-Sysmeta-Symlink-Target-Etag"
SYSMETA_TARGET_BYTES = "X-Object-Sysmeta-Symlink-Target-Bytes"
# Set by a middleware writing links on a client's behalf (object versioning):
# following such a link does not count towards symloop_max ...
SYSMETA_SYMLOOP_EXTEND = "X-Object-Sysmeta-Symloop-Extend"
# ... and it may point at a reserved (internal) name, so it is followed as an
# already-authorized request.
SYSMETA_ALLOW_RESERVED_NAMES = "X-Object-Sysmeta-Allow-Reserved-Names"
BACKEND_ALLOW_RESERVED_NAMES = "X-Backend-Allow-Reserved-Names"

OVERRIDE_ETAG = "X-Object-Sysmeta-Container-Update-Override-Etag"
MD5_OF_NOTHING = "d41d8cd98f00b204e9800998ecf8427e"
DEFAULT_CONTENT_TYPE = "application/symlink"

# Client name -> sysmeta name, in the order a listing ETag carries them.
CLIENT_TO_SYSMETA = ((TARGET, SYSMETA_TARGET), (TARGET_ACCOUNT, SYSMETA_TARGET_ACCOUNT),
                     (TARGET_ETAG, SYSMETA_TARGET_ETAG), (TARGET_BYTES, SYSMETA_TARGET_BYTES))
LISTING_PARAMS = MappingProxyType({SYSMETA_TARGET: "symlink_target",
                                   SYSMETA_TARGET_ACCOUNT: "symlink_target_account",
                                   SYSMETA_TARGET_ETAG: "symlink_target_etag",
                                   SYSMETA_TARGET_BYTES: "symlink_target_bytes"})


def normalize_etag(value: Optional[str]) -> Optional[str]:
    """An ETag without the quotes HTTP allows around it (None stays None)."""
    if value is None:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


def is_link(headers: Mapping[str, str]) -> bool:
    return bool(headers.get(SYSMETA_TARGET))


def sysmeta_to_client(headers: MutableMapping[str, str]) -> None:
    """Show a link's sysmeta under the client names (``?symlink=get``)."""
    for client_name, sysmeta_name in CLIENT_TO_SYSMETA:
        value = headers.pop(sysmeta_name, None)
        if value is not None:
            headers[client_name] = value


def listing_etag(headers: Mapping[str, str]) -> str:
    """The ETag a link's container row stores (see the module docstring).

    An override another filter already set (an SLO's ``slo_etag``) keeps its
    own parameters; link parameters from an earlier write (a copied link's
    sysmeta) are replaced, never repeated.
    """
    base, *params = [part.strip() for part in
                     (headers.get(OVERRIDE_ETAG) or MD5_OF_NOTHING).split(";")]
    kept = [p for p in params if p and not p.lower().startswith("symlink_target")]
    for sysmeta_name, param in LISTING_PARAMS.items():
        value = headers.get(sysmeta_name)
        if value:
            kept.append("%s=%s" % (param, value))
    return "; ".join([base] + kept)
