"""Where a name lives: the salted md5 of ``/<account>/<container>/<object>``.

The salt (``hash_path_prefix`` / ``hash_path_suffix`` from objstore.conf) keeps
an outsider from choosing names that all land on one partition.  Every process
of a cluster must use the same salt, so it is configured once at start-up from
the cluster config and a process refuses to hash paths before that.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Optional

from objstore.common.http_text import str_to_bytes


class HashPathNotConfigured(RuntimeError):
    """Raised when a path is hashed before the cluster salt was set."""


_salt: Optional[tuple[bytes, bytes]] = None


def configure_hash_path(prefix: str, suffix: str) -> None:
    """Set the cluster-wide salt.  Both parts empty is refused: that is an unsalted cluster."""
    global _salt
    if not prefix and not suffix:
        raise HashPathNotConfigured(
            "hash_path_prefix and hash_path_suffix are both empty; set at least one "
            "secret value in objstore.conf [hash] (and never change it afterwards)")
    _salt = (prefix.encode("utf-8"), suffix.encode("utf-8"))


def hash_path_configured() -> bool:
    return _salt is not None


def _to_bytes(part: str | bytes) -> bytes:
    return part if isinstance(part, bytes) else str_to_bytes(part)


def hash_path(account: str | bytes, container: str | bytes | None = None,
              obj: str | bytes | None = None, raw_digest: bool = False) -> str | bytes:
    """Return the md5 hex digest (or raw digest) that places this name on the ring."""
    if _salt is None:
        raise HashPathNotConfigured(
            "the cluster hash salt is not configured (objstore.conf [hash])")
    if obj is not None and container is None:
        raise ValueError("an object needs a container")
    parts = [_to_bytes(account)]
    if container is not None:
        parts.append(_to_bytes(container))
    if obj is not None:
        parts.append(_to_bytes(obj))
    prefix, suffix = _salt
    digest = hashlib.md5(prefix + b"/" + b"/".join(parts) + suffix, usedforsecurity=False)
    return digest.digest() if raw_digest else digest.hexdigest()


def hash_suffix(name_hash: str) -> str:
    """The suffix directory for a hash: its last three hex digits."""
    return name_hash[-3:]


def derive_cluster_secret(purpose: str) -> bytes:
    """A secret every process of this cluster derives alike, without storing it.

    Middleware that signs things (auth tokens) needs a key that all proxy
    workers and restarts agree on; the hash salt already is such a shared
    secret.  HMAC-ing it with ``purpose`` gives each user its own key and
    never reveals the salt itself.
    """
    if _salt is None:
        raise HashPathNotConfigured(
            "the cluster hash salt is not configured (objstore.conf [hash])")
    prefix, suffix = _salt
    key = prefix + b"/" + suffix
    return hmac.new(key, b"objstore-derived-secret:" + purpose.encode("utf-8"),
                    hashlib.sha256).digest()
