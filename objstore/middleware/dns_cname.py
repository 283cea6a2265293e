"""CNAME answers from a DNS server, for sites that live at their owner's own domain.

``www.example.net CNAME site.auth-test.objstore.example.com`` lets a visitor
reach a container website at ``www.example.net``; domain_remap asks who
``www.example.net`` really is before it maps the host to a path.  The
standard library resolves addresses but not CNAME records, and one short UDP
question is all that is needed, so the message is built and parsed here
(RFC 1035) rather than pulling in a resolver library.

Answers are cached for their TTL (bounded), since every request of a visitor
carries the same host.
"""
from __future__ import annotations

import random
import socket
import struct
import time
from typing import Callable, Optional

CNAME_TYPE = 5
IN_CLASS = 1
# Header flags: a standard query asking the server to recurse.
RECURSION_DESIRED = 0x0100
MAX_NAME_POINTERS = 32          # a loop of compression pointers ends here
MAX_UDP_ANSWER = 4096
MAX_CACHED = 10000
DEFAULT_NAMESERVER_PORT = 53


class DNSError(Exception):
    """No usable answer: the server is silent, or its answer is malformed."""


def parse_nameserver(value: str) -> tuple[str, int]:
    """``1.2.3.4``, ``1.2.3.4:5353`` or ``[::1]:53`` as (address, port)."""
    value = value.strip()
    if value.startswith("["):
        address, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        address, port = value.split(":")
    else:
        address, port = value, ""
    if not address:
        raise ValueError("empty nameserver address in %r" % value)
    return address, int(port) if port else DEFAULT_NAMESERVER_PORT


def system_nameservers(resolv_conf: str = "/etc/resolv.conf") -> list[tuple[str, int]]:
    """The machine's own resolvers, as ``nameserver`` lines name them."""
    found = []
    try:
        with open(resolv_conf, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    found.append((words[1], DEFAULT_NAMESERVER_PORT))
    except OSError:
        pass
    return found


def build_query(query_id: int, name: str, qtype: int = CNAME_TYPE) -> bytes:
    header = struct.pack(">HHHHHH", query_id, RECURSION_DESIRED, 1, 0, 0, 0)
    return header + encode_name(name) + struct.pack(">HH", qtype, IN_CLASS)


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.strip(".").split("."):
        raw = label.encode("idna") if label else b""
        if not raw or len(raw) > 63:
            raise ValueError("not a DNS name: %r" % name)
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def read_name(message: bytes, offset: int) -> tuple[str, int]:
    """The name at ``offset`` (following compression pointers) and the offset after it."""
    labels: list[str] = []
    end: Optional[int] = None
    for _ in range(MAX_NAME_POINTERS):
        if offset >= len(message):
            raise DNSError("name runs past the message")
        length = message[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(message):
                raise DNSError("cut compression pointer")
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | message[offset + 1]
            continue
        if length == 0:
            return ".".join(labels), end if end is not None else offset + 1
        label = message[offset + 1:offset + 1 + length]
        if len(label) != length:
            raise DNSError("label runs past the message")
        labels.append(label.decode("ascii", "replace"))
        offset += 1 + length
    raise DNSError("too many compression pointers")


def parse_cname_answer(message: bytes, query_id: int) -> Optional[tuple[str, int]]:
    """(target, ttl) of the first CNAME record in a reply, None when it has none."""
    if len(message) < 12:
        raise DNSError("reply shorter than a header")
    reply_id, flags, questions, answers, _ns, _extra = struct.unpack(">HHHHHH", message[:12])
    if reply_id != query_id or not flags & 0x8000:
        raise DNSError("not the reply to our question")
    if flags & 0x000F not in (0, 3):     # NOERROR, or NXDOMAIN: a name with no alias
        raise DNSError("server failure (rcode %d)" % (flags & 0x000F))
    offset = 12
    for _ in range(questions):
        _name, offset = read_name(message, offset)
        offset += 4
    for _ in range(answers):
        _name, offset = read_name(message, offset)
        if offset + 10 > len(message):
            raise DNSError("record header runs past the message")
        rtype, rclass, ttl, length = struct.unpack(">HHIH", message[offset:offset + 10])
        offset += 10
        if rtype == CNAME_TYPE and rclass == IN_CLASS:
            target, _after = read_name(message, offset)
            return target.lower(), ttl
        offset += length
    return None


class CnameResolver:
    """Asks each nameserver in turn; remembers answers (and their absence) for their TTL."""

    def __init__(self, nameservers: list[tuple[str, int]], timeout: float = 2.0,
                 negative_ttl: int = 60, clock: Callable[[], float] = time.monotonic):
        self.nameservers = nameservers
        self.timeout = timeout
        self.negative_ttl = negative_ttl
        self.clock = clock
        self.cache: dict[str, tuple[float, Optional[str]]] = {}

    def cname(self, name: str) -> Optional[str]:
        """The target ``name`` is an alias of, or None (no alias, or no server answered)."""
        name = name.lower().rstrip(".")
        cached = self.cache.get(name)
        now = self.clock()
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            answer = self._ask(name)
        except (DNSError, OSError, ValueError):
            return None                     # not cached: the next request tries again
        target, ttl = answer if answer is not None else (None, self.negative_ttl)
        if len(self.cache) >= MAX_CACHED:
            self.cache.clear()
        self.cache[name] = (now + ttl, target)
        return target

    def _ask(self, name: str) -> Optional[tuple[str, int]]:
        last_error: Exception = DNSError("no nameserver configured")
        for address, port in self.nameservers:
            query_id = random.randrange(1 << 16)
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.settimeout(self.timeout)
                try:
                    sock.connect((address, port))
                    sock.send(build_query(query_id, name))
                    deadline = time.monotonic() + self.timeout
                    while True:
                        reply = sock.recv(MAX_UDP_ANSWER)
                        try:
                            return parse_cname_answer(reply, query_id)
                        except DNSError as err:
                            # A stray datagram is ignored; a real failure ends this server.
                            last_error = err
                            if reply[:2] == struct.pack(">H", query_id) or \
                                    time.monotonic() > deadline:
                                break
                except OSError as err:
                    last_error = err
        raise last_error
