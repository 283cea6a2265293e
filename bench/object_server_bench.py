"""Object server PUT and GET rate for small (4 KiB) objects, on the real file system.

Two modes:
- ``wsgi``: calls the ObjectServer WSGI app in-process (no sockets): the cost
  of the server code plus DiskFile (fsync, xattrs, renames);
- ``http``: starts the app on a real eventlet server (objstore.common.concurrency)
  in a child process on 127.0.0.1 and drives it with keep-alive http.client
  connections from this process, one request at a time per client thread.

    python bench/object_server_bench.py --mode wsgi --count 2000
    python bench/object_server_bench.py --mode http --count 2000 --clients 4

Data goes under ``--dir`` (a temp dir by default), on whatever file system
that is; fsync cost dominates PUTs.
"""
from __future__ import annotations

import argparse
import http.client
import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from objstore.common.cluster_config import ClusterConfig  # noqa: E402
from objstore.common.timestamp import Timestamp  # noqa: E402

BODY = os.urandom(4096)
CLUSTER = ClusterConfig.build("bench-prefix", "bench-suffix")


def _environ(method: str, path: str, headers: dict, body: bytes = b"") -> dict:
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "",
           "QUERY_STRING": "", "SERVER_NAME": "bench", "SERVER_PORT": "0",
           "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
           "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
           "wsgi.version": (1, 0), "wsgi.multithread": False,
           "wsgi.multiprocess": False, "wsgi.run_once": False}
    for key, value in headers.items():
        name = key.upper().replace("-", "_")
        if name in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            env[name] = value
        else:
            env["HTTP_" + name] = value
    return env


def bench_wsgi(devices: str, count: int) -> tuple[float, float]:
    from objstore.obj.server import ObjectServer

    app = ObjectServer(CLUSTER, {"devices": devices})
    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    began = time.perf_counter()
    for i in range(count):
        env = _environ("PUT", "/sda/%d/AUTH_bench/c/o%d" % (i % 1024, i), {
            "X-Timestamp": Timestamp.now().internal, "Content-Type": "application/octet-stream",
            "Content-Length": str(len(BODY))}, BODY)
        b"".join(app(env, start_response))
    put_rate = count / (time.perf_counter() - began)
    assert all(s.startswith("201") for s in statuses), statuses[:3]
    statuses.clear()
    began = time.perf_counter()
    for i in range(count):
        env = _environ("GET", "/sda/%d/AUTH_bench/c/o%d" % (i % 1024, i), {})
        body = b"".join(app(env, start_response))
        assert len(body) == 4096
    get_rate = count / (time.perf_counter() - began)
    assert all(s.startswith("200") for s in statuses)
    return put_rate, get_rate


def serve(devices: str) -> None:
    """Child process: serve the object server, print the port."""
    from objstore.common import concurrency

    concurrency.monkey_patch()
    from objstore.obj.server import ObjectServer

    sock = concurrency.green_listen(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    from objstore.common.http_protocol import serve_http
    serve_http(sock, ObjectServer(CLUSTER, {"devices": devices, "log_level": "ERROR"}))


def bench_http(devices: str, count: int, clients: int) -> tuple[float, float, list]:
    """PUT and GET rates, and the server's CPU milliseconds per request for each.

    On a machine shared with other work the rates move with the load; the
    CPU the server process burns per request moves much less, so that is the
    figure to compare two versions of the server by.
    """
    from proc_cpu import timed_phase

    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", devices],
                            stdout=subprocess.PIPE)
    port = int(proc.stdout.readline())
    per_client = count // clients
    errors: list = []

    def run(method: str, client: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        # http.client sends headers and body in two writes: without NODELAY,
        # Nagle plus delayed ACKs would cost 40 ms per PUT and measure nothing.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for i in range(per_client):
                path = "/sda/%d/AUTH_bench/c/o%d-%d" % (i % 1024, client, i)
                if method == "PUT":
                    conn.request("PUT", path, body=BODY, headers={
                        "X-Timestamp": Timestamp.now().internal,
                        "Content-Type": "application/octet-stream"})
                    expect = 201
                else:
                    conn.request("GET", path)
                    expect = 200
                resp = conn.getresponse()
                resp.read()
                if resp.status != expect:
                    errors.append(resp.status)
        finally:
            conn.close()

    rates = []
    cpu_ms = []
    try:
        for method in ("PUT", "GET"):
            elapsed, cpu = timed_phase(
                [lambda m=method, c=c: run(m, c) for c in range(clients)], [proc.pid])
            rates.append(per_client * clients / elapsed)
            if cpu is not None:
                cpu_ms.append(1000.0 * cpu / (per_client * clients))
    finally:
        proc.terminate()
        proc.wait(5)
    if errors:
        raise SystemExit("unexpected statuses: %s" % errors[:5])
    return rates[0], rates[1], cpu_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("wsgi", "http"), default="wsgi")
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--dir", default=None, help="devices dir (default: a temp dir)")
    parser.add_argument("--serve", metavar="DEVICES", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    root = args.dir or tempfile.mkdtemp(prefix="objbench-")
    os.makedirs(os.path.join(root, "sda"), exist_ok=True)
    try:
        if args.mode == "wsgi":
            put_rate, get_rate = bench_wsgi(root, args.count)
            cpu_ms = []
        else:
            put_rate, get_rate, cpu_ms = bench_http(root, args.count, args.clients)
    finally:
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)
    print("mode=%s objects=%d size=4KiB%s" % (
        args.mode, args.count, " clients=%d" % args.clients if args.mode == "http" else ""))
    print("PUT %.0f/s  GET %.0f/s" % (put_rate, get_rate))
    if len(cpu_ms) == 2:
        print("server CPU per request: PUT %.3f ms  GET %.3f ms" % tuple(cpu_ms))


if __name__ == "__main__":
    main()
