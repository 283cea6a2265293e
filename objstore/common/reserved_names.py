"""The reserved namespace: names that start with a NUL character.

Middleware keeps its own data (object versions) in accounts, containers
and objects whose names begin with ``RESERVED``, so no client name can ever
collide with them: a client cannot even spell such a name (the proxy
refuses a NUL in a path unless the request is an internal one carrying
``X-Backend-Allow-Reserved-Names: true``, which the gatekeeper and the
proxy strip from client requests).  The storage servers accept such paths
only with that header, which the backend client adds to every request whose
path holds a reserved part; listings leave reserved names out unless the
request asks for them with the same header.
"""
from __future__ import annotations

from typing import Mapping

from objstore.common.config import to_bool

RESERVED = "\x00"
ALLOW_RESERVED_HEADER = "X-Backend-Allow-Reserved-Names"
# The WSGI environ key of that header.
ALLOW_RESERVED_ENVIRON = "HTTP_X_BACKEND_ALLOW_RESERVED_NAMES"
# The lowest name that is not reserved: a listing that hides reserved names
# starts here.
FIRST_UNRESERVED = "\x01"


def allows_reserved(headers: Mapping[str, str]) -> bool:
    """True when a request's headers ask for the reserved namespace."""
    try:
        return to_bool(headers.get(ALLOW_RESERVED_HEADER) or "false")
    except ValueError:
        return False


def reserved_name(*parts: str) -> str:
    """``\\x00part1\\x00part2...``; a part may not itself hold a NUL."""
    if not parts:
        raise ValueError("a reserved name needs at least one part")
    if any(RESERVED in part for part in parts):
        raise ValueError("a part of a reserved name holds a NUL")
    return RESERVED + RESERVED.join(parts)


def split_reserved_name(name: str) -> list[str]:
    """The parts of a reserved name; ValueError for a name that is not one."""
    if not name.startswith(RESERVED):
        raise ValueError("not a reserved name: %r" % name)
    return name[1:].split(RESERVED)


def is_reserved(name: str) -> bool:
    return name.startswith(RESERVED)
