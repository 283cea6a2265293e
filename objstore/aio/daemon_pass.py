"""One pass of many daemons in one process: ``objstore-aio run-daemons --once``.

``objstore-server <daemon> <conf> --once`` per daemon and node would start a
Python interpreter eight times for a four-node cluster; tests call this after
nearly every write scenario, so the passes share one interpreter here.  Each
daemon still reads its own config section and logs to its own file, exactly
as the long-running ones do.

    python -m objstore.aio.daemon_pass NAME KIND CONF [NAME KIND CONF ...]

runs them in the order given and exits 1 if any pass raised.
"""
from __future__ import annotations

import sys
import traceback
from typing import Optional


def run_passes(triples: list[tuple[str, str, str]]) -> int:
    from objstore.common import concurrency
    from objstore.common.config import read_ini
    from objstore.common.daemon import build_daemon
    from objstore.common.logs import get_logger

    concurrency.monkey_patch()
    failures = 0
    for name, kind, conf_path in triples:
        try:
            logger = get_logger(name, read_ini(conf_path)[kind])
            daemon = build_daemon(kind, conf_path, logger=logger)
            summary = daemon.run_once()
            print("%s: %s" % (name, summary), flush=True)
        except Exception:  # noqa: BLE001 - report every failed pass, then go on
            failures += 1
            print("%s: pass failed\n%s" % (name, traceback.format_exc()), file=sys.stderr,
                  flush=True)
    return 1 if failures else 0


def main(argv: Optional[list[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or len(args) % 3:
        print("usage: python -m objstore.aio.daemon_pass NAME KIND CONF [...]", file=sys.stderr)
        return 2
    triples = [(args[i], args[i + 1], args[i + 2]) for i in range(0, len(args), 3)]
    return run_passes(triples)


if __name__ == "__main__":
    sys.exit(main())
