"""The one reading of a request's query string as text, shared by the proxy and the nodes.

WSGI hands the query string over as latin-1 characters standing for raw
bytes.  Every parameter name and value must be UTF-8 text: a ``marker=%ff``
that slipped through would crash whoever decodes it later.  NUL is allowed:
clients ask for an inclusive marker as ``marker=<name>%00`` (the next
possible name after it), and a NUL compares as a plain character in listings.  The front door
(catch_errors) and the storage servers both call :func:`parse_query_string`,
so a bad parameter gets the same 400 and reason wherever it is noticed.
"""
from __future__ import annotations

import urllib.parse

from objstore.common.http_text import wsgi_to_bytes


class QueryStringError(ValueError):
    """A query string that is not UTF-8 text; the message is the client-facing reason."""


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise QueryStringError("%s is not valid UTF-8" % what) from None


def parse_query_string(query_string: str) -> dict[str, str]:
    """``QUERY_STRING`` (WSGI latin-1 form) as text; raises QueryStringError.

    A repeated parameter keeps its last value.  Both percent-escaped and raw
    bytes are checked, since a client may send either.
    """
    if not query_string:
        return {}
    raw = wsgi_to_bytes(query_string)
    params: dict[str, str] = {}
    for field in raw.split(b"&"):
        if not field:
            continue
        raw_key, _eq, raw_value = field.partition(b"=")
        raw_key = urllib.parse.unquote_to_bytes(raw_key.replace(b"+", b" "))
        raw_value = urllib.parse.unquote_to_bytes(raw_value.replace(b"+", b" "))
        key = _text(raw_key, "A query parameter name")
        shown = urllib.parse.quote(key, safe="")[:64]
        params[key] = _text(raw_value, "Query parameter %s" % shown)
    return params
