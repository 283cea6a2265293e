"""Start, find and stop the cluster's processes by pid.

Processes are tracked by pid in the state file rather than only as
``Popen`` objects, because ``objstore-aio stop-node 2`` in another terminal
must be able to stop what the foreground ``objstore-aio`` started (and
``start-node`` starts processes that outlive the command).  Before a pid is
signalled its command line is checked, so a pid the kernel has since reused
for something else is never killed.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Iterable, Optional

from objstore.aio.layout import ProcessSpec

STOP_GRACE_SECONDS = 10.0


def server_command(spec: ProcessSpec, once: bool = False) -> list[str]:
    command = [sys.executable, "-m", "objstore.cli.server", spec.kind, spec.conf]
    if once:
        command.append("--once")
    return command


class Supervisor:
    """Spawns processes and keeps the ``Popen`` of its own children so they get reaped."""

    def __init__(self) -> None:
        self.children: dict[int, subprocess.Popen] = {}

    def spawn(self, spec: ProcessSpec) -> int:
        """Start one server or daemon in the background; its output goes to its log file."""
        os.makedirs(os.path.dirname(spec.log_file), exist_ok=True)
        with open(spec.log_file, "ab") as log:
            # A new session: Ctrl-C in the terminal reaches objstore-aio only,
            # which then stops everything in order.
            child = subprocess.Popen(server_command(spec), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, close_fds=True)
        self.children[child.pid] = child
        return child.pid

    def reap(self) -> dict[int, int]:
        """Collect children that exited; return {pid: exit status}."""
        done = {}
        for pid, child in list(self.children.items()):
            status = child.poll()
            if status is not None:
                done[pid] = status
                del self.children[pid]
        return done

    def stop(self, pids: Iterable[Optional[int]], specs: Iterable[ProcessSpec],
             grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM every live pid of ours, wait up to ``grace`` seconds, SIGKILL the rest."""
        targets = [pid for pid, spec in zip(pids, specs)
                   if pid and is_running(pid, spec)]
        for pid in targets:
            _signal(pid, signal.SIGTERM)
        deadline = time.time() + grace
        while time.time() < deadline:
            self.reap()
            targets = [pid for pid in targets if _alive(pid)]
            if not targets:
                return
            time.sleep(0.05)
        for pid in targets:
            _signal(pid, signal.SIGKILL)
        deadline = time.time() + 5
        while targets and time.time() < deadline:
            self.reap()
            targets = [pid for pid in targets if _alive(pid)]
            time.sleep(0.05)


def is_running(pid: Optional[int], spec: ProcessSpec) -> bool:
    """True if ``pid`` is alive and is still the process started for ``spec``."""
    if not pid or not _alive(pid):
        return False
    cmdline = _cmdline(pid)
    if cmdline is None:   # no /proc (not Linux): trust the pid
        return True
    return spec.kind in cmdline and spec.conf in cmdline


def is_our_supervisor(pid: Optional[int]) -> bool:
    if not pid or not _alive(pid):
        return False
    cmdline = _cmdline(pid)
    return cmdline is None or any("objstore" in part or "aio" in part for part in cmdline)


def _cmdline(pid: int) -> Optional[list[str]]:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        return [] if os.path.isdir("/proc/self") else None
    except OSError:
        return None
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _alive(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            stat = handle.read()
        return stat.rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def run_once(specs: list[ProcessSpec], log_file: str, timeout: float = 300.0) -> int:
    """One pass of each daemon, in order, in one child process; return its exit status."""
    command = [sys.executable, "-m", "objstore.aio.daemon_pass"]
    for spec in specs:
        command += [spec.name, spec.kind, spec.conf]
    os.makedirs(os.path.dirname(log_file), exist_ok=True)
    with open(log_file, "ab") as log:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT, close_fds=True)
    try:
        return child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        return -9
