"""Bulk delete: one request naming up to ``max_deletes_per_request`` objects and containers.

The body lists one URL-encoded name per line, ``container/object`` or
``container`` (a leading ``/`` is allowed).  The whole list is read and
checked before anything is deleted, so a list that is too long or holds a
runaway line is refused (in the report) with nothing touched.  Each name
then becomes a DELETE sub-request through the rest of the pipeline with the
client's credentials, so auth and ACLs decide exactly as for a single DELETE.
"""
from __future__ import annotations

import collections
import dataclasses
from typing import Any, Callable, Iterator, Optional
from urllib.parse import quote

from objstore.common.concurrency import GreenPool
from objstore.common.constraints import Constraints
from objstore.common.http_text import bytes_to_wsgi, wsgi_is_utf8, wsgi_to_str, wsgi_unquote
from objstore.middleware.bulk_report import BulkReport, BulkRequestError, status_line
from objstore.middleware.segments import close_response, subrequest, to_wsgi

NUMBER_DELETED = "Number Deleted"
NUMBER_NOT_FOUND = "Number Not Found"
READ_CHUNK = 65536


def max_name_bytes(limits: Constraints) -> int:
    """The longest line a name may take: a container, a slash and an object, encoded."""
    return 3 * (limits.max_container_name_length + limits.max_object_name_length + 2)


def read_names(body: Any, max_names: int, limits: Constraints) -> list[str]:
    """The raw (still URL-encoded) names in ``body``, one per non-empty line."""
    names: list[str] = []
    pending = b""
    longest = max_name_bytes(limits)
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
            names.append(bytes_to_wsgi(line))
            if len(names) > max_names:
                raise BulkRequestError(413, "Maximum Bulk Deletes: %d per request"
                                       % max_names)
        if len(pending) > longest:
            raise BulkRequestError(400, "Invalid File Name")
        if not chunk:
            return names


def decode_name(raw: str) -> Optional[str]:
    """URL-decoded UTF-8 text without leading slashes (None: not valid UTF-8 or has NUL)."""
    decoded = wsgi_unquote(raw)
    if not wsgi_is_utf8(decoded):
        return None
    return wsgi_to_str(decoded).lstrip("/")


@dataclasses.dataclass
class DeleteLimits:
    max_failures: int
    concurrency: int


def delete_order(names: list[str], report: BulkReport) -> Iterator[tuple[str, str]]:
    """``(decoded name, raw name)`` to delete: every object, then every container.

    A container listed with its objects is only empty once they are gone.
    Names that are not valid UTF-8 are recorded as failures here.
    """
    decoded = []
    for raw in names:
        name = decode_name(raw)
        if name is None:
            report.fail(raw, status_line(412))
        elif name:
            decoded.append((name, raw))
    yield from ((name, raw) for name, raw in decoded if "/" in name.strip("/"))
    yield from ((name, raw) for name, raw in decoded if "/" not in name.strip("/"))


def delete_all(app: Callable, environ: dict, version: str, account: str, names: list[str],
               report: BulkReport, limits: DeleteLimits) -> Iterator[None]:
    """DELETE every name, ``limits.concurrency`` at a time, recording outcomes in ``report``.

    Yields after each finished delete (keep-alive points).  Once
    ``limits.max_failures`` deletes failed no more are started; those in
    flight still finish and are counted.
    """
    outcome = _Outcome()
    pool = GreenPool(limits.concurrency)
    in_flight: collections.deque = collections.deque()

    def delete_one(name: str) -> int:
        path = "/%s/%s/%s" % (version, account, to_wsgi(name))
        resp = subrequest(environ, "DELETE", path, "", "BD").get_response(app)
        close_response(resp)
        return resp.status_int

    def settle_oldest() -> None:
        name, thread = in_flight.popleft()
        outcome.record(report, name, thread.wait())

    for name, _raw in delete_order(names, report):
        while len(in_flight) >= limits.concurrency:
            settle_oldest()
            yield None
        if len(report.errors) >= limits.max_failures:
            break
        in_flight.append((name, pool.spawn(delete_one, name)))
    while in_flight:
        settle_oldest()
        yield None
    if len(report.errors) >= limits.max_failures:
        report.finish(status_line(400), "Max delete failures exceeded")
    elif report.errors:
        report.finish(status_line(outcome.failure_status))
    elif not (report.counts[NUMBER_DELETED] or report.counts[NUMBER_NOT_FOUND]):
        report.finish(status_line(400), "Invalid bulk delete.")


class _Outcome:
    """How the deletes went beyond the report's counters."""

    def __init__(self) -> None:
        self.failure_status = 400

    def record(self, report: BulkReport, name: str, code: int) -> None:
        if 200 <= code < 300:
            report.count(NUMBER_DELETED)
        elif code == 404:
            report.count(NUMBER_NOT_FOUND)
        else:
            if code >= 500:
                self.failure_status = 502
            report.fail(quote(name), status_line(code))
