"""``objstore-aio``: a whole cluster on this machine with one command.

    objstore-aio                         # build (first time) and run in the foreground
    objstore-aio --data-dir D status     # from another terminal
    objstore-aio --data-dir D stop-node 2 / start-node 2
    objstore-aio --data-dir D run-daemons --once
    objstore-aio --data-dir D stop       # the foreground objstore-aio then exits 0
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Optional

from objstore.aio.cluster import USERS, Cluster, ClusterError

STOP_WAIT_SECONDS = 60.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="objstore-aio",
        description="Run a whole objstore cluster (proxy + N storage nodes) on this machine. "
                    "Without a command it starts the cluster and stays in the foreground "
                    "until Ctrl-C, SIGTERM or 'objstore-aio stop'.")
    parser.add_argument("--data-dir", default="./aio-data",
                        help="where data, configs, rings and logs live (default ./aio-data)")
    parser.add_argument("--port", type=int, default=8080,
                        help="the proxy's port (default 8080; 0 picks a free one)")
    parser.add_argument("--nodes", type=int, default=4, help="storage nodes (default 4)")
    parser.add_argument("--replicas", type=int, default=3, help="replicas (default 3)")
    parser.add_argument("--bind-ip", default="127.0.0.1",
                        help="address every server listens on (default 127.0.0.1)")
    parser.add_argument("--tls", action="store_true",
                        help="the proxy serves HTTPS on its port, with a certificate from a "
                             "CA made for this cluster (its path is printed)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("start", help="start in the foreground (the default)")
    commands.add_parser("status", help="each server and daemon: node, kind, port, pid, up/down")
    commands.add_parser("stop", help="stop the whole cluster")
    for name, verb in (("stop-node", "stop"), ("start-node", "start")):
        sub = commands.add_parser(name, help="%s every server and daemon of one node" % verb)
        sub.add_argument("node", type=int)
    daemons = commands.add_parser("run-daemons",
                                  help="run every node's background daemons (updaters)")
    daemons.add_argument("--once", action="store_true", required=True,
                         help="one pass each, synchronously (the only mode)")
    daemons.add_argument("kinds", nargs="*", metavar="KIND",
                         help="only these daemons (e.g. container-replicator); all when none")
    return parser


def _say(message: str) -> None:
    print("objstore-aio: %s" % message, file=sys.stderr, flush=True)


def usage_text(cluster: Cluster) -> str:
    users = "\n".join("    %-14s key %s" % (user, key) for user, key in USERS.items())
    return """\
objstore cluster is up: proxy at {proxy}  ({nodes} nodes, {replicas} replicas)
  data, configs and rings: {data}   logs: {logs}

Use it with the swift CLI:
    export ST_AUTH={auth} ST_USER=test:tester ST_KEY=testing
    swift post photos && swift upload photos README.md && swift list photos

Users (tempauth):
{users}

From another terminal:
    objstore-aio --data-dir {data} status | stop-node N | start-node N | stop
Ctrl-C stops the cluster; the data stays for the next start.{tls}""".format(
        proxy=cluster.proxy_url, nodes=cluster.layout.nodes, replicas=cluster.replicas,
        data=cluster.data_dir, logs=cluster.logs_dir, auth=cluster.auth_url, users=users,
        tls="\n\nHTTPS: clients must trust the CA certificate %s\n"
            "    (e.g. curl --cacert %s, swift --os-cacert %s, aws --ca-bundle %s)"
            % ((cluster.ca_file,) * 4) if cluster.tls else "")


def run_foreground(args: argparse.Namespace) -> int:
    cluster = Cluster(args.data_dir, port=args.port, nodes=args.nodes, replicas=args.replicas,
                      bind_ip=args.bind_ip, say=_say, tls=args.tls)
    stopping = {"signal": None}

    def on_signal(signum, frame):  # noqa: ANN001 - signal handler signature
        stopping["signal"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    _say("starting in %s ..." % cluster.data_dir)
    cluster.start()
    print(usage_text(cluster), flush=True)
    try:
        while stopping["signal"] is None:
            for death in cluster.reap():
                _say("%s stopped unexpectedly" % death)
            time.sleep(0.5)
    finally:
        _say("stopping ...")
        cluster.stop()
        _say("stopped; data kept in %s" % cluster.data_dir)
    return 0


def print_status(cluster: Cluster) -> int:
    rows = cluster.status()
    print("%-22s %4s  %-18s %6s %8s  %s" % ("NAME", "NODE", "KIND", "PORT", "PID", "STATE"))
    for row in rows:
        print("%-22s %4s  %-18s %6s %8s  %s" % (
            row["name"], row["node"] or "-", row["kind"], row["port"] or "-",
            row["pid"] if row["up"] else "-", "up" if row["up"] else "down"))
    supervisor = cluster.supervisor_pid()
    print("proxy: %s   objstore-aio: %s" % (
        cluster.proxy_url, "pid %d" % supervisor if supervisor else "not running"))
    return 0 if all(row["up"] for row in rows) else 3


def stop_everything(cluster: Cluster) -> int:
    """Ask the foreground objstore-aio to stop (it exits 0); stop directly if there is none."""
    owner = cluster.supervisor_pid()
    if owner and owner != os.getpid():
        os.kill(owner, signal.SIGTERM)
        deadline = time.time() + STOP_WAIT_SECONDS
        while time.time() < deadline and cluster.supervisor_pid() == owner:
            time.sleep(0.2)
        if cluster.supervisor_pid() != owner:
            _say("stopped")
            return 0
        _say("objstore-aio pid %d did not stop in time; stopping its servers directly" % owner)
    cluster.stop()
    _say("stopped")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    # `... | head` closing the pipe ends the command quietly, as ls does.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = build_parser().parse_args(argv)
    try:
        if args.command in (None, "start"):
            return run_foreground(args)
        cluster = Cluster.attach(args.data_dir, say=_say)
        if args.command == "status":
            return print_status(cluster)
        if args.command == "stop":
            return stop_everything(cluster)
        if args.command == "stop-node":
            cluster.stop_node(args.node)
            _say("node %d stopped" % args.node)
            return 0
        if args.command == "start-node":
            cluster.start_node(args.node)
            _say("node %d started" % args.node)
            return 0
        if args.command == "run-daemons":
            cluster.run_daemons_once(kinds=args.kinds or None)
            _say("%s ran once on every running node" % (", ".join(args.kinds) or "daemons"))
            return 0
    except ClusterError as err:
        _say("error: %s" % err)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
