"""Where a name lives: the salted md5 of ``/<account>/<container>/<object>``.

The salt (``hash_path_prefix`` / ``hash_path_suffix`` from objstore.conf) keeps
an outsider from choosing names that all land on one partition.  Every process
of a cluster must use the same salt, so it comes from the cluster config as a
:class:`PathHasher` that the ring, the brokers and DiskFile are handed; a
cluster without a salt cannot build one.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac

from objstore.common.http_text import str_to_bytes


class HashPathNotConfigured(ValueError):
    """Raised when a cluster's salt is missing (both parts empty)."""


def _to_bytes(part: str | bytes) -> bytes:
    return part if isinstance(part, bytes) else str_to_bytes(part)


@dataclasses.dataclass(frozen=True)
class PathHasher:
    """One cluster's salted path hash; immutable, so processes and tests can share one."""
    prefix: bytes
    suffix: bytes

    @classmethod
    def from_salt(cls, prefix: str, suffix: str) -> "PathHasher":
        """Both parts empty is refused: that is an unsalted cluster."""
        if not prefix and not suffix:
            raise HashPathNotConfigured(
                "hash_path_prefix and hash_path_suffix are both empty; set at least one "
                "secret value in objstore.conf [hash] (and never change it afterwards)")
        return cls(prefix.encode("utf-8"), suffix.encode("utf-8"))

    def hash_path(self, account: str | bytes, container: str | bytes | None = None,
                  obj: str | bytes | None = None, raw_digest: bool = False) -> str | bytes:
        """Return the md5 hex digest (or raw digest) that places this name on the ring."""
        if obj is not None and container is None:
            raise ValueError("an object needs a container")
        parts = [_to_bytes(account)]
        if container is not None:
            parts.append(_to_bytes(container))
        if obj is not None:
            parts.append(_to_bytes(obj))
        digest = hashlib.md5(self.prefix + b"/" + b"/".join(parts) + self.suffix,
                             usedforsecurity=False)
        return digest.digest() if raw_digest else digest.hexdigest()

    def derive_secret(self, purpose: str) -> bytes:
        """A secret every process of this cluster derives alike, without storing it.

        Middleware that signs things (auth tokens) needs a key that all proxy
        workers and restarts agree on; the hash salt already is such a shared
        secret.  HMAC-ing it with ``purpose`` gives each user its own key and
        never reveals the salt itself.
        """
        key = self.prefix + b"/" + self.suffix
        return hmac.new(key, b"objstore-derived-secret:" + purpose.encode("utf-8"),
                        hashlib.sha256).digest()

    def __repr__(self) -> str:
        # The salt is a secret: never let it reach a log line.
        return "PathHasher(<salted>)"


def hash_suffix(name_hash: str) -> str:
    """The suffix directory for a hash: its last three hex digits."""
    return name_hash[-3:]
