"""Send thousands of malformed HTTP/1.1 requests to a Swift endpoint and judge every answer.

    python bench/hostile_probe.py --url http://127.0.0.1:8080 --count 3000 --seed 7 \\
        [--user test:tester --key testing] [--logs DIR]

Every case is raw bytes on a fresh TCP connection (sent whole, then the
connection half-closed), so nothing in a client library smooths it over.  The
families follow RFC 9112's framing rules: Transfer-Encoding and Content-Length
variants, broken chunked bodies, bad header names and folding, bad request
lines, binary and TLS bytes, and random byte mutations of a valid upload.
Bodies of the framing cases carry a second, smuggled request that would
delete a reference object, so a server that reads body bytes as a request
loses data the probe notices.

A case fails when the endpoint answers with a 5xx other than a 501/505 that
ends the connection, answers more often than requests were sent, answers with
bytes that are not a valid HTTP/1.1 message, or when a malformed upload was
stored.  At the end every reference object is read back and compared byte for
byte, and with ``--logs`` no file there may hold a traceback.

The functional test ``tests/functional/test_hostile_http.py`` runs a few
hundred of the same cases against the test cluster.
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import http.client
import json
import os
import random
import re
import socket
import sys
import time
import urllib.parse
import uuid
from typing import Callable, Iterator, Optional

_STATUS_LINE = re.compile(rb"HTTP/1\.1 ([1-5][0-9]{2}) [^\r\n]*\Z")
_FIELD = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n]*)\Z")


@dataclasses.dataclass
class Reply:
    status: int
    headers: dict
    body: bytes


@dataclasses.dataclass
class Outcome:
    replies: list
    closed: bool
    invalid: Optional[str] = None


def parse_replies(data: bytes) -> tuple[list[Reply], Optional[str]]:
    """Split what the server sent into replies; the second item says what was not valid."""
    replies: list[Reply] = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            return replies, "incomplete or missing head: %r" % data[:80]
        lines = head.split(b"\r\n")
        match = _STATUS_LINE.match(lines[0])
        if match is None:
            return replies, "no status line: %r" % data[:80]
        status = int(match.group(1))
        headers: dict = {}
        for line in lines[1:]:
            field = _FIELD.match(line)
            if field is None:
                return replies, "bad header line %r" % line[:80]
            headers.setdefault(field.group(1).decode().lower(), field.group(2).decode("latin-1"))
        data = rest
        if status < 200:
            continue  # interim (100 Continue) answers are not replies
        if "transfer-encoding" in headers:
            body = []
            while True:
                size_line, sep, data = data.partition(b"\r\n")
                if not sep or not re.match(rb"[0-9a-fA-F]+\Z", size_line.split(b";")[0]):
                    return replies, "bad chunk in reply"
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    if not data.startswith(b"\r\n"):
                        return replies, "bad reply trailer"
                    data = data[2:]
                    break
                if data[size:size + 2] != b"\r\n":
                    return replies, "chunk longer than its size in reply"
                body.append(data[:size])
                data = data[size + 2:]
            replies.append(Reply(status, headers, b"".join(body)))
        elif status in (204, 304):
            replies.append(Reply(status, headers, b""))
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if len(data) < length:
                return replies, "reply body shorter than its Content-Length"
            replies.append(Reply(status, headers, data[:length]))
            data = data[length:]
        else:
            replies.append(Reply(status, headers, data))
            data = b""
    return replies, None


def exchange(host: str, port: int, payload: bytes, timeout: float = 10.0,
             half_close: bool = True, idle: Optional[float] = None) -> Outcome:
    """Send ``payload`` on a new connection and collect every reply until the server closes.

    With ``half_close`` the probe shuts its sending side after the payload;
    without it, ``idle`` seconds of silence end the wait and count as "open".
    """
    sock = socket.create_connection((host, port), timeout=timeout)
    received = []
    closed = False
    try:
        try:
            sock.sendall(payload)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close before taking all of it
        deadline = time.monotonic() + timeout
        sock.settimeout(idle if idle is not None else timeout)
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not data:
                closed = True
                break
            received.append(data)
    finally:
        sock.close()
    replies, invalid = parse_replies(b"".join(received))
    return Outcome(replies, closed, invalid)


# -- cases ---------------------------------------------------------------------

@dataclasses.dataclass
class Target:
    host: str
    port: int
    token: str
    account_path: str       # /v1/AUTH_test
    container: str          # holds the reference objects and the framing uploads
    victim: str             # a reference object a smuggled request tries to delete


@dataclasses.dataclass
class Case:
    family: str
    name: str
    payload: bytes
    requests: int = 1
    upload: Optional[str] = None        # object a malformed upload must not create
    expect_status: Optional[int] = None  # for the table: the one reply and a close
    half_close: bool = False            # the table ends the request by closing (truncation)
    # A mutation can end a head early (an inserted LF, a broken Content-Length
    # name), so the bytes after it are a second message by RFC 9112: garbage
    # that may get one 400-and-close, never an answer that acted on it.
    garbage_tail_ok: bool = False


def _head(t: Target, method: str, path: str, fields: list[bytes]) -> bytes:
    lines = [b"%s %s HTTP/1.1" % (method.encode(), path.encode()),
             b"Host: %s:%d" % (t.host.encode(), t.port),
             b"X-Auth-Token: " + t.token.encode()] + fields
    return b"\r\n".join(lines) + b"\r\n\r\n"


def smuggled(t: Target) -> bytes:
    """A request that, read from a body, would delete a reference object."""
    return (b"DELETE %s/%s/%s HTTP/1.1\r\nHost: x\r\nX-Auth-Token: %s\r\n"
            b"Content-Length: 0\r\n\r\n" % (t.account_path.encode(), t.container.encode(),
                                           t.victim.encode(), t.token.encode()))


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)


BAD_TRANSFER_ENCODINGS = [
    (b"chunked, chunked", 400), (b"identity, chunked", 501), (b"gzip, chunked", 501),
    (b"chunked, gzip", 400), (b"xchunked", 400), (b'"chunked"', 400), (b"chunked;q=1", 400),
    (b"chunked\x0b", 400), (b"chunk\x00ed", 400), (b"", 400), (b"identity", 400),
]
BAD_CHUNK_BODIES = [
    (b"+5", b"+5\r\nhello\r\n0\r\n\r\n"), (b"0x5", b"0x5\r\nhello\r\n0\r\n\r\n"),
    (b"1_0", b"1_0\r\n0123456789abcdef\r\n0\r\n\r\n"), (b"lf-only", b"5\nhello\n0\n\n"),
    (b"longer-than-size", b"5\r\nhelloXXXX\r\n0\r\n\r\n"),
    (b"space-before-size", b" 5\r\nhello\r\n0\r\n\r\n"),
    (b"ctl-in-extension", b"5;a\x01b\r\nhello\r\n0\r\n\r\n"),
    (b"trailer-no-colon", b"5\r\nhello\r\n0\r\nnot a trailer\r\n\r\n"),
    (b"trailer-folded", b"5\r\nhello\r\n0\r\nX-A: 1\r\n  folded\r\n\r\n"),
    (b"trailer-bad-name", b"5\r\nhello\r\n0\r\nX A: 1\r\n\r\n"),
]
BAD_HEADER_LINES = [
    (b"space-in-name", b"X Meta: 1"), (b"space-before-colon", b"X-Meta : 1"),
    (b"non-ascii-name", b"X-M\xc3\xa9ta: 1"), (b"paren-in-name", b"X-Object-Meta-A(b): 1"),
    (b"at-in-name", b"X-Object-Meta-A@c: 1"), (b"no-colon", b"X-No-Colon"),
    (b"folded", b"X-Object-Meta-A: 1\r\n  folded"), (b"empty-name", b": 1"),
    (b"nul-in-value", b"X-Object-Meta-A: a\x00b"), (b"bare-cr", b"X-Object-Meta-A: a\rb"),
]
BAD_REQUEST_LINES = [
    (b"ice", b"GET /healthcheck ICE/1.0\r\n\r\n", 400),
    (b"http2-version", b"GET /healthcheck HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"lowercase-version", b"GET /healthcheck http/1.1\r\nHost: x\r\n\r\n", 400),
    (b"extra-token", b"GET /healthcheck HTTP/1.1 x\r\nHost: x\r\n\r\n", 400),
    (b"two-spaces", b"GET  /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"tab-separated", b"GET\t/healthcheck\tHTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"no-version", b"GET /healthcheck\r\n\r\n", 400),
    (b"truncated", b"GET /healthcheck HTT", 400),
    (b"http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    (b"tls-hello", bytes.fromhex("16030100c4010000c00303") + os.urandom(40) + b"\r\n", 400),
    (b"binary", b"\x00\x01\x02\xff\xfe\r\n\r\n", 400),
    (b"nul-in-path", b"GET /health\x00check HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"long-line", b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
]


def framing_cases(t: Target, tag: str) -> Iterator[Case]:
    """The table: one case per rule, each with the status it must get and a close."""
    obj = "%s/%s/%s" % (t.account_path, t.container, "up-" + tag)
    sneak = smuggled(t)

    def upload(name: str, fields: list[bytes], body: bytes, status: int) -> Case:
        object_path = "%s-%s" % (obj, re.sub(r"[^A-Za-z0-9_-]", "_", name))
        return Case("framing", name, _head(t, "PUT", object_path, fields) + body,
                    upload=object_path, expect_status=status)

    for value, status in BAD_TRANSFER_ENCODINGS:
        yield upload("te-%r" % value, [b"Transfer-Encoding: " + value], _chunked(sneak), status)
    yield upload("two-te", [b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked"],
                 _chunked(sneak), 400)
    yield upload("te-space-before-colon", [b"Transfer-Encoding : chunked"], _chunked(sneak), 400)
    yield upload("te-and-cl", [b"Transfer-Encoding: chunked", b"Content-Length: 5"],
                 _chunked(sneak), 400)
    yield upload("cl-5-then-44", [b"Content-Length: 5", b"Content-Length: %d" % (5 + len(sneak))],
                 b"hello" + sneak, 400)
    yield upload("cl-5-then-lower-6", [b"Content-Length: 5", b"content-length: 6"],
                 b"hello!" + sneak, 400)
    yield upload("cl-list", [b"Content-Length: 5, 5"], b"hello" + sneak, 400)
    for value in (b"-0", b"+5", b"0x5", b"5\x0b", b"\x0b5", b"5 5", b"", b"1e3", b"9" * 30):
        yield upload("cl-%r" % value, [b"Content-Length: " + value], b"hello" + sneak, 400)
    for name, body in BAD_CHUNK_BODIES:
        yield upload("chunk-%s" % name.decode(), [b"Transfer-Encoding: chunked"],
                     body + sneak, 400)
    for name, line in BAD_HEADER_LINES:
        yield upload("header-%s" % name.decode(), [line, b"Content-Length: 5"],
                     b"hello" + sneak, 400)
    http10 = _head(t, "PUT", obj + "-te-in-http10", [b"Transfer-Encoding: chunked"])
    yield Case("framing", "te-in-http10", http10.replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1)
               + _chunked(sneak), upload=obj + "-te-in-http10", expect_status=400)
    for name, payload, status in BAD_REQUEST_LINES:
        yield Case("request-line", name.decode(), payload, expect_status=status,
                   half_close=name == b"truncated")


def mutation_cases(t: Target, rng: random.Random, count: int) -> Iterator[Case]:
    """Random byte edits of a valid upload: whatever they make must be answered sanely."""
    for number in range(count):
        body = os.urandom(rng.randint(0, 64))
        base = _head(t, "PUT", "%s/%s/mut-%d" % (t.account_path, t.container + "-mut", number),
                     [b"Content-Length: %d" % len(body)]) + body
        data = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(data))
            action = rng.random()
            byte = rng.choice(b" \t\r\n:\x00\x0b\x7f\x80\xff,;\"()@0123456789aZ-/")
            if action < 0.4:
                data[position] = byte
            elif action < 0.7:
                data.insert(position, byte)
            else:
                del data[position]
        yield Case("mutation", "mutation-%d" % number, bytes(data), garbage_tail_ok=True)


def pipelined_cases(t: Target, rng: random.Random, count: int) -> Iterator[Case]:
    """Two requests on one connection, the first one malformed: exactly one reply."""
    bad = [(line, body) for _name, line in BAD_HEADER_LINES for body in (b"hello",)]
    for number in range(count):
        line, body = rng.choice(bad)
        first = _head(t, "PUT", "%s/%s/pipe-%d" % (t.account_path, t.container, number),
                      [line, b"Content-Length: 5"]) + body
        second = _head(t, "GET", "/healthcheck", [])
        yield Case("pipelined", "pipelined-%d" % number, first + second, requests=2)


def valid_pipelined(t: Target) -> Case:
    """A control: two valid requests on one connection get two 200s."""
    one = _head(t, "GET", "/healthcheck", [])
    return Case("control", "two-valid", one + one, requests=2)


def all_cases(t: Target, rng: random.Random, count: int, tag: str) -> list[Case]:
    table = list(framing_cases(t, tag))
    cases = [valid_pipelined(t)]
    while len(cases) < count:
        remaining = count - len(cases)
        cases.extend(table[:remaining])
        cases.extend(mutation_cases(t, rng, max(0, min(remaining - len(table), 60))))
        cases.extend(pipelined_cases(t, rng, max(0, min(remaining - len(table) - 60, 20))))
    rng.shuffle(cases)
    return cases[:count]


# -- judging -------------------------------------------------------------------

def judge(case: Case, outcome: Outcome) -> list[str]:
    """What is wrong with the answer to one case (empty when it is fine)."""
    problems = []
    if outcome.invalid:
        problems.append("invalid reply: %s" % outcome.invalid)
    extra = outcome.replies[case.requests:]
    refused_garbage = (case.garbage_tail_ok and len(extra) == 1 and extra[0].status == 400
                       and extra[0].headers.get("connection", "").lower() == "close")
    if extra and not refused_garbage:
        problems.append("%d replies to %d requests" % (len(outcome.replies), case.requests))
    for index, reply in enumerate(outcome.replies):
        if reply.status in (501, 505):
            if index != len(outcome.replies) - 1 or "close" not in reply.headers.get(
                    "connection", "").lower():
                problems.append("%d without a close" % reply.status)
        elif reply.status >= 500:
            problems.append("answered %d: %r" % (reply.status, reply.body[:120]))
    if case.expect_status is not None:
        statuses = [r.status for r in outcome.replies]
        if statuses != [case.expect_status]:
            problems.append("expected one %d, got %s" % (case.expect_status, statuses))
        elif not outcome.closed:
            problems.append("connection left open")
    return problems


class Probe:
    """One endpoint, its reference objects, and the cases run against it."""

    def __init__(self, url: str, user: str, key: str, timeout: float = 10.0):
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.timeout = timeout
        token, storage = self._auth(user, key)
        self.account_path = urllib.parse.urlsplit(storage).path
        self.target = Target(self.host, self.port, token, self.account_path,
                             "hostile-" + uuid.uuid4().hex[:8], "reference-0")
        self.references: dict[str, str] = {}

    def _request(self, method: str, path: str, headers: Optional[dict] = None,
                 body: bytes = b"") -> tuple[int, dict, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def _auth(self, user: str, key: str) -> tuple[str, str]:
        status, headers, _ = self._request("GET", "/auth/v1.0",
                                           {"X-Auth-User": user, "X-Auth-Key": key})
        if status != 200:
            raise SystemExit("auth as %s failed: %d" % (user, status))
        return headers["x-auth-token"], headers["x-storage-url"]

    def authed(self, method: str, path: str, body: bytes = b"") -> tuple[int, dict, bytes]:
        return self._request(method, path, {"X-Auth-Token": self.target.token}, body)

    def setup(self, references: int = 3) -> None:
        for container in (self.target.container, self.target.container + "-mut"):
            status, _, _ = self.authed("PUT", "%s/%s" % (self.account_path, container))
            assert status in (201, 202), "container PUT answered %d" % status
        for number in range(references):
            name = "reference-%d" % number
            data = os.urandom(1024 * (number + 1))
            path = "%s/%s/%s" % (self.account_path, self.target.container, name)
            status, _, _ = self.authed("PUT", path, data)
            assert status == 201, "reference PUT answered %d" % status
            self.references[name] = hashlib.md5(data).hexdigest()

    def run(self, cases: list[Case], on_case: Optional[Callable] = None) -> dict:
        figures: dict = {"cases": len(cases), "failures": [], "families": collections.Counter(),
                         "statuses": collections.Counter(), "closed": 0}
        started = time.monotonic()
        for case in cases:
            outcome = exchange(self.host, self.port, case.payload, self.timeout)
            figures["families"][case.family] += 1
            figures["closed"] += outcome.closed
            for reply in outcome.replies:
                figures["statuses"][reply.status] += 1
            for problem in judge(case, outcome):
                figures["failures"].append("%s/%s: %s" % (case.family, case.name, problem))
            if on_case is not None:
                on_case(case, outcome)
        figures["seconds"] = time.monotonic() - started
        figures["failures"].extend(self.check_nothing_stored(cases))
        figures["failures"].extend(self.check_references())
        return figures

    def check_nothing_stored(self, cases: list[Case]) -> list[str]:
        problems = []
        for path in sorted({case.upload for case in cases if case.upload}):
            status, _, _ = self.authed("HEAD", path)
            if status != 404:
                problems.append("malformed upload %s stored (HEAD %d)" % (path, status))
        return problems

    def check_references(self) -> list[str]:
        problems = []
        for name, digest in self.references.items():
            status, _, body = self.authed(
                "GET", "%s/%s/%s" % (self.account_path, self.target.container, name))
            if status != 200 or hashlib.md5(body).hexdigest() != digest:
                problems.append("reference %s changed (GET %d)" % (name, status))
        return problems


def tracebacks_in(logs_dir: str) -> list[str]:
    found = []
    for root, _dirs, files in os.walk(logs_dir):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                if b"Traceback (most recent call last)" in handle.read():
                    found.append(path)
    return found


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--user", default="test:tester")
    parser.add_argument("--key", default="testing")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--logs", help="a directory of server logs to search for tracebacks")
    args = parser.parse_args(argv)
    host = urllib.parse.urlsplit(args.url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        raise SystemExit("refusing to probe %s: loopback endpoints only" % host)
    probe = Probe(args.url, args.user, args.key)
    probe.setup()
    rng = random.Random(args.seed)
    figures = probe.run(all_cases(probe.target, rng, args.count, "s%d" % args.seed))
    if args.logs:
        figures["failures"].extend("traceback in %s" % path for path in tracebacks_in(args.logs))
    report = {
        "cases": figures["cases"], "seconds": round(figures["seconds"], 2),
        "cases_per_second": round(figures["cases"] / max(figures["seconds"], 1e-9), 1),
        "families": dict(figures["families"]), "reply_statuses": dict(figures["statuses"]),
        "connections_closed_by_server": figures["closed"],
        "failures": len(figures["failures"]), "first_failures": figures["failures"][:20],
    }
    print(json.dumps(report, indent=2, sort_keys=True))
    return 1 if figures["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
