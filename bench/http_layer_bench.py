"""The HTTP layer alone: server CPU per request for objstore's protocol class and eventlet's own.

    python bench/http_layer_bench.py --count 5000 --rounds 3

A child process serves a tiny WSGI app (PUT reads a 4 KiB body, GET returns
4 KiB, no disk) once with :class:`objstore.common.http_protocol.HttpProtocol`
and once with eventlet's stock protocol, in alternating rounds; keep-alive
clients in this process send the requests.  Request rates move with whatever
else the machine runs, so the figure that compares the two is the CPU the
server process burned per request (from /proc), reported as the median of
the rounds.
"""
from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from proc_cpu import timed_phase  # noqa: E402

BODY = os.urandom(4096)
HEADERS = {"X-Timestamp": "1700000000.00000", "Content-Type": "application/octet-stream",
           "X-Object-Meta-Color": "blue", "X-Trans-Id": "tx0123456789abcdef"}


def app(environ, start_response):
    if environ["REQUEST_METHOD"] == "PUT":
        environ["wsgi.input"].read()
        start_response("201 Created", [("Content-Length", "0")])
        return [b""]
    start_response("200 OK", [("Content-Length", str(len(BODY))),
                              ("Content-Type", "application/octet-stream")])
    return [BODY]


def serve(protocol: str) -> None:
    from objstore.common import concurrency
    from objstore.common.http_protocol import serve_http

    concurrency.monkey_patch()
    sock = concurrency.green_listen(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    if protocol == "objstore":
        serve_http(sock, app)
    else:
        concurrency.serve_wsgi(sock, app, protocol=concurrency.HttpProtocolBase)


def measure(protocol: str, count: int, clients: int) -> dict:
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", protocol],
                            stdout=subprocess.PIPE)
    port = int(proc.stdout.readline())
    per_client = count // clients
    result = {}

    def run(method: str) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for _ in range(per_client):
                conn.request(method, "/sda/1/AUTH_bench/c/o", body=BODY if method == "PUT"
                             else None, headers=HEADERS)
                resp = conn.getresponse()
                resp.read()
                assert resp.status in (200, 201), resp.status
        finally:
            conn.close()

    try:
        for method in ("PUT", "GET"):
            elapsed, cpu = timed_phase([lambda m=method: run(m)] * clients, [proc.pid])
            done = per_client * clients
            result[method] = (1000.0 * (cpu or 0.0) / done, done / elapsed)
    finally:
        proc.terminate()
        proc.wait(5)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", choices=("objstore", "eventlet"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    rounds: dict = {"objstore": [], "eventlet": []}
    for _ in range(args.rounds):
        for protocol in ("eventlet", "objstore"):
            rounds[protocol].append(measure(protocol, args.count, args.clients))
    for protocol, results in rounds.items():
        for method in ("PUT", "GET"):
            cpu = statistics.median(r[method][0] for r in results)
            rate = statistics.median(r[method][1] for r in results)
            print("%-8s %-3s server CPU %.3f ms/request  (%.0f requests/s)"
                  % (protocol, method, cpu, rate))


if __name__ == "__main__":
    main()
