"""Temporary URLs (Swift's ``tempurl``): a signed link to one object, for a while.

The owner sets a key on the account or container and hands out
``/v1/<account>/<container>/<object>?temp_url_sig=<sig>&temp_url_expires=<t>``
where ``sig`` is an HMAC, with that key, of::

    [ip=<temp_url_ip_range>\\n]<METHOD>\\n<expires>\\n<path>

``path`` is the object's path, or ``prefix:/v1/<account>/<container>/<prefix>``
when the link carries ``temp_url_prefix`` and covers every object under it.
Whoever holds the link may do that one method (a HEAD also passes with a GET,
PUT or POST signature) on that path until ``expires`` (UNIX seconds or ISO
8601), from the given address range if any; nothing else.  Any missing,
malformed, expired or mismatched part answers the same 401, never saying which.

A valid link authorizes the request itself (it sits before the auth filter),
but only inside the signing key's scope: an account key's links reach that
account, a container key's links that container, whatever a sub-request
(a copy source, a large object's segments) asks for.  Headers that could make
an upload point at other data (``X-Object-Manifest``, ``X-Symlink-Target``,
a copy source) are refused; configured incoming and outgoing headers are
stripped; only the temp URL's own query parameters reach the object, so a link
cannot turn into ``?multipart-manifest=delete`` or similar.  Downloads get a
``Content-Disposition``: ``inline`` with ``&inline``, the ``filename`` asked
for, the object's own, or an attachment named after the object.

A prefix link with an empty ``temp_url_prefix`` may also GET the container
root, but only to read the HTML listing staticweb generates (it marks it with
``X-Backend-Content-Generator``); staticweb carries the link's parameters into
the listing's own links so a visitor can browse the shared tree.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import time
from email.utils import formatdate
from typing import Any, Callable, Iterable, Mapping, Optional
from urllib.parse import parse_qs, quote, urlencode

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError, ConfigSection
from objstore.common.pipeline import typed_factory
from objstore.middleware.captured_response import Captured
from objstore.middleware.segments import from_wsgi
from objstore.middleware.temp_url_keys import (ACCOUNT_SCOPE, SUPPORTED_DIGESTS, keys_for,
                                               matching_scope, parse_expires, parse_signature)
from objstore.proxy.responses import plain_response

# Headers that would let a signed upload reach data the link does not cover.
DISALLOWED_INCOMING_HEADERS = ("x-object-manifest", "x-symlink-target",
                               "x-symlink-target-account", "x-copy-from",
                               "x-copy-from-account", "destination", "destination-account")
# Set on a request a temp URL authorized, so later filters can tell.
TEMPURL_USER = ".wsgi.tempurl"
QUERY_PARAMS_KEPT = ("temp_url_sig", "temp_url_expires", "temp_url_prefix", "filename",
                     "inline", "temp_url_ip_range")
# A response header by which staticweb says it generated the body (a listing).
CONTENT_GENERATOR_HEADER = "x-backend-content-generator"
INVALID_BODY = "401 Unauthorized: Temp URL invalid\n"


@dataclasses.dataclass
class TempURLConfig(ConfigSection):
    methods: list = dataclasses.field(
        default_factory=lambda: ["GET", "HEAD", "PUT", "POST", "DELETE"])
    allowed_digests: list = dataclasses.field(
        default_factory=lambda: list(SUPPORTED_DIGESTS))
    # Names; a trailing * matches a prefix.  "allow" lists win over "remove".
    incoming_remove_headers: list = dataclasses.field(
        default_factory=lambda: ["x-timestamp", "x-open-expired"])
    incoming_allow_headers: list = dataclasses.field(default_factory=list)
    outgoing_remove_headers: list = dataclasses.field(
        default_factory=lambda: ["x-object-meta-*"])
    outgoing_allow_headers: list = dataclasses.field(
        default_factory=lambda: ["x-object-meta-public-*"])

    def validate(self) -> None:
        self.methods = [method.upper() for method in self.methods]
        self.allowed_digests = sorted({digest.lower() for digest in self.allowed_digests})
        unknown = set(self.allowed_digests) - set(SUPPORTED_DIGESTS)
        if unknown:
            raise ConfigError("option 'allowed_digests': unsupported %s (supported: %s)" % (
                ", ".join(sorted(unknown)), ", ".join(SUPPORTED_DIGESTS)))
        if not self.allowed_digests:
            raise ConfigError("option 'allowed_digests' must name at least one digest")
        if not self.methods:
            raise ConfigError("option 'methods' must name at least one method")


class HeaderRule:
    """Remove-unless-allowed matching of header names, with ``prefix*`` patterns."""

    def __init__(self, remove: list[str], allow: list[str]):
        self.remove = [name.lower() for name in remove]
        self.allow = [name.lower() for name in allow]

    @staticmethod
    def _matches(name: str, patterns: list[str]) -> bool:
        return any(name.startswith(p[:-1]) if p.endswith("*") else name == p
                   for p in patterns)

    def removes(self, name: str) -> bool:
        name = name.lower()
        return self._matches(name, self.remove) and not self._matches(name, self.allow)


def environ_header_name(key: str) -> Optional[str]:
    """``HTTP_X_OBJECT_META_A`` -> ``x-object-meta-a`` (None for non-header keys)."""
    if key.startswith("HTTP_"):
        return key[5:].replace("_", "-").lower()
    if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        return key.replace("_", "-").lower()
    return None


def content_disposition(kind: str, filename: str) -> str:
    """``attachment; filename="a b.txt"; filename*=UTF-8''a%20b.txt`` (safe for any name)."""
    plain = quote(filename, safe=" /!#$&+^`{}|~")
    return "%s; filename=\"%s\"; filename*=UTF-8''%s" % (kind, plain, quote(filename, safe=""))


def scoped_authorize(account: str, container: Optional[str]) -> Callable:
    """An authorize hook that admits only requests inside the signing key's scope."""
    def authorize(req: Any) -> Optional[Any]:
        parts = req.environ.get("PATH_INFO", "").split("/", 4)
        if len(parts) >= 3 and from_wsgi(parts[2]) == account and (
                container is None or (len(parts) >= 4 and from_wsgi(parts[3]) == container)):
            return None
        return plain_response(401, "Unauthorized: outside the temp URL's scope",
                              request_method=req.method)
    return authorize


class TempURL:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: TempURLConfig, clock: Callable[[], float] = time.time):
        self.app = app
        self.conf = conf
        self.clock = clock
        self.incoming = HeaderRule(conf.incoming_remove_headers, conf.incoming_allow_headers)
        self.outgoing = HeaderRule(conf.outgoing_remove_headers, conf.outgoing_allow_headers)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        if method == "OPTIONS":
            return self.app(environ, start_response)
        params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if "temp_url_sig" not in params and "temp_url_expires" not in params:
            return self.app(environ, start_response)
        first = {name: values[0] for name, values in params.items()}
        scope = self._verify(environ, method, first)
        if scope is None:
            return self._invalid(environ, start_response)
        refused = next((name for name in map(environ_header_name, environ)
                        if name in DISALLOWED_INCOMING_HEADERS), None)
        if refused is not None and method not in ("GET", "HEAD"):
            return plain_response(400, "The header %s is not allowed in a temp URL" % refused)(
                environ, start_response)
        for key in list(environ):
            name = environ_header_name(key)
            if name and (self.incoming.removes(name) or name in DISALLOWED_INCOMING_HEADERS):
                del environ[key]
        _version, account, container, obj = (environ["PATH_INFO"].split("/", 4) + [""])[1:5]
        environ["swift.authorize"] = scoped_authorize(
            from_wsgi(account), None if scope == ACCOUNT_SCOPE else from_wsgi(container))
        environ["swift.authorize_override"] = True
        environ["REMOTE_USER"] = TEMPURL_USER
        environ["QUERY_STRING"] = urlencode(
            [(name, first[name]) for name in QUERY_PARAMS_KEPT if name in first])
        expires = parse_expires(first["temp_url_expires"]) or 0
        name = from_wsgi(environ["PATH_INFO"]).rstrip("/").rsplit("/", 1)[-1]

        def tempurl_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            generated = any(k.lower() == CONTENT_GENERATOR_HEADER for k, _v in headers)
            headers = [(k, v) for k, v in headers if not self.outgoing.removes(k)]
            if method in ("GET", "HEAD") and status.startswith("2") and generated:
                # A generated page (a listing) is for the browser to show.
                headers = [(k, v) for k, v in headers if k.lower() != "content-disposition"]
                headers.append(("Content-Disposition", "inline"))
                headers.append(("Expires", formatdate(expires, usegmt=True)))
            elif method in ("GET", "HEAD") and status.startswith("2"):
                existing = next((v for k, v in headers if k.lower() == "content-disposition"),
                                None)
                headers = [(k, v) for k, v in headers if k.lower() != "content-disposition"]
                headers.append(("Content-Disposition", self._disposition(
                    first, existing, name)))
                headers.append(("Expires", formatdate(expires, usegmt=True)))
            return start_response(status, headers, exc_info)

        if obj.strip("/"):
            return self.app(environ, tempurl_start_response)
        # The container root: a generated listing passes, anything else is 401.
        answer = Captured(self.app, environ)
        if 200 <= answer.code < 300 and answer.header(CONTENT_GENERATOR_HEADER) is None:
            answer.discard()
            return self._invalid(environ, start_response)
        return answer.send(tempurl_start_response)

    @staticmethod
    def _disposition(params: dict, existing: Optional[str], name: str) -> str:
        filename = params.get("filename")
        if "inline" in params:
            value = content_disposition("inline", filename) if filename else "inline"
        elif filename:
            value = content_disposition("attachment", filename)
        elif existing:
            value = existing
        else:
            value = content_disposition("attachment", name)
        return value.replace("\r", "%0D").replace("\n", "%0A")

    def _verify(self, environ: dict, method: str, params: dict) -> Optional[str]:
        """The signing key's scope if the link is valid for this request, else None."""
        raw_sig = params.get("temp_url_sig")
        expires = parse_expires(params.get("temp_url_expires", ""))
        if not raw_sig or expires is None or expires < self.clock():
            return None
        signature = parse_signature(raw_sig)
        if signature is None or signature.digest not in self.conf.allowed_digests:
            return None
        if method not in self.conf.methods:
            return None
        parts = environ.get("PATH_INFO", "").split("/", 4)
        if len(parts) == 4:
            parts.append("")
        container_root = method in ("GET", "HEAD") and params.get("temp_url_prefix") == ""
        if len(parts) != 5 or parts[0] or parts[1] != "v1" or not parts[2] or not parts[3] \
                or not (parts[4].strip("/") or container_root):
            return None
        account, container, obj = (from_wsgi(part) for part in parts[2:])
        ip_range = params.get("temp_url_ip_range")
        if ip_range is not None and not self._address_in(environ.get("REMOTE_ADDR"), ip_range):
            return None
        prefix = params.get("temp_url_prefix")
        if prefix is None:
            signed_path = "/v1/%s/%s/%s" % (account, container, obj)
        elif obj.startswith(prefix):
            signed_path = "prefix:/v1/%s/%s/%s" % (account, container, prefix)
        else:
            return None
        keys = keys_for(environ, self.app, account, container)
        if not keys:
            return None
        methods = ("HEAD", "GET", "POST", "PUT") if method == "HEAD" else (method,)
        head = "ip=%s\n" % ip_range if ip_range is not None else ""
        # An ISO 8601 expiry is signed in its UNIX form, as clients compute it.
        messages = ["%s%s\n%d\n%s" % (head, each, expires, signed_path) for each in methods]
        return matching_scope(signature, keys, messages)

    @staticmethod
    def _address_in(address: Optional[str], ip_range: str) -> bool:
        if not address:
            return False
        try:
            return ipaddress.ip_address(address) in ipaddress.ip_network(ip_range, strict=False)
        except ValueError:
            return False

    @staticmethod
    def _invalid(environ: dict, start_response: Callable) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        resp = plain_response(401, INVALID_BODY, {"Www-Authenticate": 'Swift realm="unknown"'},
                              request_method=method)
        return resp(environ, start_response)


@typed_factory(TempURLConfig)
def filter_factory(cluster: ClusterConfig, conf: TempURLConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], TempURL]:
    cluster.capabilities.register("tempurl", methods=list(conf.methods),
                                  allowed_digests=list(conf.allowed_digests),
                                  incoming_remove_headers=list(conf.incoming_remove_headers),
                                  incoming_allow_headers=list(conf.incoming_allow_headers),
                                  outgoing_remove_headers=list(conf.outgoing_remove_headers),
                                  outgoing_allow_headers=list(conf.outgoing_allow_headers))

    def make_filter(app: Callable) -> TempURL:
        return TempURL(app, conf)

    return make_filter


def listing_link_query(environ: dict) -> tuple[str, str]:
    """(temp_url_prefix, query for links) of a prefix temp URL that authorized ``environ``.

    ("", "") for any other request.
    """
    if environ.get("REMOTE_USER") != TEMPURL_USER:
        return "", ""
    params = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    first = {name: values[0] for name, values in params.items()}
    if "temp_url_prefix" not in first:
        return "", ""
    parts = ["temp_url_prefix=%s" % quote(first["temp_url_prefix"]),
             "temp_url_expires=%s" % quote(first.get("temp_url_expires", "")),
             "temp_url_sig=%s" % quote(first.get("temp_url_sig", ""), safe=":"),]
    if first.get("temp_url_ip_range"):
        parts.append("temp_url_ip_range=%s" % quote(first["temp_url_ip_range"]))
    if "inline" in first:
        parts.append("inline")
    return first["temp_url_prefix"], "?" + "&".join(parts)
