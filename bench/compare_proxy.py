"""objstore against real OpenStack Swift: same workload, same machine, one table.

Starts objstore's all-in-one cluster (or uses one already running, given
``--objstore-auth-url``), runs bench/proxy_bench.py against it and stops it;
then does the same with a real Swift cluster of the same shape built by
bench/swift_peer.py.  The two never run at the same time.  Prints::

    figure              objstore      swift   ratio

where ratio > 1 always means objstore did better (objstore/swift for
throughput, swift/objstore for latency), and writes every raw number to
bench/results/compare-<UTC time>.json (git-ignored).
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import compare_chart  # noqa: E402  (bench/ is not a package)
import machine_limits  # noqa: E402
import proxy_bench  # noqa: E402
import swift_peer  # noqa: E402

# (label, section, phase, field, higher_is_better); small-object rows are
# repeated for every client count (section "small@<clients>").
SMALL_ROWS = [
    (f"{phase.upper()} {what}", "small", phase, field, better)
    for phase in proxy_bench.SMALL_PHASES
    for what, field, better in (("ops/s", "ops_per_s", True),
                                ("p50 ms", "p50_ms", False),
                                ("p99 ms", "p99_ms", False),
                                ("srv CPU ms/op", "server_cpu_ms_per_op", False))
]
LARGE_ROWS = [
    ("large PUT MiB/s", "large", "put", "mib_per_s", True),
    ("large GET MiB/s", "large", "get", "mib_per_s", True),

    ("large PUT srv CPU s/GiB", "large", "put", "server_cpu_s_per_gib", False),
    ("large GET srv CPU s/GiB", "large", "get", "server_cpu_s_per_gib", False),
]


def table_rows(client_counts: list) -> list:
    """Every figure the table shows, small-object ones once per client count."""
    rows = [(f"c{clients} {label}", f"small@{clients}", phase, field, better)
            for clients in client_counts
            for label, _section, phase, field, better in SMALL_ROWS]
    return rows + LARGE_ROWS


def run_client_counts(args: argparse.Namespace, label: str, auth_url: str,
                      user: str, key: str, pids=None) -> dict:
    """The small-object phases once per client count, the large ones once
    (with the first count), all against the same running cluster."""
    merged: dict = {"runs": {}}
    for index, clients in enumerate(args.client_counts):
        config = proxy_bench.config_from_args(args, auth_url, user, key)
        config.concurrency = clients
        if index:
            config.phases = tuple(p for p in config.phases
                                  if p in proxy_bench.SMALL_PHASES)
        result = proxy_bench.run_benchmark(config, f"{label} c{clients}", pids)
        merged["runs"][str(clients)] = result
        merged[f"small@{clients}"] = result.get("small", {})
        if result.get("large"):
            merged["large"] = result["large"]
    return merged


def _load_cluster_class():
    """objstore's aio Cluster, or None when objstore is not importable."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.append(str(REPO_ROOT))
    try:
        from objstore.aio.cluster import Cluster
    except ImportError as exc:
        print(f"compare: objstore.aio.cluster not importable ({exc})",
              file=sys.stderr)
        return None
    return Cluster


def bench_objstore(args: argparse.Namespace, data_dir: Path) -> dict:
    """Run the workload against objstore: a given endpoint or a fresh aio."""
    if args.objstore_auth_url:
        result = run_client_counts(args, "objstore", args.objstore_auth_url,
                                   args.objstore_user, args.objstore_key)
        result["server"] = {"software": "objstore", "source": "external",
                            "auth_url": args.objstore_auth_url}
        return result
    cluster_class = _load_cluster_class()
    if cluster_class is None:
        raise SystemExit("objstore is not runnable: pass --objstore-auth-url "
                         "of a running cluster, or --skip-objstore")
    # Background daemons off unless asked: the Swift peer runs none, and
    # objstore's replicators and auditors would otherwise send REPLICATE and
    # listing requests to the very servers whose CPU is counted (a replicator
    # pass over freshly written suffixes was 30% of an object server's
    # samples).  Container updates are synchronous in both systems, so the
    # workload needs no daemon.
    cluster = cluster_class(str(data_dir / "objstore"), port=0, nodes=4,
                            replicas=3,
                            background_daemons=args.objstore_daemons,
                            say=lambda m: print(f"objstore-aio: {m}",
                                                file=sys.stderr))
    started = time.monotonic()
    cluster.start()
    try:
        print(f"compare: objstore up in {time.monotonic() - started:.1f}s at "
              f"{cluster.auth_url}", file=sys.stderr)
        workers = objstore_workers(cluster)
        if workers is not None:
            args.objstore_workers = workers
        result = run_client_counts(
            args, "objstore", cluster.auth_url, args.objstore_user,
            args.objstore_key, lambda: objstore_server_pids(cluster))
        result["server"] = {
            "software": "objstore", "source": "objstore.aio.cluster.Cluster",
            "nodes": 4, "replicas": 3, "workers": workers,
            "background_daemons": args.objstore_daemons,
            "dropped_filters": list(getattr(cluster, "dropped_filters", [])),
            "logs": cluster.logs_dir}
        return result
    finally:
        cluster.stop()


def objstore_server_pids(cluster) -> list:
    """pids of the aio's servers (not its background daemons, which the
    Swift peer does not run either)."""
    daemons = {spec.name for spec in cluster.specs() if spec.is_daemon}
    return [row["pid"] for row in cluster.status()
            if row["pid"] and row["name"] not in daemons]


def objstore_workers(cluster) -> Optional[int]:
    """The `workers` option of the aio's proxy-server.conf (None: unknown)."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(cluster.layout.proxy_conf)
        return parser.getint("DEFAULT", "workers", fallback=None)
    except (AttributeError, configparser.Error, ValueError):
        return None


def swift_workers(args: argparse.Namespace) -> int:
    """Swift's `workers`: as asked, or the same as objstore's aio uses."""
    if args.swift_workers != "match":
        return int(args.swift_workers)
    if args.objstore_workers is None:
        print("compare: objstore's worker count unknown; Swift gets "
              "workers = 0 like the aio's default", file=sys.stderr)
        return 0
    return args.objstore_workers


def bench_swift(args: argparse.Namespace, data_dir: Path) -> dict:
    """Run the workload against a freshly built real Swift cluster."""
    peer = swift_peer.SwiftPeer(data_dir / "swift", workers=swift_workers(args),
                                memcache=args.swift_memcache,
                                venv=args.swift_venv)
    started = time.monotonic()
    peer.start()
    try:
        print(f"compare: swift up in {time.monotonic() - started:.1f}s at "
              f"{peer.auth_url} (memcached={peer.memcached_used})",
              file=sys.stderr)
        result = run_client_counts(args, "swift", peer.auth_url, peer.user,
                                   peer.key, peer.pids)
        result["server"] = peer.describe()
        result["server"]["logs"] = str(peer.log_dir)
        return result
    finally:
        peer.stop()


def _values(runs: list, section: str, phase: str, field: str) -> list:
    values = [run.get(section, {}).get(phase, {}).get(field)
              for run in runs if run]
    return [v for v in values if isinstance(v, (int, float))]


def _figure(runs: list, section: str, phase: str,
            field: str) -> Optional[float]:
    """Median of one figure over the rounds that measured it."""
    values = _values(runs, section, phase, field)
    return round(statistics.median(values), 2) if values else None


def _spread(runs: list, section: str, phase: str, field: str) -> Optional[float]:
    """Run-to-run spread: (max - min) / median, in percent."""
    values = _values(runs, section, phase, field)
    if len(values) < 2 or not statistics.median(values):
        return None
    return round(100 * (max(values) - min(values)) / statistics.median(values), 1)


def _ratio(ours: Optional[float], theirs: Optional[float],
           higher_is_better: bool) -> Optional[float]:
    if not ours or not theirs:
        return None
    return ours / theirs if higher_is_better else theirs / ours


def comparison_table(objstore: list, swift: list,
                     client_counts: list) -> list[dict]:
    """One row per figure: the median over rounds for each system."""
    rows = []
    for label, section, phase, field, better in table_rows(client_counts):
        ours = _figure(objstore, section, phase, field)
        theirs = _figure(swift, section, phase, field)
        if ours is None and theirs is None:
            continue
        ratio = _ratio(ours, theirs, better)
        rows.append({"figure": label, "objstore": ours, "swift": theirs,
                     "ratio": round(ratio, 2) if ratio is not None else None,
                     "objstore_spread_pct": _spread(objstore, section, phase, field),
                     "swift_spread_pct": _spread(swift, section, phase, field),
                     "section": section, "phase": phase, "field": field})
    return rows


def format_table(rows: list[dict]) -> str:
    def cell(value) -> str:
        return "-" if value is None else f"{value:,.1f}"
    def spread(value) -> str:
        return "" if value is None else f"±{value / 2:.0f}%"
    lines = [f"{'figure':28s} {'objstore':>10s} {'swift':>10s} {'ratio':>7s}"
             f" {'spread o/s':>12s}", "-" * 71]
    for row in rows:
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}"
        lines.append(f"{row['figure']:28s} {cell(row['objstore']):>10s} "
                     f"{cell(row['swift']):>10s} {ratio:>7s} "
                     f"{spread(row['objstore_spread_pct']):>5s}/"
                     f"{spread(row['swift_spread_pct']):<5s}")
    lines.append("ratio > 1: objstore better (throughput objstore/swift, "
                 "latency and CPU swift/objstore); spread: half the "
                 "max-min range over rounds, relative to the median")
    return "\n".join(lines)


def limit_fractions(rows: list[dict], limits: Optional[dict]) -> list[str]:
    """Large-object MiB/s as a share of what the machine allows at most."""
    if not limits:
        return []
    ceilings = {"put": ("disk write+fsync / replicas",
                        limits["put_ceiling_disk_mib_s"]),
                "get": ("loopback", limits["get_ceiling_loopback_mib_s"])}
    lines = ["machine limits (MiB/s): disk write+fsync %(disk_write_fsync_mib_s)s, "
             "loopback %(loopback_mib_s)s, MD5 per core %(md5_mib_s_per_core)s, "
             "CRC32 per core %(crc32_mib_s_per_core)s" % limits]
    for row in rows:
        if row["section"] == "large" and row["field"] == "mib_per_s":
            label, ceiling = ceilings[row["phase"]]
            for name in ("objstore", "swift"):
                if row[name] and ceiling:
                    lines.append("%s: %s %.1f MiB/s = %.0f%% of %s (%.1f)" % (
                        row["figure"], name, row[name], 100 * row[name] / ceiling,
                        label, ceiling))
    return lines


def _errors_note(name: str, runs: list) -> list[str]:
    notes = []
    for number, result in enumerate(runs, start=1):
        for section in ("small", "large"):
            for phase, summary in (result or {}).get(section, {}).items():
                if summary.get("errors"):
                    notes.append(
                        f"{name} round {number} {section} {phase}: "
                        f"{summary['errors']} errors, e.g. "
                        f"{summary.get('first_errors')[:2]}")
    return notes


def _attempt(name: str, bench, args: argparse.Namespace,
             round_dir: Path) -> dict:
    """Run one side; a side that cannot run is recorded, not fatal, so the
    other side's numbers are still reported."""
    try:
        return bench(args, round_dir)
    except SystemExit as exc:
        if exc.code == 143:        # SIGTERM: stop the whole comparison
            raise
        message = f"SystemExit: {exc}"
        print(f"compare: {name} failed: {message}", file=sys.stderr)
        return {"error": message}
    except Exception as exc:  # noqa: BLE001 - report and go on
        message = f"{type(exc).__name__}: {exc}"
        print(f"compare: {name} failed: {message}", file=sys.stderr)
        return {"error": message}


def parse_args(argv: Optional[list]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objstore-auth-url",
                        help="bench an already running objstore instead of "
                             "starting objstore.aio.cluster.Cluster")
    parser.add_argument("--objstore-user", default="test:tester")
    parser.add_argument("--objstore-key", default="testing")
    parser.add_argument("--skip-objstore", action="store_true")
    parser.add_argument("--objstore-daemons", action="store_true",
                        help="run the aio's background daemons (replicators, "
                             "auditors, updaters) during the measurement; off "
                             "by default, as the Swift peer runs none")
    parser.add_argument("--skip-swift", action="store_true")
    parser.add_argument("--swift-venv", default=swift_peer.DEFAULT_VENV)
    parser.add_argument("--swift-workers", default="match",
                        help="Swift servers' workers option, or 'match' "
                             "(default): the same as objstore's aio config "
                             "(0: every server serves in its one process)")
    parser.add_argument("--swift-memcache", choices=("auto", "yes", "no"),
                        default="auto",
                        help="run memcached for Swift's proxy (auto: if the "
                             "binary exists)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="alternate objstore and swift this many times "
                             "and report each figure's median (use 3 or more"
                             " on a machine shared with other work)")
    parser.add_argument("--data-dir", help="where both clusters keep data "
                        "(default: a temp dir, removed afterwards)")
    parser.add_argument("--json", help="results file (default "
                        "bench/results/compare-<UTC>.json)")
    parser.add_argument("--client-counts", default="16,64",
                        help="comma list of concurrent client counts the "
                             "small-object phases run at (default 16,64; "
                             "overrides --concurrency)")
    parser.add_argument("--no-chart", action="store_true",
                        help="do not write the PNG chart beside the JSON")
    proxy_bench.add_workload_arguments(parser)
    args = parser.parse_args(argv)
    try:
        args.client_counts = [int(c) for c in args.client_counts.split(",")
                              if c.strip()]
    except ValueError:
        parser.error("--client-counts takes a comma list of numbers")
    if not args.client_counts or min(args.client_counts) < 1:
        parser.error("--client-counts needs at least one count >= 1")
    if args.swift_workers != "match" and not args.swift_workers.isdigit():
        parser.error("--swift-workers takes a number or 'match'")
    args.objstore_workers = None  # learnt from the aio's config once started
    return args


def main(argv: Optional[list] = None) -> int:
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C so both clusters are always stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="compare-proxy-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                              time.gmtime()),
                     "cpus": os.cpu_count(), "rounds": max(1, args.rounds),
                     "objstore": [], "swift": []}
    try:
        for number in range(1, results["rounds"] + 1):
            # Fresh clusters each round, so no round inherits another's data.
            round_dir = data_dir / f"round{number}"
            if not args.skip_objstore:
                results["objstore"].append(
                    _attempt("objstore", bench_objstore, args, round_dir))
            if not args.skip_swift:
                results["swift"].append(
                    _attempt("swift", bench_swift, args, round_dir))
    finally:
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    if any(p.startswith("large_") for p in args.phases.split(",")):
        # After the rounds, so the probe's disk and CPU load disturbs no phase.
        results["machine_limits"] = machine_limits.measure(
            str(data_dir) if args.data_dir else None)
    rows = comparison_table(results["objstore"], results["swift"],
                            args.client_counts)
    results["table"] = rows
    results["client_counts"] = args.client_counts
    out_path = Path(args.json) if args.json else (
        BENCH_DIR / "results" /
        f"compare-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(results, indent=2) + "\n")
    print(format_table(rows))
    if not args.no_chart:
        print(compare_chart.write_chart(rows, args.client_counts,
                                        out_path.with_suffix(".png")))
    for name in ("objstore", "swift"):
        for number, run in enumerate(results[name], start=1):
            if "error" in run:
                print(f"warning: {name} round {number} did not run: "
                      f"{run['error']}")
    for note in (_errors_note("objstore", results["objstore"]) +
                 _errors_note("swift", results["swift"])):
        print("warning:", note)
    for line in limit_fractions(rows, results.get("machine_limits")):
        print(line)
    print(f"raw results: {out_path}")
    failed = any("error" in run for name in ("objstore", "swift")
                 for run in results[name])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
