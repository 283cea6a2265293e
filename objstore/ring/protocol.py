"""What a reader of the ring may ask of it, as a type.

The proxy, its controllers and the node iterator depend on this Protocol
rather than on :class:`objstore.ring.ring.Ring`, so tests hand them a small
fake ring and a later ring (one per erasure-coded policy, a composite ring)
only has to answer the same four questions.
"""
from __future__ import annotations

from typing import Iterator, Optional, Protocol


class RingReader(Protocol):
    @property
    def replica_count(self) -> int:
        """How many primary nodes every partition has."""

    def get_part_nodes(self, part: int) -> list[dict]:
        """The primary nodes (device dicts) of ``part``."""

    def get_nodes(self, account: str, container: Optional[str] = None,
                  obj: Optional[str] = None) -> tuple[int, list[dict]]:
        """The partition of a name and its primary nodes."""

    def get_more_nodes(self, part: int) -> Iterator[dict]:
        """Handoff nodes for ``part``, best first."""
