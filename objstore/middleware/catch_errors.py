"""The outermost filter: gives each request its transaction id and hides tracebacks.

Every response carries ``X-Trans-Id`` (and ``X-Openstack-Request-Id``, which
OpenStack tooling reads) so a user can quote one id and an operator can grep
it across every node's log.  Anything the pipeline raises becomes a short
``500`` naming that id, while the stack goes to our log, never to the client.

A path that is not UTF-8 text is refused here (412, as Swift), and so is a
query string whose names or values are not (400), before any filter reads it.

A failure *after* the status line and headers went out cannot be turned into
a 500 any more.  Ending the body quietly would hand the client a silently
short object (or, with chunked encoding, a "complete" one), so we log the
stack and raise :class:`ResponseBodyAborted`, whose message holds only the
trans id: the WSGI server then drops the connection and the client sees a
truncated transfer instead of wrong data.  The same happens when the inner
app sends fewer or more bytes than the Content-Length it declared.
"""
from __future__ import annotations

import dataclasses
import sys
from typing import Any, Callable, Iterable, Iterator, Mapping

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection
from objstore.common.http_response import reason_phrase
from objstore.common.http_text import wsgi_is_utf8, wsgi_quote
from objstore.common.http_wire import HttpParseError
from objstore.common.logs import get_logger, new_trans_id, set_trans_id
from objstore.common.pipeline import typed_factory
from objstore.common.query_string import QueryStringError, parse_query_string

TRANS_ID_HEADERS = ("X-Trans-Id", "X-Openstack-Request-Id")
BODYLESS_STATUSES = (204, 304)


class ResponseBodyAborted(Exception):
    """Raised to make the server drop a connection whose body cannot be finished.

    An inner app raises it too, for a failure it has diagnosed and logged
    itself (a large object's segment gone missing mid-body): then only one
    line, without a stack, is logged here.
    """


@dataclasses.dataclass
class CatchErrorsConfig(ConfigSection):
    log_name: str = "catch-errors"


def _simple_response(start_response: Callable, status: str, body: bytes,
                     trans_id: str, exc_info: Any = None) -> list[bytes]:
    headers = [("Content-Type", "text/plain; charset=UTF-8"),
               ("Content-Length", str(len(body)))]
    headers.extend((name, trans_id) for name in TRANS_ID_HEADERS)
    if exc_info is not None:
        start_response(status, headers, exc_info)
    else:
        start_response(status, headers)
    return [body]


class CatchErrors:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: CatchErrorsConfig | Mapping[str, Any] | None = None,
                 logger: Any = None):
        self.app = app
        self.settings = CatchErrorsConfig.of(conf)
        self.logger = logger or get_logger(self.settings.log_name)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        extra = environ.get("HTTP_X_TRANS_ID_EXTRA", "")
        trans_id = new_trans_id("-" + extra if extra else "")
        environ["swift.trans_id"] = trans_id
        set_trans_id(trans_id)

        if not wsgi_is_utf8(environ.get("PATH_INFO", "")):
            return _simple_response(start_response, "412 Precondition Failed",
                                    b"Invalid UTF8 or contains NULL", trans_id)
        try:
            # Every filter behind us may read any parameter: check them all once, here.
            parse_query_string(environ.get("QUERY_STRING", ""))
        except QueryStringError as err:
            return _simple_response(start_response, "400 Bad Request",
                                    str(err).encode("utf-8"), trans_id)

        state: dict[str, Any] = {"started": False, "status": 0, "length": None}

        def tagged_start_response(status: str, headers: list, exc_info: Any = None):
            headers = [(k, v) for k, v in headers if k.lower() not in
                       ("x-trans-id", "x-openstack-request-id")]
            headers.extend((name, trans_id) for name in TRANS_ID_HEADERS)
            try:
                state["status"] = int(status.split(" ", 1)[0])
            except ValueError:
                state["status"] = 0
            state["length"] = None
            for key, value in headers:
                if key.lower() == "content-length":
                    try:
                        state["length"] = int(value)
                    except ValueError:
                        state["length"] = None
            state["started"] = True
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        try:
            app_iter = self.app(environ, tagged_start_response)
        except HttpParseError as err:
            # A body that breaks its framing, met by whichever layer read it:
            # the client's fault, and the server closes the connection.
            return _simple_response(start_response, "%d %s" % (err.status, reason_phrase(
                err.status)), err.reason.encode("utf-8"), trans_id,
                exc_info=sys.exc_info() if state["started"] else None)
        except Exception:  # noqa: BLE001 - the whole point: nothing escapes
            self.logger.exception("unhandled error in pipeline for %s %s",
                                  environ.get("REQUEST_METHOD"), _loggable_path(environ))
            return self._error_response(start_response, trans_id, state["started"])
        expect_body = environ.get("REQUEST_METHOD") != "HEAD"
        guarded = self._guarded_iter(app_iter, environ, start_response, trans_id,
                                     state, expect_body)
        return _ClosingBody(guarded, app_iter, self.logger, environ)

    def _error_response(self, start_response: Callable, trans_id: str,
                        replacing: bool) -> list[bytes]:
        """The 500; ``replacing`` when the app already started a response (WSGI
        then requires exc_info, so the server can refuse if headers went out)."""
        body = ("An error occurred (transaction %s)\n" % trans_id).encode("ascii", "replace")
        return _simple_response(start_response, "500 Internal Server Error", body,
                                trans_id, exc_info=sys.exc_info() if replacing else None)

    def _guarded_iter(self, app_iter: Iterable[bytes], environ: dict,
                      start_response: Callable, trans_id: str, state: dict,
                      expect_body: bool) -> Iterator[bytes]:
        """Yield the app's body, turning failures into a 500 or a dropped connection."""
        sent = 0
        iterator = iter(app_iter)
        while True:
            try:
                chunk = next(iterator)
            except StopIteration:
                break
            except Exception as err:  # noqa: BLE001
                if isinstance(err, ResponseBodyAborted):
                    # The app knew and logged why it cannot finish: no stack needed.
                    self.logger.error("body of %s %s aborted: %s",
                                      environ.get("REQUEST_METHOD"), _loggable_path(environ),
                                      err)
                else:
                    self.logger.exception("error while sending body of %s %s",
                                          environ.get("REQUEST_METHOD"),
                                          _loggable_path(environ))
                if not sent:
                    # Nothing reached the wire yet (servers send headers
                    # with the first non-empty chunk): a clean 500 is
                    # still possible.
                    yield from self._error_response(start_response, trans_id,
                                                    state["started"])
                    return
                raise ResponseBodyAborted("transaction %s: body aborted" % trans_id) \
                    from None
            sent += len(chunk)
            length = state["length"]
            if length is not None and expect_body and sent > length and \
                    state["status"] not in BODYLESS_STATUSES:
                self.logger.error("app sent more than its Content-Length %d for %s %s",
                                  length, environ.get("REQUEST_METHOD"),
                                  _loggable_path(environ))
                raise ResponseBodyAborted("transaction %s: body too long" % trans_id)
            yield chunk
        length = state["length"]
        if (length is not None and expect_body and sent < length
                and state["status"] not in BODYLESS_STATUSES):
            self.logger.error("app sent %d of its Content-Length %d for %s %s",
                              sent, length, environ.get("REQUEST_METHOD"),
                              _loggable_path(environ))
            raise ResponseBodyAborted("transaction %s: body too short" % trans_id)


class _ClosingBody:
    """The guarded body generator, plus a ``close()`` that always reaches the app's body.

    A generator closed before its first ``next()`` never runs its ``finally``;
    without this the inner app (and the access log line proxy_logging writes
    on close) would never learn that the response ended.
    """

    def __init__(self, guarded: Iterator[bytes], app_iter: Iterable[bytes],
                 logger: Any, environ: dict):
        self.guarded = guarded
        self.app_iter = app_iter
        self.logger = logger
        self.environ = environ
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self.guarded

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.guarded.close()
        finally:
            close = getattr(self.app_iter, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # noqa: BLE001
                    self.logger.exception("error closing response of %s %s",
                                          self.environ.get("REQUEST_METHOD"),
                                          _loggable_path(self.environ))


def _loggable_path(environ: dict) -> str:
    return wsgi_quote(environ.get("PATH_INFO", ""))


@typed_factory(CatchErrorsConfig)
def filter_factory(cluster: ClusterConfig, conf: CatchErrorsConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], CatchErrors]:
    logger = get_logger(conf.log_name, raw)

    def catch_errors_filter(app: Callable) -> CatchErrors:
        return CatchErrors(app, conf, logger)
    return catch_errors_filter
