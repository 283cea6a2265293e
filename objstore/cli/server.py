"""``objstore-server``: start one server or daemon from its config file.

This is how a real multi-host cluster runs (one process per server type per
host, under systemd or similar); the all-in-one cluster uses it too.

    objstore-server proxy /etc/objstore/proxy-server.conf
    objstore-server object /etc/objstore/object-server.conf
    objstore-server object-updater /etc/objstore/object-server.conf --once
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

from objstore.common.config import ConfigError

SERVERS = ("proxy", "account", "container", "object")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="objstore-server",
        description="Run one objstore server (proxy, account, container, object) or daemon "
                    "(object-updater, container-updater, ...) from its config file.")
    parser.add_argument("kind", help="server or daemon name, e.g. proxy or object-updater")
    parser.add_argument("conf", help="the config file (e.g. etc/object-server.conf)")
    parser.add_argument("--once", action="store_true", help="daemons: run one pass and exit")
    return parser


def run_daemon(kind: str, conf_path: str, once: bool) -> int:
    from objstore.common import concurrency
    from objstore.common.daemon import build_daemon
    from objstore.common.heap import settle_heap
    from objstore.common.logs import trim_log_records

    concurrency.monkey_patch()
    trim_log_records()
    daemon = build_daemon(kind, conf_path)
    settle_heap()
    if once:
        daemon.run_once()
    else:
        import signal
        signal.signal(signal.SIGTERM, lambda *_: daemon.stop())
        daemon.run_forever()
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.kind in SERVERS:
            from objstore.common.wsgi import run_wsgi
            return run_wsgi(args.conf)
        return run_daemon(args.kind, args.conf, args.once)
    except ConfigError as err:
        print("objstore-server: %s" % err, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
