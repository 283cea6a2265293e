"""``PUT ?multipart-manifest=put&heartbeat=on``: a manifest upload that keeps talking.

Checking a manifest HEADs every segment; with thousands of segments that
takes longer than many clients and proxies wait for a silent connection.
With ``heartbeat=on`` the answer starts at once as ``202 Accepted``, a space
goes out immediately and then every ``yield_frequency`` seconds while the
segments are checked, and the body ends with the outcome in the bulk
report's shape (:mod:`objstore.middleware.bulk_report`, root ``upload``):
``Response Status`` (``201 Created`` when stored), ``Etag`` and
``Last Modified`` of the new large object, ``Response Body`` and the
per-segment ``Errors``.
"""
from __future__ import annotations

import time
from typing import Callable, Iterator

from webob import Request, Response

from objstore.middleware.bulk_report import (PLAIN, BulkReport, negotiate_format,
                                             status_explanation, status_line)

# Between the keep-alive spaces and the report, so a client can split them apart.
REPORT_SEPARATOR = b"\r\n\r\n"


def heartbeat_put(req: Request, checks: Iterator[None], errors: list[tuple[str, str]],
                  conclude: Callable[[], Response], yield_frequency: float) -> Response:
    """A 202 whose body follows ``checks`` (one tick per checked segment) to its end.

    ``errors`` fills up while ``checks`` runs; ``conclude`` then stores the
    manifest (or refuses it) and returns the answer a plain PUT would get.
    """
    content_type = negotiate_format(req) or PLAIN
    report = BulkReport("upload", (), status_line(201))

    def body() -> Iterator[bytes]:
        # Headers only leave with the first body bytes: send one at once.
        yield b" "
        last_sent = time.monotonic()
        for _tick in checks:
            now = time.monotonic()
            if now - last_sent >= yield_frequency:
                last_sent = now
                yield b" "
        if errors and not any(reason.startswith("401") for _name, reason in errors):
            report.finish(status_line(400), status_explanation(400))
            for name, reason in errors:
                report.fail(name, reason)
        else:
            resp = conclude()
            if 200 <= resp.status_int < 300:
                report.finish(resp.status, "")
            elif resp.status_int == 422:
                # The manifest's ETag is not the one the client sent: the
                # standard 422 explanation, as a client waiting on it expects.
                report.finish(resp.status, status_explanation(422))
            else:
                text = resp.body.decode("utf-8", "replace").strip()
                report.finish(resp.status, text or status_explanation(resp.status_int))
            if 200 <= resp.status_int < 300:
                report.note("Etag", resp.headers.get("Etag", ""))
                report.note("Last Modified", resp.headers.get("Last-Modified", ""))
        yield REPORT_SEPARATOR + report.render(content_type, declaration=False)

    req.environ["eventlet.minimum_write_chunk_size"] = 0
    resp = Response(status=202, app_iter=body(), content_type=content_type,
                    charset="utf-8" if content_type == PLAIN else None)
    resp.headers.pop("Content-Length", None)
    return resp
