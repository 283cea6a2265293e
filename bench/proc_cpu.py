"""Where the CPU went during a benchmark phase: servers, and the machine.

On a small machine shared with other work, throughput moves with whatever
else is running; the CPU the servers themselves burn per operation moves
much less.  The benchmark samples this before and after each phase so the
comparison can also say "server CPU per operation" for both systems.
Linux only (reads /proc); elsewhere it reports nothing.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable, Iterable, Optional

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int) -> Optional[list[str]]:
    """Fields of /proc/<pid>/stat after the command name (state first)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2:].split()


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def tree_cpu_seconds(root_pids: Iterable[int]) -> Optional[float]:
    """User+system CPU of the roots and every live descendant, plus what
    their already-reaped children used; None when /proc is unavailable."""
    roots = [pid for pid in root_pids if pid]
    if not roots or not os.path.isdir("/proc"):
        return None
    children = _children_by_parent()
    seen: set[int] = set()
    pending = list(roots)
    total_ticks = 0
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        fields = _stat_fields(pid)
        if fields is None:
            continue
        # utime, stime, cutime, cstime are fields 14-17 of the stat line.
        total_ticks += sum(int(value) for value in fields[11:15])
        pending.extend(children.get(pid, []))
    return total_ticks / _TICKS


def timed_phase(workers: list[Callable[[], None]],
                server_pids: Iterable[int]) -> tuple[float, Optional[float]]:
    """Run every worker in its own thread at once.

    Returns (wall seconds, CPU seconds the servers' process trees burned
    meanwhile; None without /proc).
    """
    pids = list(server_pids)
    threads = [threading.Thread(target=worker) for worker in workers]
    cpu_before = tree_cpu_seconds(pids)
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu_after = tree_cpu_seconds(pids)
    if cpu_before is None or cpu_after is None:
        return elapsed, None
    return elapsed, cpu_after - cpu_before


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle since boot (from /proc/stat).

    Differences around a phase show how much of the machine the phase used
    (client + servers + anything else running, e.g. other people's tests).
    """
    try:
        with open("/proc/stat") as handle:
            fields = handle.readline().split()[1:]
    except OSError:
        return 0.0
    ticks = [int(value) for value in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def load_average() -> list:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


# Returns the pids of the server processes under test.
ServerPids = Optional[Callable[[], list]]


class ServerCpuMeter:
    """Measures the server CPU one phase costs, including its aftermath.

    `calibrate()` first learns what the idle servers burn per second (e.g.
    Swift's parent processes poll their workers: with ``workers = 1`` its
    idle cluster uses ~0.1 core).  A phase is then measured from `begin()`
    until, after the load stopped, the servers are back near that idle rate
    (`finish()`): work a phase leaves behind, such as container updates
    still running after the PUTs were answered, is charged to that phase
    and kept out of the next one, while the idle burn during the wait is
    not charged.  Without known pids everything reports None.
    """

    def __init__(self, server_pids: ServerPids, interval: float = 0.5,
                 quiet_cores: float = 0.05, settle_limit: float = 15.0):
        self.server_pids = server_pids
        self.interval = interval
        self.quiet_cores = quiet_cores
        self.settle_limit = settle_limit
        self.idle_rate = 0.0  # CPU seconds per second when idle
        self.start: Optional[float] = None

    def _sample(self) -> Optional[float]:
        if self.server_pids is None:
            return None
        return tree_cpu_seconds(self.server_pids() or [])

    def calibrate(self, seconds: float = 3.0) -> Optional[float]:
        """Settle, then measure the idle rate (lowest of a few windows)."""
        self.settle()
        rates = []
        windows = max(1, int(seconds / self.interval))
        previous = self._sample()
        for _ in range(windows):
            time.sleep(self.interval)
            current = self._sample()
            if previous is None or current is None:
                return None
            rates.append((current - previous) / self.interval)
            previous = current
        self.idle_rate = min(rates)
        return self.idle_rate

    def begin(self) -> None:
        self.start = self._sample()

    def finish(self) -> tuple[Optional[float], float]:
        """(server CPU seconds of the phase, seconds waited to settle)."""
        settle_s = self.settle()
        end = self._sample()
        if self.start is None or end is None:
            return None, settle_s
        return max(0.0, end - self.start - self.idle_rate * settle_s), settle_s

    def settle(self) -> float:
        """Wait until the servers are back near their idle rate (bounded)."""
        started = time.monotonic()
        previous = self._sample()
        threshold = (self.idle_rate + self.quiet_cores) * self.interval
        while True:
            time.sleep(self.interval)
            current = self._sample()
            if previous is None or current is None:
                break
            if current - previous < threshold:
                break
            if time.monotonic() - started >= self.settle_limit:
                break
            previous = current
        return time.monotonic() - started
