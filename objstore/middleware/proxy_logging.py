"""One access-log line per client request, in Swift's proxy access-log layout.

Operators already have tools (and habits) for Swift's line, so we keep its
field order: every field is percent-quoted, fields are separated by single
spaces, and ``-`` stands for "nothing".  :data:`ACCESS_LOG_FIELDS` names them;
we append ``remote_user`` (the authenticated groups) at the end, so tools that
read Swift's fields by position still work.

Bytes are counted by wrapping ``wsgi.input`` and the response iterator, so a
streamed upload or download is counted exactly as it crossed the wire.  The
line is written when the response iterator is closed -- which the WSGI server
does even when the client hangs up mid-body -- and a client that went away
before the body finished is logged with status 499, as Swift does.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional
from urllib.parse import quote, unquote

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection
from objstore.common.http_text import wsgi_to_bytes
from objstore.common.logs import get_logger
from objstore.common.pipeline import typed_factory
from objstore.common.storage_policy import POLICY_INDEX_HEADER

ACCESS_LOG_FIELDS = (
    "client_ip", "remote_addr", "datetime", "method", "path", "protocol",
    "status", "referer", "user_agent", "auth_token", "bytes_recvd", "bytes_sent",
    "etag", "trans_id", "headers", "request_time", "source", "log_info",
    "start_time", "end_time", "policy_index", "remote_user",
)
CLIENT_DISCONNECT_STATUS = 499
LOG_MADE_KEY = "swift.proxy_access_log_made"
# Characters left readable in a quoted field (everything else, space and
# ``%`` included, is %XX-encoded so a field never contains a space).
FIELD_SAFE_CHARS = "/:?=&@,;+!$*()~'"
# A query string arrives percent-encoded already: it is logged as the client
# sent it, only bytes that would break the line (space, controls, non-ASCII)
# encoded, so ``%2F`` stays ``%2F`` rather than becoming ``%252F``.
QUERY_SAFE_CHARS = FIELD_SAFE_CHARS + "%"


@dataclasses.dataclass
class ProxyLoggingConfig(ConfigSection):
    access_log_name: str = "proxy-access"
    reveal_sensitive_prefix: int = 16
    log_headers: bool = False


def _quote_field(value: Any) -> str:
    if value is None or value == "":
        return "-"
    return quote(str(value), safe=FIELD_SAFE_CHARS)


def _request_field(environ: dict) -> str:
    """What the client asked for, before inner layers rewrite the environ: path and query."""
    path = wsgi_to_bytes(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))
    field = quote(path, safe=FIELD_SAFE_CHARS)
    if environ.get("QUERY_STRING"):
        field += "?" + quote(wsgi_to_bytes(environ["QUERY_STRING"]), safe=QUERY_SAFE_CHARS)
    return field


def parse_access_line(line: str) -> dict[str, str]:
    """Split an access line (bare, or as the logger wrote it) into named, unquoted fields.

    ``-`` fields come back as ``"-"``; ``path`` holds the decoded path and
    ``?query`` as the client sent it (still percent-encoded).
    """
    tokens = line.strip().split(" ")
    count = len(ACCESS_LOG_FIELDS)
    if len(tokens) > count:
        # The logger frames the message: "<date> <time> <name> <LEVEL> msg (txn: id)";
        # our fields never hold a space, so the message is the last ``count`` tokens.
        if len(tokens) >= 2 and tokens[-2] == "(txn:":
            tokens = tokens[:-2]
        tokens = tokens[-count:]
    if len(tokens) != count:
        raise ValueError("not an access log line: %r" % line[:200])
    fields = {name: unquote(token) for name, token in zip(ACCESS_LOG_FIELDS, tokens)}
    path, question, query = tokens[ACCESS_LOG_FIELDS.index("path")].partition("?")
    fields["path"] = unquote(path) + question + query
    return fields


class _CountingInput:
    """Wraps ``wsgi.input`` and counts the body bytes the app actually read."""

    def __init__(self, wrapped: Any):
        self.wrapped = wrapped
        self.bytes_read = 0

    def read(self, *args: Any) -> bytes:
        data = self.wrapped.read(*args)
        self.bytes_read += len(data)
        return data

    def readline(self, *args: Any) -> bytes:
        data = self.wrapped.readline(*args)
        self.bytes_read += len(data)
        return data

    def readlines(self, *args: Any) -> list[bytes]:
        lines = self.wrapped.readlines(*args)
        self.bytes_read += sum(len(line) for line in lines)
        return lines

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.wrapped:
            self.bytes_read += len(chunk)
            yield chunk

    def __getattr__(self, name: str) -> Any:
        # eventlet's input has extras (e.g. send_hundred_continue_response).
        return getattr(self.wrapped, name)


class _LoggedBody:
    """The app's body iterator, counting bytes and logging once when it ends.

    A class rather than a generator: a generator closed before its first
    ``next()`` never runs its ``finally``, and that request would go unlogged.
    """

    def __init__(self, app_iter: Iterable[bytes], on_end: Callable[[Optional[int], int], None]):
        self.app_iter = app_iter
        self.iterator: Optional[Iterator[bytes]] = None
        self.on_end = on_end
        self.bytes_sent = 0
        self.logged = False

    def __iter__(self) -> "_LoggedBody":
        return self

    def __next__(self) -> bytes:
        if self.iterator is None:
            self.iterator = iter(self.app_iter)
        try:
            chunk = next(self.iterator)
        except StopIteration:
            self._end(None)
            raise
        except Exception as err:
            self._end(CLIENT_DISCONNECT_STATUS if _is_disconnect(err) else 500)
            raise
        self.bytes_sent += len(chunk)
        return chunk

    def close(self) -> None:
        try:
            close = getattr(self.app_iter, "close", None)
            if close is not None:
                close()
        finally:
            # Closed before the body ran out: the client hung up.
            self._end(CLIENT_DISCONNECT_STATUS)

    def _end(self, status: Optional[int]) -> None:
        if not self.logged:
            self.logged = True
            self.on_end(status, self.bytes_sent)


class ProxyLogging:
    """WSGI filter that writes the access line for each request it sees."""

    def __init__(self, app: Callable, conf: ProxyLoggingConfig | Mapping[str, Any] | None = None,
                 clock: Callable[[], float] = time.time, logger: Any = None):
        self.app = app
        self.settings = ProxyLoggingConfig.of(conf)
        self.access_logger = logger or get_logger(self.settings.access_log_name)
        self.clock = clock

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get(LOG_MADE_KEY):
            return self.app(environ, start_response)
        environ[LOG_MADE_KEY] = True
        start_time = self.clock()
        counting_input = _CountingInput(environ.get("wsgi.input"))
        if counting_input.wrapped is not None:
            environ["wsgi.input"] = counting_input
        response: dict[str, Any] = {"status": 0, "headers": [], "path": _request_field(environ),
                                    "method": environ.get("REQUEST_METHOD")}

        def logging_start_response(status: str, headers: list, exc_info: Any = None):
            try:
                response["status"] = int(status.split(" ", 1)[0])
            except ValueError:
                response["status"] = 0
            response["headers"] = list(headers)
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        try:
            app_iter = self.app(environ, logging_start_response)
        except Exception as err:
            status = CLIENT_DISCONNECT_STATUS if _is_disconnect(err) else 500
            self._log(environ, response, status, counting_input.bytes_read, 0, start_time)
            raise
        return _LoggedBody(app_iter, lambda status, sent: self._log(
            environ, response, status, counting_input.bytes_read, sent, start_time))

    def _log(self, environ: dict, response: dict, status_override: Optional[int],
             bytes_recvd: int, bytes_sent: int, start_time: float) -> None:
        end_time = self.clock()
        status = status_override or response["status"] or 500
        token = _redact(environ.get("HTTP_X_AUTH_TOKEN") or environ.get("HTTP_X_STORAGE_TOKEN"),
                        self.settings.reveal_sensitive_prefix)
        headers_field = None
        if self.settings.log_headers:
            headers_field = "\n".join(
                "%s: %s" % (key[5:].replace("_", "-").title(), value)
                for key, value in sorted(environ.items())
                if key.startswith("HTTP_") and key not in
                ("HTTP_X_AUTH_TOKEN", "HTTP_X_STORAGE_TOKEN", "HTTP_X_SERVICE_TOKEN",
                 "HTTP_X_AUTH_KEY", "HTTP_X_STORAGE_PASS", "HTTP_AUTHORIZATION"))
        resp_headers = {k.lower(): v for k, v in response["headers"]}
        log_info = environ.get("swift.log_info")
        if isinstance(log_info, (list, tuple)):
            log_info = ",".join(str(item) for item in log_info)
        fields = (
            _client_ip(environ),
            environ.get("REMOTE_ADDR"),
            time.strftime("%d/%b/%Y/%H/%M/%S", time.gmtime(end_time)),
            response["method"],
            response["path"],
            environ.get("SERVER_PROTOCOL"),
            status,
            environ.get("HTTP_REFERER"),
            environ.get("HTTP_USER_AGENT"),
            token,
            bytes_recvd or None,
            bytes_sent or None,
            environ.get("HTTP_ETAG"),
            environ.get("swift.trans_id"),
            headers_field,
            "%.4f" % (end_time - start_time),
            environ.get("swift.source"),
            log_info,
            "%.9f" % start_time,
            "%.9f" % end_time,
            resp_headers.get(POLICY_INDEX_HEADER.lower()),
            environ.get("REMOTE_USER"),
        )
        quoted = [_quote_field(field) for field in fields]
        quoted[ACCESS_LOG_FIELDS.index("path")] = response["path"] or "-"
        self.access_logger.info(" ".join(quoted))


def _redact(token: Optional[str], reveal: int) -> Optional[str]:
    """Enough of a token to correlate requests, never all of it."""
    if not token:
        return None
    shown = reveal if len(token) > reveal else len(token) // 2
    return token[:shown] + "..."


def _is_disconnect(error: BaseException) -> bool:
    """Errors that mean the client went away (eventlet raises these on a dead socket)."""
    return isinstance(error, (ConnectionError, TimeoutError, EOFError)) or \
        type(error).__name__ in ("ChunkReadError", "Timeout")


def _client_ip(environ: dict) -> Optional[str]:
    """The client as a load balancer reports it, else the peer address."""
    cluster_ip = environ.get("HTTP_X_CLUSTER_CLIENT_IP")
    if cluster_ip:
        return cluster_ip.strip()
    forwarded = environ.get("HTTP_X_FORWARDED_FOR")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return environ.get("REMOTE_ADDR")


@typed_factory(ProxyLoggingConfig)
def filter_factory(cluster: ClusterConfig, conf: ProxyLoggingConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], ProxyLogging]:
    logger = get_logger(conf.access_log_name, raw)

    def proxy_logging_filter(app: Callable) -> ProxyLogging:
        return ProxyLogging(app, conf, logger=logger)
    return proxy_logging_filter
