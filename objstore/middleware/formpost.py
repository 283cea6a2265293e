"""Browser uploads straight into a container (Swift's ``formpost``).

A web page holds an HTML form that POSTs ``multipart/form-data`` to
``/v1/<account>/<container>[/<object prefix>]``.  Its hidden fields, which
must come before the file fields, are::

    redirect        where to send the browser afterwards ('' for none)
    max_file_size   bytes allowed per file
    max_file_count  files allowed
    expires         UNIX time after which the form stops working
    signature       HMAC of "<path>\\n<redirect>\\n<max_file_size>\\n<max_file_count>\\n<expires>"
                    with a temp URL key of the account or container (hex or <digest>:<base64>)

and optionally ``x_delete_at`` / ``x_delete_after``.  Each file becomes the
object ``<prefix><filename>``, streamed from the body into the cluster (the
body is read part by part, never held whole).  A limit broken, an expired
form or a bad signature stops the upload with a short ``FormPost: ...``
message; with ``redirect`` the browser is sent (303) to
``<redirect>?status=<code>&message=<text>`` instead.
"""
from __future__ import annotations

import dataclasses
import html
import time
from http import HTTPStatus
from typing import Any, Callable, IO, Iterable, Mapping, Optional
from urllib.parse import quote, urljoin

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError, ConfigSection
from objstore.common.http_text import str_to_wsgi, wsgi_to_bytes
from objstore.common.pipeline import typed_factory
from objstore.middleware.domain_remap import client_path
from objstore.middleware.formpost_multipart import (FormPart, MultipartError, MultipartReader,
                                                    parse_header_params, read_field)
from objstore.middleware.segments import from_wsgi
from objstore.middleware.temp_url_keys import (SUPPORTED_DIGESTS, keys_for, matching_scope,
                                               parse_signature)
from objstore.middleware.tempurl import scoped_authorize
from objstore.proxy.responses import plain_response

# Form fields kept (others are read and dropped, so they cost no memory).
KNOWN_FIELDS = ("redirect", "max_file_size", "max_file_count", "expires", "signature",
                "x_delete_at", "x_delete_after")
MAX_VALUE_LENGTH = 4096


class FormError(Exception):
    """Stops the form; ``status`` and ``message`` go to the client or its redirect."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class FileTooLarge(ValueError):
    """Raised from the capped body so the proxy abandons the upload (nothing stored)."""


class CappedBody:
    """A file part's body as an upload's ``wsgi.input``, refusing more than ``limit`` bytes."""

    def __init__(self, part: FormPart, limit: int):
        self.part = part
        self.limit = limit
        self.size = 0
        self.exceeded = False

    def read(self, size: int = -1) -> bytes:
        data = self.part.read(size)
        self.size += len(data)
        if self.size > self.limit:
            self.exceeded = True
            raise FileTooLarge("max_file_size exceeded")
        return data


@dataclasses.dataclass
class FormPostConfig(ConfigSection):
    allowed_digests: list = dataclasses.field(default_factory=lambda: list(SUPPORTED_DIGESTS))

    def validate(self) -> None:
        self.allowed_digests = sorted({digest.lower() for digest in self.allowed_digests})
        unknown = set(self.allowed_digests) - set(SUPPORTED_DIGESTS)
        if unknown or not self.allowed_digests:
            raise ConfigError("option 'allowed_digests' must name some of: %s"
                              % ", ".join(SUPPORTED_DIGESTS))


def _int_field(fields: dict, name: str) -> int:
    try:
        return int(fields.get(name) or 0)
    except ValueError:
        raise FormError(400, "%s not an integer" % name) from None


class FormUpload:
    """One form submission: checks the fields, then PUTs each file."""

    def __init__(self, app: Callable, environ: dict, conf: FormPostConfig,
                 account: str, container: str, clock: Callable[[], float]):
        self.app = app
        self.environ = environ
        self.conf = conf
        self.account = account
        self.container = container
        self.clock = clock
        self.fields: dict[str, str] = {}
        self.verified = False
        self.last_headers: list = []

    def run(self, stream: IO[bytes], boundary: str) -> tuple[int, str]:
        """(status, message) of the whole form; raises FormError to stop early."""
        count = 0
        status, message = 0, ""
        for part in MultipartReader(stream, boundary).parts():
            kind, params = part.disposition()
            if kind == "form-data" and params.get("filename"):
                count += 1
                if count > _int_field(self.fields, "max_file_count"):
                    raise FormError(400, "max file count exceeded")
                status = self.upload(part, params["filename"])
                if status // 100 != 2:
                    return status, "upload error"
                continue
            value = read_field(part, MAX_VALUE_LENGTH)
            name = params.get("name", "").lower()
            if value is None:
                raise FormError(400, "field %s is longer than %d bytes"
                                % (name or "(unnamed)", MAX_VALUE_LENGTH))
            if name in KNOWN_FIELDS:
                self.fields[name] = value.rstrip("\r\n")
        if not count:
            raise FormError(400, "no files to process")
        return status, message

    def verify(self) -> None:
        """Expiry and signature, checked once, before the first file is stored."""
        if self.verified:
            return
        expires = _int_field(self.fields, "expires")
        if expires < self.clock():
            raise FormError(401, "Form Expired")
        signature = parse_signature(self.fields.get("signature") or "")
        if signature is None or signature.digest not in self.conf.allowed_digests:
            raise FormError(401, "Invalid Signature")
        message = "%s\n%s\n%s\n%s\n%s" % (
            from_wsgi(self.environ["PATH_INFO"]), self.fields.get("redirect") or "",
            self.fields.get("max_file_size") or "0", self.fields.get("max_file_count") or "0",
            self.fields.get("expires") or "0")
        keys = keys_for(self.environ, self.app, self.account, self.container)
        if matching_scope(signature, keys, [message]) is None:
            raise FormError(401, "Invalid Signature")
        self.verified = True

    def upload(self, part: FormPart, filename: str) -> int:
        max_size = _int_field(self.fields, "max_file_size")
        self.verify()
        env = self._upload_environ(filename)
        body = CappedBody(part, max_size)
        env["wsgi.input"] = body
        content_type = part.headers.get("content-type")
        if content_type:
            env["CONTENT_TYPE"] = content_type
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured["status"], captured["headers"] = status, headers
            return lambda _data: None
        result = self.app(env, start_response)
        try:
            for _chunk in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if body.exceeded:
            raise FormError(400, "max_file_size exceeded")
        self.last_headers = captured.get("headers", [])
        return int(captured.get("status", "500").split(" ", 1)[0])

    def _upload_environ(self, filename: str) -> dict:
        path = self.environ["PATH_INFO"]
        if not path.endswith("/") and path.count("/") < 4:
            path += "/"
        env = {key: value for key, value in self.environ.items()
               if not key.startswith(("HTTP_", "webob.")) and key not in (
                   "CONTENT_TYPE", "CONTENT_LENGTH", "QUERY_STRING", "wsgi.input")}
        env.update({
            "REQUEST_METHOD": "PUT",
            "PATH_INFO": path + str_to_wsgi(filename),
            "QUERY_STRING": "",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "swift.source": "FP",
            "swift.authorize": scoped_authorize(self.account, self.container),
            "swift.authorize_override": True,
        })
        for name in ("x_delete_at", "x_delete_after"):
            if name in self.fields:
                env["HTTP_" + name.upper()] = str(_int_field(self.fields, name))
        return env


def form_response(status: int, message: str, redirect: Optional[str],
                  extra_headers: list, request_url: str = "") -> Any:
    """The plain-text answer, or the 303 to ``redirect`` carrying status and message."""
    if not redirect:
        reason = "%d %s" % (status, _reason(status))
        if message:
            reason += "\r\nFormPost: " + message
        return plain_response(status, reason, dict(extra_headers))
    location = redirect + ("&" if "?" in redirect else "?") + "status=%d&message=%s" % (
        status, quote(message))
    # A relative redirect is relative to the address the browser posted to.
    location = urljoin(request_url, location)
    resp = plain_response(303, "", dict(extra_headers, Location=location))
    resp.content_type = "text/html"
    resp.body = ('<html><body><p><a href="%s">Click to continue...</a></p></body></html>'
                 % html.escape(location, quote=True)).encode("utf-8")
    return resp


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class FormPost:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: FormPostConfig,
                 clock: Callable[[], float] = time.time):
        self.app = app
        self.conf = conf
        self.clock = clock

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        kind, params = parse_header_params(environ.get("CONTENT_TYPE") or "")
        if kind != "multipart/form-data" or "boundary" not in params:
            return self.app(environ, start_response)
        parts = environ.get("PATH_INFO", "").split("/", 4)
        if len(parts) < 4 or parts[0] or parts[1] != "v1" or not parts[2] or not parts[3]:
            return plain_response(401, "FormPost: Invalid Signature")(environ, start_response)
        form = FormUpload(self.app, environ, self.conf, from_wsgi(parts[2]),
                          from_wsgi(parts[3]), self.clock)
        try:
            status, message = form.run(environ["wsgi.input"], params["boundary"])
        except MultipartError as err:
            status, message = 400, str(err)
        except FormError as err:
            status, message = err.status, err.message
        if status == 401:
            # A refused form is refused outright, never redirected.
            resp = plain_response(401, "FormPost: " + message)
        else:
            cors = [(k, v) for k, v in form.last_headers if k.lower().startswith(
                "access-control")]
            resp = form_response(status, message, form.fields.get("redirect"), cors,
                                 self._client_url(environ))
        return resp(environ, start_response)


    @staticmethod
    def _client_url(environ: dict) -> str:
        host = environ.get("HTTP_HOST") or "%s:%s" % (environ.get("SERVER_NAME", ""),
                                                      environ.get("SERVER_PORT", ""))
        path = quote(wsgi_to_bytes(client_path(environ)), safe="/:@!$&'()*+,;=")
        return "%s://%s%s" % (environ.get("wsgi.url_scheme", "http"), host, path)


@typed_factory(FormPostConfig)
def filter_factory(cluster: ClusterConfig, conf: FormPostConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], FormPost]:
    cluster.capabilities.register("formpost", allowed_digests=list(conf.allowed_digests))

    def make_filter(app: Callable) -> FormPost:
        return FormPost(app, conf)

    return make_filter
