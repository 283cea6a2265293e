"""Drive any Swift-API endpoint with a fixed workload and report its speed.

The same driver runs against objstore and against real Swift so that the
two columns of bench/compare_proxy.py differ only in the server.  The
client is deliberately cheap (raw ``http.client`` keep-alive connections,
no swiftclient, no per-request checksum work) because on a small machine it
competes with the servers for the same cores: its CPU cost is part of every
number, equally for both servers.

Workloads, run one after another:

* small objects (default 4 KiB): PUT, GET, HEAD, DELETE.  C concurrent
  clients (threads spread over a few processes) each loop on their own
  keep-alive connection until the phase's time or operation budget runs
  out.  Reports ops/s and p50/p99 latency.  GET and HEAD read the objects
  the PUT phase wrote; DELETE removes them (so DELETE is also bounded by
  how many were written).
* large objects (default 100 MiB): PUT streamed from a generator of 1 MiB
  chunks (never held in memory whole), then GET read in 1 MiB chunks and
  discarded.  Reports MiB/s.

Everything is bounded in time and count; the script always ends by itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Iterator, Optional
from urllib.parse import quote

from proc_cpu import (ServerCpuMeter, ServerPids, load_average,
                      machine_busy_seconds)
from swift_http import MIB, REQUEST_TIMEOUT, Client, Session, authenticate

SMALL_PHASES = ("put", "get", "head", "delete")
EXPECTED_STATUS = {"put": (201,), "get": (200,), "head": (200, 204),
                   "delete": (204,)}


@dataclass
class BenchConfig:
    """Everything that shapes the workload (recorded in the results)."""
    auth_url: str
    user: str
    key: str
    concurrency: int = 16
    processes: int = 2
    duration: float = 10.0
    max_ops: int = 50_000
    object_size: int = 4096
    containers: int = 4
    large_size: int = 100 * MIB
    large_count: int = 3
    large_concurrency: int = 1
    large_timeout: float = 300.0
    phases: tuple = SMALL_PHASES + ("large_put", "large_get")
    run_id: str = ""


@dataclass
class PhaseResult:
    """What one small-object phase measured, summed over every client."""
    ops: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    latencies: list = field(default_factory=list)
    first_errors: list = field(default_factory=list)
    client_cpu_s: float = 0.0
    machine_busy_s: float = 0.0
    server_cpu_s: Optional[float] = None
    settle_s: float = 0.0

    def summary(self) -> dict:
        lat = sorted(self.latencies)
        return {
            "ops": self.ops, "errors": self.errors,
            "elapsed_s": round(self.elapsed_s, 3),
            "ops_per_s": round(self.ops / self.elapsed_s, 1)
            if self.elapsed_s else 0.0,
            "p50_ms": _percentile_ms(lat, 50), "p99_ms": _percentile_ms(lat, 99),
            "mean_ms": round(1000 * sum(lat) / len(lat), 2) if lat else None,
            "max_ms": round(1000 * lat[-1], 2) if lat else None,
            "client_cpu_s": round(self.client_cpu_s, 2),
            "machine_busy_s": round(self.machine_busy_s, 2),
            "server_cpu_s": _round(self.server_cpu_s, 2),
            "settle_s": round(self.settle_s, 1),
            "server_cpu_ms_per_op": _round(
                1000 * self.server_cpu_s / self.ops, 2)
            if self.server_cpu_s is not None and self.ops else None,
            "first_errors": self.first_errors[:5],
        }


def _round(value: Optional[float], digits: int) -> Optional[float]:
    return None if value is None else round(value, digits)


def _percentile_ms(sorted_values: list, pct: float) -> Optional[float]:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1,
                max(0, int(round(pct / 100 * len(sorted_values))) - 1))
    return round(1000 * sorted_values[index], 2)


def container_name(config: BenchConfig, index: int) -> str:
    return f"bench-{config.run_id}-{index % config.containers}"


def object_path(config: BenchConfig, client_index: int, seq: int) -> str:
    name = f"c{client_index:03d}/o{seq:08d}"
    return "/" + quote(container_name(config, client_index)) + "/" + quote(name)


# ------------------------------------------------------- small-object phases

def _client_loop(config: BenchConfig, session: Session, phase: str,
                 client_index: int, written: int, budget: int,
                 deadline: float, out: dict) -> None:
    """One client's share of one phase; results land in `out`."""
    client = Client(session)
    body = os.urandom(config.object_size) if phase == "put" else b""
    latencies, errors, first_errors = [], 0, []
    ok_statuses = EXPECTED_STATUS[phase]
    method = phase.upper()
    seq = 0
    done = 0
    while done < budget and time.monotonic() < deadline:
        if phase == "put":
            target = seq
        elif phase == "delete":
            if seq >= written:
                break
            target = seq
        else:
            if written == 0:
                break
            target = seq % written
        path = object_path(config, client_index, target)
        started = time.perf_counter()
        try:
            status, _ = client.request(method, path, body)
        except (OSError, http.client.HTTPException) as exc:
            status, detail = None, f"{type(exc).__name__}: {exc}"
        else:
            detail = f"{method} -> {status}"
        elapsed = time.perf_counter() - started
        seq += 1
        if status in ok_statuses:
            latencies.append(elapsed)
            done += 1
        else:
            errors += 1
            if len(first_errors) < 3:
                first_errors.append(detail)
            if status is None:
                time.sleep(0.05)  # do not spin on a refused connection
    client.close()
    out[client_index] = {"ops": done, "errors": errors, "seq": seq,
                         "ended": time.time(),
                         "latencies": latencies, "first_errors": first_errors}


def _run_phase_in_process(config: BenchConfig, session: Session, phase: str,
                          clients: list, written: dict, budgets: dict,
                          start_at: float, duration: float) -> dict:
    """Run this process's clients for one phase, starting at wall time start_at."""
    out: dict = {}
    cpu_before = time.process_time()
    delay = start_at - time.time()
    if delay > 0:
        time.sleep(delay)
    deadline = time.monotonic() + duration
    threads = [threading.Thread(
        target=_client_loop,
        args=(config, session, phase, index, written.get(index, 0),
              budgets[index], deadline, out)) for index in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"clients": out, "cpu_s": time.process_time() - cpu_before}


def _worker_main(conn, config: BenchConfig, session: Session,
                 clients: list) -> None:
    """A client process: runs each phase it is sent until told to stop."""
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the driver went away: nothing more to do
            break
        if message is None:
            break
        phase, written, budgets, start_at, duration = message
        conn.send(_run_phase_in_process(config, session, phase, clients,
                                        written, budgets, start_at, duration))
    conn.close()


class SmallObjectDriver:
    """Runs the small-object phases across a few client processes."""

    def __init__(self, config: BenchConfig, session: Session,
                 server_cpu: ServerCpuMeter):
        self.config = config
        self.session = session
        self.server_cpu = server_cpu
        self.written: dict = {}
        self.workers: list = []

    def __enter__(self) -> "SmallObjectDriver":
        ctx = multiprocessing.get_context("fork")
        processes = max(1, min(self.config.processes, self.config.concurrency))
        for proc_index in range(processes):
            clients = list(range(proc_index, self.config.concurrency, processes))
            parent_end, child_end = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, daemon=True,
                               args=(child_end, self.config, self.session,
                                     clients))
            proc.start()
            child_end.close()
            self.workers.append((proc, parent_end))
        return self

    def __exit__(self, *exc_info) -> None:
        for proc, conn in self.workers:
            try:
                conn.send(None)
            except OSError:
                pass
        for proc, conn in self.workers:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)

    def run(self, phase: str) -> PhaseResult:
        config = self.config
        per_client = max(1, config.max_ops // config.concurrency)
        budgets = {i: per_client for i in range(config.concurrency)}
        start_clean()
        self.server_cpu.settle()
        start_at = time.time() + 0.2
        for _, conn in self.workers:
            conn.send((phase, self.written, budgets, start_at,
                       config.duration))
        merged: dict = {}
        client_cpu = 0.0
        busy_before = machine_busy_seconds()
        self.server_cpu.begin()
        # A phase cannot last longer than its duration plus one request
        # timeout; poll so a wedged worker cannot hang the benchmark.
        limit = time.monotonic() + config.duration + REQUEST_TIMEOUT + 10
        for proc, conn in self.workers:
            if not conn.poll(max(0.0, limit - time.monotonic())):
                raise RuntimeError(f"client process {proc.pid} did not "
                                   f"finish phase {phase}")
            answer = conn.recv()
            merged.update(answer["clients"])
            client_cpu += answer["cpu_s"]
        busy = machine_busy_seconds() - busy_before
        server_cpu, settle_s = self.server_cpu.finish()
        result = PhaseResult()
        last_end = start_at
        for index, part in merged.items():
            result.ops += part["ops"]
            result.errors += part["errors"]
            result.latencies.extend(part["latencies"])
            result.first_errors.extend(part["first_errors"])
            last_end = max(last_end, part["ended"])
            if phase == "put":
                # Objects 0..seq-1 were attempted; failed PUTs just 404 later.
                self.written[index] = part["seq"]
        # From the common start to the last client's last answer: clients
        # stop at the deadline (finishing the request in flight) or when
        # their budget or their objects run out.
        result.elapsed_s = max(1e-6, last_end - start_at)
        result.client_cpu_s = client_cpu
        result.machine_busy_s = busy
        result.server_cpu_s = server_cpu
        result.settle_s = settle_s
        return result


# ------------------------------------------------------- large-object phases

def start_clean() -> None:
    """Write back every dirty page before a phase starts.

    The filesystem's writeback of what the previous phase (or the other
    system's run) left dirty, such as metadata blocks after a large upload,
    would otherwise land on whichever phase comes next.
    """
    os.sync()


def _chunks_of(size: int, block: bytes) -> Iterator[memoryview]:
    """Yield `size` bytes as views of one reused block: never `size` in RAM."""
    view = memoryview(block)
    remaining = size
    while remaining > 0:
        step = min(remaining, len(view))
        yield view[:step]
        remaining -= step


def run_large(config: BenchConfig, session: Session, method: str,
              server_cpu: ServerCpuMeter) -> dict:
    """PUT or GET `large_count` large objects with `large_concurrency` streams."""
    container = container_name(config, 0)
    block = os.urandom(MIB)
    lock = threading.Lock()
    state = {"next": 0, "bytes": 0, "ok": 0, "errors": 0, "first_errors": []}
    deadline = time.monotonic() + config.large_timeout

    def one_stream() -> None:
        client = Client(session, timeout=REQUEST_TIMEOUT)
        while time.monotonic() < deadline:
            with lock:
                index = state["next"]
                if index >= config.large_count:
                    break
                state["next"] += 1
            path = f"/{quote(container)}/large-{index:04d}"
            try:
                if method == "PUT":
                    status = client.put_stream(
                        path, config.large_size,
                        _chunks_of(config.large_size, block))
                    moved = config.large_size if status == 201 else 0
                    good = status == 201
                else:
                    status, moved = client.get_stream(path)
                    good = status == 200 and moved == config.large_size
            except (OSError, http.client.HTTPException) as exc:
                status, moved, good = f"{type(exc).__name__}: {exc}", 0, False
            with lock:
                if good:
                    state["ok"] += 1
                    state["bytes"] += moved
                else:
                    state["errors"] += 1
                    state["first_errors"].append(f"{method} {path}: {status}")
        client.close()

    start_clean()
    server_cpu.settle()
    started = time.perf_counter()
    cpu_before = time.process_time()
    busy_before = machine_busy_seconds()
    server_cpu.begin()
    threads = [threading.Thread(target=one_stream)
               for _ in range(config.large_concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    client_cpu_s = time.process_time() - cpu_before
    busy_s = machine_busy_seconds() - busy_before
    server_cpu_s, settle_s = server_cpu.finish()
    gib = state["bytes"] / (1024 * MIB)
    return {"objects": state["ok"], "errors": state["errors"],
            "server_cpu_s": _round(server_cpu_s, 2),
            "settle_s": round(settle_s, 1),
            "server_cpu_s_per_gib": _round(server_cpu_s / gib, 2)
            if server_cpu_s is not None and gib else None,
            "client_cpu_s": round(client_cpu_s, 2),
            "machine_busy_s": round(busy_s, 2),
            "bytes": state["bytes"], "elapsed_s": round(elapsed, 3),
            "mib_per_s": round(state["bytes"] / MIB / elapsed, 1)
            if elapsed else 0.0,
            "first_errors": state["first_errors"][:5]}


# ------------------------------------------------------------------ top level

def _setup_containers(config: BenchConfig, session: Session) -> None:
    client = Client(session)
    for index in range(config.containers):
        status, _ = client.request("PUT", "/" + quote(container_name(config,
                                                                      index)))
        if status not in (201, 202):
            raise SystemExit(f"cannot create container: {status}")
    client.close()


def _cleanup(config: BenchConfig, session: Session) -> dict:
    """Delete what the run left behind (untimed, bounded to a minute)."""
    client = Client(session)
    deleted = 0
    deadline = time.monotonic() + 60
    for index in range(config.containers):
        path = "/" + quote(container_name(config, index))
        while time.monotonic() < deadline:
            names = _list_names(client, path)
            if not names:
                break
            for name in names:
                if time.monotonic() >= deadline:
                    break
                client.request("DELETE", path + "/" + quote(name))
                deleted += 1
        client.request("DELETE", path)
    client.close()
    return {"leftover_objects_deleted": deleted}


def _list_names(client: Client, container_path: str) -> list:
    """Up to 1000 object names of a container (JSON listing)."""
    status, body = client.request_body("GET", container_path +
                                       "?format=json&limit=1000")
    if status != 200:
        return []
    return [entry["name"] for entry in json.loads(body)]


def run_benchmark(config: BenchConfig, label: str = "",
                  server_pids: ServerPids = None) -> dict:
    """Run every selected phase once; return a JSON-able result dict.

    `server_pids`, when given, names the server processes so each phase
    also reports the CPU the servers (and their children) used.
    """
    if not config.run_id:
        config.run_id = f"{int(time.time())}-{os.getpid()}"
    session = authenticate(config.auth_url, config.user, config.key)
    _setup_containers(config, session)
    server_cpu = ServerCpuMeter(server_pids)
    idle_rate = server_cpu.calibrate()
    results: dict = {"label": label, "config": asdict(config),
                     "client_host_cpus": os.cpu_count(),
                     "load_average_before": load_average(),
                     "server_idle_cpu_per_s": _round(idle_rate, 3),
                     "started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                              time.gmtime()),
                     "small": {}, "large": {}}
    results["config"].pop("key", None)
    small = [p for p in SMALL_PHASES if p in config.phases]
    if small:
        with SmallObjectDriver(config, session, server_cpu) as driver:
            for phase in small:
                outcome = driver.run(phase)
                results["small"][phase] = outcome.summary()
                _progress(label, phase, results["small"][phase])
    for phase, method in (("large_put", "PUT"), ("large_get", "GET")):
        if phase in config.phases:
            results["large"][method.lower()] = run_large(
                config, session, method, server_cpu)
            _progress(label, phase, results["large"][method.lower()])
    results["load_average_after"] = load_average()
    results["cleanup"] = _cleanup(config, session)
    return results


def _progress(label: str, phase: str, summary: dict) -> None:
    if "ops_per_s" in summary:
        text = (f"{summary['ops_per_s']:9.1f} ops/s  p50 {summary['p50_ms']} ms"
                f"  p99 {summary['p99_ms']} ms  ({summary['ops']} ops, "
                f"{summary['errors']} errors")
    else:
        text = (f"{summary['mib_per_s']:9.1f} MiB/s  ({summary['objects']} "
                f"objects, {summary['errors']} errors")
    text += (f"; cpu s: client {summary['client_cpu_s']}, servers "
             f"{summary['server_cpu_s']}, machine {summary['machine_busy_s']}"
             f"; settled in {summary['settle_s']}s)")
    print(f"[{label or 'bench'}] {phase:9s} {text}", file=sys.stderr,
          flush=True)


def add_workload_arguments(parser: argparse.ArgumentParser) -> None:
    """Workload options, shared with compare_proxy.py."""
    parser.add_argument("--concurrency", "-c", type=int, default=16,
                        help="concurrent small-object clients (default 16)")
    parser.add_argument("--processes", type=int, default=2,
                        help="client processes the clients are spread over")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds per small-object phase (default 10)")
    parser.add_argument("--max-ops", type=int, default=50_000,
                        help="operation cap per small-object phase")
    parser.add_argument("--object-size", type=int, default=4096)
    parser.add_argument("--containers", type=int, default=4)
    parser.add_argument("--large-size-mib", type=int, default=100)
    parser.add_argument("--large-count", type=int, default=3)
    parser.add_argument("--large-concurrency", type=int, default=1)
    parser.add_argument("--phases", default=",".join(BenchConfig.phases),
                        help="comma list of put,get,head,delete,"
                             "large_put,large_get")


def config_from_args(args: argparse.Namespace, auth_url: str, user: str,
                     key: str) -> BenchConfig:
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    unknown = set(phases) - set(BenchConfig.phases)
    if unknown:
        raise SystemExit(f"unknown phases: {sorted(unknown)}")
    return BenchConfig(
        auth_url=auth_url, user=user, key=key,
        concurrency=max(1, args.concurrency),
        processes=max(1, args.processes), duration=args.duration,
        max_ops=args.max_ops, object_size=args.object_size,
        containers=max(1, args.containers),
        large_size=args.large_size_mib * MIB, large_count=args.large_count,
        large_concurrency=max(1, args.large_concurrency), phases=phases)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--auth-url", required=True)
    parser.add_argument("--user", default="test:tester")
    parser.add_argument("--key", default="testing")
    parser.add_argument("--label", default="")
    parser.add_argument("--json", help="write results to this file")
    parser.add_argument("--server-pids", default="",
                        help="comma list of server pids (with their children)"
                             " whose CPU use to report per phase")
    add_workload_arguments(parser)
    args = parser.parse_args(argv)
    config = config_from_args(args, args.auth_url, args.user, args.key)
    pids = [int(p) for p in args.server_pids.split(",") if p.strip()]
    results = run_benchmark(config, args.label,
                            (lambda: pids) if pids else None)
    text = json.dumps(results, indent=2)
    if args.json:
        with open(args.json, "w") as handle:
            handle.write(text + "\n")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
