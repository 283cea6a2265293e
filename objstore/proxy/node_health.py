"""Error limiting: stop sending requests to a node that keeps failing.

A dead or overloaded node costs every request a connect timeout.  Counting
each node's recent errors lets the proxy skip it for a while (the
``error_suppression_interval``) once it has failed more than
``error_suppression_limit`` times, and go straight to a healthy replica or a
handoff instead.  The count resets when a quiet interval has passed.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Mapping


def node_label(node: Mapping) -> str:
    """``ip:port/device``: how operators (and tests grepping logs) name a node."""
    return "%s:%s/%s" % (node.get("ip"), node.get("port"), node.get("device"))


class NodeHealth:
    """Per-process error counts, keyed by node label."""

    def __init__(self, suppression_interval: float, suppression_limit: int,
                 logger: logging.Logger, clock: Callable[[], float] = time.time):
        self.suppression_interval = suppression_interval
        self.suppression_limit = suppression_limit
        self.logger = logger
        self.clock = clock
        self._errors: dict[str, int] = {}
        self._last_error: dict[str, float] = {}

    def is_limited(self, node: Mapping) -> bool:
        """True while the node is being skipped."""
        key = node_label(node)
        last = self._last_error.get(key)
        if last is None:
            return False
        if self.clock() - last > self.suppression_interval:
            self._errors.pop(key, None)
            self._last_error.pop(key, None)
            return False
        return self._errors.get(key, 0) > self.suppression_limit

    def error_occurred(self, node: Mapping, message: str) -> None:
        """Count one failure of ``node`` and log it (with the reason)."""
        key = node_label(node)
        now = self.clock()
        last = self._last_error.get(key)
        if last is not None and now - last > self.suppression_interval:
            self._errors[key] = 0
        count = self._errors.get(key, 0) + 1
        self._errors[key] = count
        self._last_error[key] = now
        self.logger.error("ERROR %s: %s", key, message)
        if count == self.suppression_limit + 1:
            self.logger.error("error limiting %s for %ss after %d errors",
                              key, self.suppression_interval, count)

    def limit_now(self, node: Mapping, message: str) -> None:
        """Skip ``node`` at once (for example: its device answered 507)."""
        key = node_label(node)
        self._errors[key] = self.suppression_limit + 1
        self._last_error[key] = self.clock()
        self.logger.error("error limiting %s for %ss: %s", key,
                          self.suppression_interval, message)
