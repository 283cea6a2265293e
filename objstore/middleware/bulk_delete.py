"""Bulk delete: one request naming up to ``max_deletes_per_request`` objects and containers.

The body lists one URL-encoded name per line, ``container/object`` or
``container`` (a leading ``/`` is allowed).  The whole list is read and
checked before anything is deleted, so a list that is too long or holds a
runaway line is refused with nothing touched.  Each name then becomes a
DELETE sub-request through the rest of the pipeline with the client's
credentials, so auth and ACLs decide exactly as for a single DELETE.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Optional
from urllib.parse import quote, unquote_to_bytes

from objstore.common.constraints import constraints
from objstore.middleware.bulk_report import BulkReport, BulkRequestError, status_line
from objstore.middleware.segments import close_response, subrequest, to_wsgi

NUMBER_DELETED = "Number Deleted"
NUMBER_NOT_FOUND = "Number Not Found"
READ_CHUNK = 65536


def max_name_bytes() -> int:
    """The longest line a name may take: a container, a slash and an object, encoded."""
    limits = constraints()
    return 3 * (limits.max_container_name_length + limits.max_object_name_length + 2)


def read_names(body: Any, max_names: int) -> list[str]:
    """The raw (still URL-encoded) names in ``body``, one per non-empty line."""
    names: list[str] = []
    pending = b""
    longest = max_name_bytes()
    while True:
        chunk = body.read(READ_CHUNK)
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop() if chunk else b""
        for line in lines:
            line = line.strip()
            if not line:
                continue
            if len(line) > longest:
                raise BulkRequestError(400, "Invalid File Name")
            names.append(line.decode("latin-1"))
            if len(names) > max_names:
                raise BulkRequestError(413, "Maximum Bulk Deletes: %d per request"
                                       % max_names)
        if len(pending) > longest:
            raise BulkRequestError(400, "Invalid File Name")
        if not chunk:
            return names


def decode_name(raw: str) -> Optional[str]:
    """URL-decoded UTF-8 text without leading slashes (None: not valid UTF-8 or has NUL)."""
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\x00" in text:
        return None
    return text.lstrip("/")


def delete_all(app: Callable, environ: dict, version: str, account: str, names: list[str],
               report: BulkReport, max_failures: int) -> Iterator[None]:
    """DELETE every name, recording the outcome in ``report``; yields after each one."""
    failure_status = 400
    for raw in names:
        if len(report.errors) >= max_failures:
            report.finish(status_line(400), "Max delete failures exceeded")
            return
        name = decode_name(raw)
        if name is None:
            report.fail(raw, status_line(412))
            continue
        if not name:
            continue
        path = "/%s/%s/%s" % (version, account, to_wsgi(name))
        resp = subrequest(environ, "DELETE", path, "", "BD").get_response(app)
        close_response(resp)
        code = resp.status_int
        if 200 <= code < 300:
            report.count(NUMBER_DELETED)
        elif code == 404:
            report.count(NUMBER_NOT_FOUND)
        else:
            if code >= 500:
                failure_status = 502
            report.fail(quote(name), status_line(code))
        yield None
    if report.errors:
        report.finish(status_line(failure_status))
    elif not (report.counts[NUMBER_DELETED] or report.counts[NUMBER_NOT_FOUND]):
        report.finish(status_line(400), "Invalid bulk delete.")
