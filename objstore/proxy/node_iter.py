"""Which nodes a request tries, in order: primaries, then the ring's handoffs.

Error-limited nodes are skipped; a skipped primary is made up for by one
more handoff, and the whole walk stops after ``node_count`` nodes so a
request for a missing object does not visit the entire cluster.
"""
from __future__ import annotations

import random
from typing import Iterator, Optional

from objstore.proxy.node_health import NodeHealth
from objstore.ring.protocol import RingReader


class NodeIter:
    """An iterator of node dicts; safe to share between green threads."""

    def __init__(self, ring: RingReader, part: int, health: NodeHealth, node_count: int,
                 primaries: Optional[list] = None, shuffle: bool = False):
        self.ring = ring
        self.part = part
        self.health = health
        self.node_count = node_count
        self.primaries = list(primaries if primaries is not None else ring.get_part_nodes(part))
        if shuffle:
            random.shuffle(self.primaries)
        self._gen = self._walk()

    def _walk(self) -> Iterator[dict]:
        yielded = 0
        for node in self.primaries:
            if yielded >= self.node_count:
                return
            if self.health.is_limited(node):
                continue
            yielded += 1
            yield node
        for node in self.ring.get_more_nodes(self.part):
            if yielded >= self.node_count:
                return
            if self.health.is_limited(node):
                continue
            yielded += 1
            yield node

    def __iter__(self) -> "NodeIter":
        return self

    def __next__(self) -> dict:
        return next(self._gen)
