"""Keeping a daemon's disk or network use under a rate (bytes or items per second).

Replicators and auditors share the node with client traffic; each calls
:meth:`RateLimiter.consume` after doing some work and sleeps (green) when it
is ahead of its budget.
"""
from __future__ import annotations

import time
from typing import Callable

from objstore.common.concurrency import sleep


class RateLimiter:
    """``rate`` units per second on average; 0 or less means no limit."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 pause: Callable[[float], None] = sleep):
        self.rate = float(rate)
        self._clock = clock
        self._pause = pause
        self._started = clock()
        self._done = 0.0

    def consume(self, amount: float) -> None:
        """Account ``amount`` units; sleep until the average is back under the rate."""
        if self.rate <= 0:
            return
        self._done += amount
        ahead = self._done / self.rate - (self._clock() - self._started)
        if ahead > 0:
            self._pause(ahead)
