"""Many operations in one request (Swift's ``bulk``): extract archive and bulk delete.

- ``PUT /v1/<account>[/<container>[/<prefix>]]?extract-archive=tar|tar.gz|tar.bz2``
  turns each regular file of the archive into an object
  (:mod:`objstore.middleware.bulk_extract`).
- ``POST`` or ``DELETE /v1/<account>?bulk-delete`` with a body of
  newline-separated URL-encoded ``container/object`` or ``container``
  names deletes them all (:mod:`objstore.middleware.bulk_delete`).

It sits before auth in the pipeline: every object or container touched is a
sub-request that carries the client's token through auth, ACLs and the rest
of the pipeline, exactly as if the client had sent it alone.

Such a request may run for minutes while the client hears nothing, and
proxies or clients drop idle connections.  So the status line goes out at
once, always ``200 OK``, and a space is sent every ``yield_frequency``
seconds while the work goes on.  The real outcome is the report at the end
of the body (:mod:`objstore.middleware.bulk_report`): counters,
``Response Status`` (``201 Created`` for a clean extraction, ``200 OK`` for
a clean delete), ``Response Body`` and the failures.  Problems with the
request itself that show up once the answer has started (a missing length,
a name list that is too long, a damaged archive) land in that report too,
which is where clients such as python-swiftclient and rclone look for them.
That includes an ``Accept`` naming none of the three formats: the report
then comes as text/plain with ``Response Status: 406 Not Acceptable`` and
nothing is done.  Only an unknown archive type gets its own status (400).

Bulk delete sends ``delete_concurrency`` sub-requests at a time, objects
before containers so that a container named in the same list is empty by
the time its turn comes.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional
from urllib.parse import parse_qs

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError, ConfigSection
from objstore.common.constraints import Constraints
from objstore.common.logs import get_logger
from objstore.common.pipeline import typed_factory
from objstore.middleware.bulk_delete import (NUMBER_DELETED, NUMBER_NOT_FOUND, DeleteLimits,
                                             delete_all, read_names)
from objstore.middleware.bulk_extract import (COPIED_HEADER_NAMES, NUMBER_FILES_CREATED,
                                              ExtractLimits, Extraction, archive_compression)
from objstore.middleware.bulk_report import (PLAIN, XML_DECLARATION, BulkReport,
                                             BulkRequestError, is_xml, negotiate_format,
                                             status_line)
from objstore.middleware.segments import from_wsgi
from objstore.proxy.responses import plain_response

# Sent ahead of the report once keep-alive spaces went out, so a client that
# strips leading whitespace finds the report on its own.
REPORT_SEPARATOR = b"\r\n\r\n"


@dataclasses.dataclass
class BulkConfig(ConfigSection):
    max_containers_per_extraction: int = 10000
    max_failed_extractions: int = 1000
    max_deletes_per_request: int = 10000
    max_failed_deletes: int = 1000
    # Delete sub-requests in flight at once for one bulk delete.
    delete_concurrency: int = 2
    # Seconds between keep-alive spaces while a long request works.
    yield_frequency: float = 10.0
    log_name: str = "bulk"

    def validate(self) -> None:
        for name in ("max_containers_per_extraction", "max_failed_extractions",
                     "max_deletes_per_request", "max_failed_deletes"):
            if getattr(self, name) < 1:
                raise ConfigError("option %r must be at least 1" % name)
        if not 1 <= self.delete_concurrency <= 1000:
            raise ConfigError("option 'delete_concurrency' must be between 1 and 1000")
        if self.yield_frequency <= 0:
            raise ConfigError("option 'yield_frequency' must be positive")



def require_acceptable(content_type: Optional[str]) -> None:
    """The report format ``Accept`` chose; None means none of ours would do."""
    if content_type is None:
        raise BulkRequestError(406, "Not Acceptable: the report comes as text/plain, "
                                    "application/json, application/xml or text/xml")


def require_body_length(req: Request) -> None:
    """A bulk body must say how long it is or come chunked: nothing else ends it."""
    chunked = req.headers.get("Transfer-Encoding", "").lower() == "chunked"
    if req.content_length is None and not chunked:
        raise BulkRequestError(411, "Length Required")


class Bulk:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: BulkConfig, constraints: Constraints):
        self.app = app
        self.conf = conf
        self.constraints = constraints
        self.logger = get_logger(conf.log_name)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method not in ("PUT", "POST", "DELETE"):
            return self.app(environ, start_response)
        params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if method == "PUT" and "extract-archive" in params:
            handler = self.extract_archive
        elif method in ("POST", "DELETE") and "bulk-delete" in params:
            handler = self.bulk_delete
        else:
            return self.app(environ, start_response)
        parts = environ.get("PATH_INFO", "").split("/", 3)
        if len(parts) < 3 or parts[0] or not parts[1] or not parts[2]:
            return self.app(environ, start_response)
        req = Request(environ)
        try:
            resp = handler(req, params, parts[1], parts[2], parts[3] if len(parts) > 3 else "")
        except BulkRequestError as err:
            resp = plain_response(err.code, err.reason)
        return resp(environ, start_response)

    # -- extract archive -------------------------------------------------------------
    def extract_archive(self, req: Request, params: dict, version: str, account: str,
                        rest: str) -> Response:
        compression = archive_compression(params["extract-archive"][0])
        if compression is None:
            raise BulkRequestError(400, "Unsupported archive format: extract-archive must be "
                                        "tar, tar.gz or tar.bz2")
        content_type = negotiate_format(req)
        report = BulkReport("extract", (NUMBER_FILES_CREATED,), status_line(201))
        limits = ExtractLimits(self.conf.max_containers_per_extraction,
                               self.conf.max_failed_extractions,
                               self.constraints.max_file_size)
        copied = {k: v for k, v in req.headers.items()
                  if k.lower() in COPIED_HEADER_NAMES or k.lower().startswith("x-object-meta-")}
        base = from_wsgi(rest).strip("/")
        extraction = Extraction(self.app, req.environ, version, account, base, report, limits,
                                copied)

        def work() -> Iterator[None]:
            require_acceptable(content_type)
            require_body_length(req)
            yield from extraction.run(req.environ["wsgi.input"], compression)

        return self._streamed(req, content_type, work(), report)

    # -- bulk delete -----------------------------------------------------------------
    def bulk_delete(self, req: Request, params: dict, version: str, account: str,
                    rest: str) -> Response:
        content_type = negotiate_format(req)
        report = BulkReport("delete", (NUMBER_DELETED, NUMBER_NOT_FOUND), status_line(200))
        limits = DeleteLimits(self.conf.max_failed_deletes, self.conf.delete_concurrency)

        def work() -> Iterator[None]:
            require_acceptable(content_type)
            incoming = req.headers.get("Content-Type", "")
            if incoming and not incoming.lower().startswith("text/plain"):
                raise BulkRequestError(406, "Bulk delete takes a text/plain list of names")
            require_body_length(req)
            names = read_names(req.environ["wsgi.input"], self.conf.max_deletes_per_request,
                               self.constraints)
            yield from delete_all(self.app, req.environ, version, account, names, report,
                                  limits)

        return self._streamed(req, content_type, work(), report)

    # -- shared ------------------------------------------------------------------------
    def _streamed(self, req: Request, content_type: Optional[str], work: Iterator[None],
                  report: BulkReport) -> Response:
        # Each keep-alive space must leave at once, not wait in the server's buffer.
        req.environ["eventlet.minimum_write_chunk_size"] = 0
        content_type = content_type or PLAIN
        body = self._body(work, report, content_type)
        resp = Response(status=200, app_iter=body, content_type=content_type,
                        charset="utf-8" if content_type == PLAIN else None)
        resp.headers.pop("Content-Length", None)
        return resp

    def _body(self, work: Iterator[None], report: BulkReport,
              content_type: str) -> Iterator[bytes]:
        last_sent = time.monotonic()
        spaces_sent = False
        if is_xml(content_type):
            # Leading spaces would make the document invalid; after the
            # declaration they are just whitespace.
            yield XML_DECLARATION.encode("utf-8")
        try:
            for _tick in work:
                now = time.monotonic()
                if now - last_sent >= self.conf.yield_frequency:
                    last_sent = now
                    spaces_sent = True
                    yield b" "
        except BulkRequestError as err:
            report.finish(status_line(err.code), err.reason)
        except Exception:  # the status line is gone: the report is the only way to tell
            self.logger.exception("bulk request failed")
            report.finish(status_line(500))
        finally:
            close = getattr(work, "close", None)
            if close is not None:
                close()
        if spaces_sent:
            yield REPORT_SEPARATOR
        yield report.render(content_type, declaration=False)


@typed_factory(BulkConfig)
def filter_factory(cluster: ClusterConfig, conf: BulkConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], Bulk]:
    cluster.capabilities.register(
        "bulk_upload", max_containers_per_extraction=conf.max_containers_per_extraction,
        max_failed_extractions=conf.max_failed_extractions)
    cluster.capabilities.register(
        "bulk_delete", max_deletes_per_request=conf.max_deletes_per_request,
        max_failed_deletes=conf.max_failed_deletes)

    def make_filter(app: Callable) -> Bulk:
        return Bulk(app, conf, cluster.constraints)

    return make_filter
