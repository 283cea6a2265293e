"""Storage policies: which rule (replication now, erasure coding later) holds an object.

Policy index 0 is the default 3-replica policy.  The index travels with every
backend request (``X-Backend-Storage-Policy-Index``) and names the on-disk
directory (``objects`` for 0, ``objects-<n>`` otherwise) and the ring file
(``object.ring.gz`` / ``object-<n>.ring.gz``) from day one, so adding policies
later moves no data.
"""
from __future__ import annotations

import dataclasses
import types
from typing import Iterable, Iterator, Optional

from objstore.common.config import ConfigError, ConfigSection

POLICY_INDEX_HEADER = "X-Backend-Storage-Policy-Index"
# The proxy's default policy, sent with a container PUT that names none.
POLICY_DEFAULT_HEADER = "X-Backend-Storage-Policy-Default"
REPLICATION = "replication"
ERASURE_CODING = "erasure_coding"


@dataclasses.dataclass(frozen=True)
class StoragePolicy(ConfigSection):
    index: int = 0
    name: str = "Policy-0"
    policy_type: str = REPLICATION
    default: bool = False
    deprecated: bool = False
    aliases: tuple = ()
    # erasure coding (later): pyeclib backend and fragment layout
    ec_type: str = ""
    ec_num_data_fragments: int = 0
    ec_num_parity_fragments: int = 0
    ec_object_segment_size: int = 1048576

    def validate(self) -> None:
        if self.policy_type not in (REPLICATION, ERASURE_CODING):
            raise ConfigError("option 'policy_type': unknown type %r (want %s or %s)" % (
                self.policy_type, REPLICATION, ERASURE_CODING))
        if self.index < 0:
            raise ConfigError("storage policy index must be >= 0")

    @property
    def data_dir(self) -> str:
        return "objects" if self.index == 0 else "objects-%d" % self.index

    @property
    def async_dir(self) -> str:
        return "async_pending" if self.index == 0 else "async_pending-%d" % self.index

    @property
    def ring_name(self) -> str:
        return "object" if self.index == 0 else "object-%d" % self.index

    def info(self) -> dict:
        """What ``GET /info`` tells clients about this policy (as Swift words it)."""
        out: dict = {"name": self.name, "aliases": ", ".join([self.name] + list(self.aliases))}
        if self.default:
            out["default"] = True
        return out


class PolicyCollection:
    """A cluster's policies by index; read-only once built (it is part of the ClusterConfig)."""

    def __init__(self, policies: Optional[Iterable[StoragePolicy]] = None):
        policies = list(policies or ()) or [StoragePolicy(index=0, name="Policy-0", default=True)]
        seen_idx: set[int] = set()
        seen_names: set[str] = set()
        for pol in policies:
            if pol.index in seen_idx:
                raise ConfigError("duplicate storage policy index %d" % pol.index)
            for name in [pol.name] + list(pol.aliases):
                if name.lower() in seen_names:
                    raise ConfigError("duplicate storage policy name %r" % name)
                seen_names.add(name.lower())
            seen_idx.add(pol.index)
        defaults = [p for p in policies if p.default]
        if len(defaults) > 1:
            raise ConfigError("more than one default storage policy")
        if any(p.deprecated for p in defaults):
            raise ConfigError("the default storage policy cannot be deprecated")
        if not defaults:
            # Swift: with one policy it is the default; otherwise policy 0.
            zero = [p for p in policies if p.index == 0]
            chosen = (zero or policies)[0]
            policies = [dataclasses.replace(p, default=True) if p is chosen else p
                        for p in policies]
        self._by_index = types.MappingProxyType(
            {p.index: p for p in sorted(policies, key=lambda p: p.index)})

    def __iter__(self) -> Iterator[StoragePolicy]:
        return iter(self._by_index.values())

    def __len__(self) -> int:
        return len(self._by_index)

    @property
    def default(self) -> StoragePolicy:
        return next(p for p in self if p.default)

    def get_by_index(self, index: int | str | None) -> Optional[StoragePolicy]:
        if index is None or index == "":
            return self._by_index.get(0)
        try:
            return self._by_index.get(int(index))
        except (TypeError, ValueError):
            return None

    def info(self) -> list[dict]:
        """The policies ``GET /info`` lists: deprecated ones take no new containers,
        so clients are not offered them."""
        return [p.info() for p in self if not p.deprecated]

    def get_by_name(self, name: str) -> Optional[StoragePolicy]:
        lowered = name.lower()
        for pol in self:
            if pol.name.lower() == lowered or lowered in (a.lower() for a in pol.aliases):
                return pol
        return None
