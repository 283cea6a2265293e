"""``<data>/run/state.json``: what is running where, shared by every objstore-aio command.

The foreground ``objstore-aio`` and the operator's ``objstore-aio status``,
``stop-node`` ... in another terminal all read and change it, so every change
is a read-modify-write under an exclusive ``flock`` and the file is replaced
atomically (a reader never sees half a file).

Shape (version 1)::

    {"version": 1, "nodes": 4, "replicas": 3, "bind_ip": "127.0.0.1",
     "supervisor_pid": 1234,            # the foreground objstore-aio, or null
     "ports": {"proxy-server": 8080, "object-server-1": 40211, ...},
     "pids": {"proxy-server": 1301, "object-updater-1": null, ...}}
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from typing import Any, Iterator

from objstore.common.durable_fs import mkdirs, write_file_atomic

STATE_VERSION = 1


def empty_state() -> dict[str, Any]:
    return {"version": STATE_VERSION, "supervisor_pid": None, "ports": {}, "pids": {}}


def read_state(path: str) -> dict[str, Any]:
    """The state, or an empty one when there is none yet (or it is unreadable)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return empty_state()
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return empty_state()
    data.setdefault("ports", {})
    data.setdefault("pids", {})
    return data


@contextlib.contextmanager
def locked_state(path: str) -> Iterator[dict[str, Any]]:
    """Yield the state for changing; it is written back (atomically) on exit."""
    mkdirs(os.path.dirname(path))
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            state = read_state(path)
            yield state
            payload = json.dumps(state, indent=2, sort_keys=True) + "\n"
            write_file_atomic(path, payload.encode("utf-8"))
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
