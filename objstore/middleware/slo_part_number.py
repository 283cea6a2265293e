"""``?part-number=N`` on a GET or HEAD of a static large object: one segment's bytes.

Clients that fetch a large object in parallel (S3-style multipart download)
ask for one part at a time; a part is one entry of the manifest.  The answer
is a 206 whose ``Content-Range`` places the part inside the whole object,
with ``X-Parts-Count`` giving the number of parts; a HEAD answers the same
headers, since they are what the client plans its downloads with.  Past the
last part is 416, and a part number that is not a positive integer, or one
combined with a ``Range`` header, is 400.
"""
from __future__ import annotations

from typing import Callable, Iterator, Optional, Sequence

from webob import Request, Response

from objstore.common.http_conditions import content_range, unsatisfiable_range
from objstore.middleware.segments import large_object_response

PARTS_COUNT_HEADER = "X-Parts-Count"


class BadPartNumber(ValueError):
    """The request's part-number cannot be served (a 400, with this reason)."""


def requested_part(req: Request) -> Optional[int]:
    """The 1-based part the request asks for (None: the whole object)."""
    value = req.GET.get("part-number")
    if value is None:
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise BadPartNumber("Part number must be an integer greater than 0")
    if "Range" in req.headers:
        raise BadPartNumber("Range requests are not supported with part number queries")
    return int(text)


def part_response(req: Request, headers: Sequence[tuple[str, str]], part_lengths: list[int],
                  etag: str, part: int,
                  read_range: Callable[[int, int], Iterator[bytes]]) -> Response:
    """The answer for ``part`` of a large object made of parts of ``part_lengths`` bytes."""
    total = sum(part_lengths)
    headers = list(headers) + [(PARTS_COUNT_HEADER, str(len(part_lengths)))]
    if part > len(part_lengths):
        body = b"" if req.method == "HEAD" else b"The requested part number is not satisfiable"
        resp = Response(status=416, headerlist=[(k, v) for k, v in headers
                                                if k.lower() not in ("content-length", "etag")])
        resp.headers["Etag"] = '"%s"' % etag
        resp.headers["Content-Range"] = unsatisfiable_range(total)
        resp.body = body
        return resp
    start = sum(part_lengths[:part - 1])
    end = start + part_lengths[part - 1]
    ranged = Request({k: v for k, v in req.environ.items() if not k.startswith("webob.")})
    ranged.headers["Range"] = "bytes=%d-%d" % (start, end - 1)
    resp = large_object_response(ranged, headers, total, etag, read_range)
    if req.method == "HEAD" and resp.status_int == 200:
        # A HEAD ignores Range, but a part's HEAD describes the part, so 206 it is.
        resp.status = 206
        resp.headers["Content-Length"] = str(end - start)
        resp.headers["Content-Range"] = content_range(start, end, total)
    return resp
