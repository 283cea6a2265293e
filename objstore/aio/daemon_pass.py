"""One pass of many daemons in one process: ``objstore-aio run-daemons --once``.

``objstore-server <daemon> <conf> --once`` per daemon and node would start a
Python interpreter eight times for a four-node cluster; tests call this after
nearly every write scenario, so the passes share one interpreter here.  Each
daemon still reads its own config section and logs to its own file, exactly
as the long-running ones do.

    python -m objstore.aio.daemon_pass NAME KIND CONF [NAME KIND CONF ...]

runs them in the order given and exits 1 if any pass raised.  Neighbours
of one kind named in ``DAEMONS_SIDE_BY_SIDE`` (the expirers, each with its
own share of the queue) run at the same time, in green threads.
"""
from __future__ import annotations

import sys
import traceback
from typing import Optional


def run_passes(triples: list[tuple[str, str, str]]) -> int:
    from objstore.common import concurrency

    concurrency.monkey_patch()
    return _run_groups(triples)


def _run_groups(triples: list[tuple[str, str, str]]) -> int:
    from objstore.common import concurrency

    failures = 0
    for group in _groups(triples):
        pool = concurrency.GreenPool(len(group))
        failures += sum(1 for ok in pool.imap(_one_pass, group) if not ok)
    return 1 if failures else 0


def _groups(triples: list[tuple[str, str, str]]) -> list[list[tuple[str, str, str]]]:
    """The passes in order, neighbours of a side-by-side kind gathered into one group."""
    from objstore.aio.layout import DAEMONS_SIDE_BY_SIDE

    groups: list[list[tuple[str, str, str]]] = []
    for triple in triples:
        kind = triple[1]
        if groups and kind in DAEMONS_SIDE_BY_SIDE and groups[-1][-1][1] == kind:
            groups[-1].append(triple)
        else:
            groups.append([triple])
    return groups


def _one_pass(triple: tuple[str, str, str]) -> bool:
    """Build one daemon from its config and run one pass; False (reported) if it raised."""
    from objstore.common.config import read_ini
    from objstore.common.daemon import build_daemon
    from objstore.common.logs import get_logger

    name, kind, conf_path = triple
    try:
        logger = get_logger(name, read_ini(conf_path)[kind])
        daemon = build_daemon(kind, conf_path, logger=logger)
        summary = daemon.run_once()
        print("%s: %s" % (name, summary), flush=True)
        return True
    except Exception:  # noqa: BLE001 - report every failed pass, then go on
        print("%s: pass failed\n%s" % (name, traceback.format_exc()), file=sys.stderr,
              flush=True)
        return False


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) % 3:
        print("usage: python -m objstore.aio.daemon_pass NAME KIND CONF [...]", file=sys.stderr)
        return 2
    triples = [(args[i], args[i + 1], args[i + 2]) for i in range(0, len(args), 3)]
    return run_passes(triples)


if __name__ == "__main__":
    sys.exit(main())
