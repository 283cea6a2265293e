"""Static websites from public containers (Swift's ``staticweb``).

A container made public (``X-Container-Read: .r:*,.rlistings``) becomes a
website for anonymous GET/HEAD requests through its metadata:

- ``X-Container-Meta-Web-Index: index.html`` serves ``<dir>/index.html`` for
  the container root and every pseudo-directory ``<dir>/``; a directory asked
  without its trailing slash is redirected (301) to it, so relative links in
  the page resolve inside the directory.
- ``X-Container-Meta-Web-Listings: true`` renders an HTML listing of a
  directory that has no index (:mod:`objstore.middleware.staticweb_listing`),
  styled by ``X-Container-Meta-Web-Listings-CSS`` if set.
- ``X-Container-Meta-Web-Error: error.html`` answers a 404 (or 401) with the
  object ``404error.html`` (``401error.html``), keeping the status.
- ``X-Container-Meta-Web-Directory-Type`` (default ``application/directory``)
  names the content type of directory marker objects, which are treated as
  directories rather than served as empty files.

Authenticated requests get the plain API unless they send ``X-Web-Mode: true``;
requests a temp URL authorized are left alone too.  Every sub-request
carries the client's own authorization, so the container's ACL decides what an
anonymous visitor may read and list.  Sits right after the auth filter.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote

from webob import Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection, to_bool
from objstore.common.http_text import str_to_wsgi, wsgi_to_str
from objstore.common.pipeline import typed_factory
from objstore.middleware.captured_response import Captured
from objstore.middleware.domain_remap import client_path
from objstore.middleware.segments import close_response, from_wsgi, read_body, subrequest
from objstore.middleware.staticweb_listing import render_listing
from objstore.middleware.tempurl import (CONTENT_GENERATOR_HEADER, TEMPURL_USER,
                                         listing_link_query)
from objstore.proxy.info_cache import get_container_info
from objstore.proxy.responses import plain_response

DEFAULT_DIRECTORY_TYPE = "application/directory"
# A listing page needs at most one container listing page (the cluster's limit).
MAX_LISTING_BYTES = 64 * 1024 * 1024


@dataclasses.dataclass
class StaticWebConfig(ConfigSection):
    log_name: str = "staticweb"


@dataclasses.dataclass
class WebSettings:
    index: str
    error: str
    listings: bool
    listings_css: str
    directory_type: str

    @classmethod
    def from_meta(cls, meta: dict) -> "WebSettings":
        """Settings as text: metadata values arrive in WSGI form, names in them may be UTF-8."""
        def value(name: str) -> str:
            return wsgi_to_str(meta.get(name) or "").strip()
        try:
            listings = to_bool(value("web-listings"))
        except ValueError:
            listings = False
        return cls(value("web-index"), value("web-error"), listings,
                   value("web-listings-css"),
                   value("web-directory-type") or DEFAULT_DIRECTORY_TYPE)

    @property
    def active(self) -> bool:
        return bool(self.index or self.listings)


class StaticWebRequest:
    """One request to a website container: decides index, listing, redirect or error."""

    def __init__(self, app: Callable, environ: dict, account: str, container: str,
                 obj: str, settings: WebSettings):
        self.app = app
        self.environ = environ
        self.account = account
        self.container = container
        self.obj = obj
        self.settings = settings
        self.container_path = "/v1/%s/%s" % (account, container)

    def client_path(self) -> str:
        return from_wsgi(client_path(self.environ))

    def redirect_to_directory(self, start_response: Callable) -> Iterable[bytes]:
        location = quote(self.client_path() + "/", safe="/:@!$&'()*+,;=")
        resp = plain_response(301, "Moved Permanently", {"Location": location},
                              request_method=self.environ["REQUEST_METHOD"])
        return resp(self.environ, start_response)

    def fetch(self, wsgi_path: str) -> Captured:
        """GET/HEAD ``wsgi_path`` as the client, keeping its conditional and range headers."""
        env = dict(self.environ)
        env["PATH_INFO"] = wsgi_path
        env["QUERY_STRING"] = ""
        env["swift.source"] = "SW"
        return Captured(self.app, env)

    def error(self, failed: Captured, start_response: Callable) -> Iterable[bytes]:
        """``failed`` as is, or with the body of ``<status><Web-Error>`` if that exists."""
        if not self.settings.error:
            return failed.send(start_response)
        page_path = "%s/%d%s" % (self.container_path, failed.code, self.settings.error)
        page = self.fetch(str_to_wsgi(page_path))
        if not 200 <= page.code < 300:
            page.discard()
            return failed.send(start_response)
        failed.discard()
        start_response(failed.status, page.headers, page.exc_info)
        return page.body

    def not_found(self, start_response: Callable) -> Iterable[bytes]:
        env = dict(self.environ)
        missing = Captured(plain_response(404, "Not Found",
                                          request_method=env["REQUEST_METHOD"]), env)
        return self.error(missing, start_response)

    def listing(self, prefix: str, start_response: Callable) -> Iterable[bytes]:
        if not self.settings.listings:
            return self.not_found(start_response)
        query = "format=json&delimiter=/"
        if prefix:
            query += "&prefix=" + quote(prefix.encode("utf-8"))
        sub = subrequest(self.environ, "GET", str_to_wsgi(self.container_path), query, source="SW")
        resp = sub.get_response(self.app)
        if not 200 <= resp.status_int < 300:
            return self.error(Captured(resp, dict(self.environ)), start_response)
        entries = json.loads(read_body(resp, MAX_LISTING_BYTES) or b"[]")
        if not entries:
            return self.not_found(start_response)
        # The title names the storage path even under domain_remap, as
        # clients and Swift's own tests read it.
        link_prefix, link_query = listing_link_query(self.environ)
        page = render_listing(from_wsgi(self.environ["PATH_INFO"]), prefix, entries,
                              self.settings.listings_css or None, link_query,
                              show_parent=len(prefix) > len(link_prefix))
        out = Response(status=200, content_type="text/html", charset="utf-8")
        out.headers[CONTENT_GENERATOR_HEADER] = "staticweb"
        out.body = page.encode("utf-8")
        if self.environ["REQUEST_METHOD"] == "HEAD":
            out.app_iter = [b""]
        return out(self.environ, start_response)

    def serve_container(self, start_response: Callable) -> Iterable[bytes]:
        if not self.environ["PATH_INFO"].endswith("/"):
            return self.redirect_to_directory(start_response)
        if not self.settings.index:
            return self.listing("", start_response)
        index = self.fetch(self.environ["PATH_INFO"] + str_to_wsgi(self.settings.index))
        if index.code == 404:
            index.discard()
            return self.listing("", start_response)
        if not 200 <= index.code < 400:
            return self.error(index, start_response)
        return index.send(start_response)

    def serve_object(self, start_response: Callable) -> Iterable[bytes]:
        found = Captured(self.app, self.environ)
        if 200 <= found.code < 400 and not self._is_directory_marker(found):
            return found.send(start_response)
        if found.code not in (404,) and not 200 <= found.code < 400:
            return found.send(start_response)
        found.discard()
        is_dir_path = self.environ["PATH_INFO"].endswith("/")
        if self.settings.index:
            index_path = self.environ["PATH_INFO"] + ("" if is_dir_path else "/")
            index = self.fetch(index_path + str_to_wsgi(self.settings.index))
            if 200 <= index.code < 400:
                if not is_dir_path:
                    index.discard()
                    return self.redirect_to_directory(start_response)
                return index.send(start_response)
            if index.code != 404:
                return self.error(index, start_response)
            index.discard()
        if not is_dir_path:
            if self._directory_exists():
                return self.redirect_to_directory(start_response)
            return self.not_found(start_response)
        return self.listing(self.obj, start_response)

    def _directory_exists(self) -> bool:
        """Whether anything lives under ``<obj>/`` (a directory named without its slash)."""
        if not self.settings.listings:
            return False
        query = "format=json&limit=1&delimiter=/&prefix=" + quote(
            (self.obj + "/").encode("utf-8"))
        sub = subrequest(self.environ, "GET", str_to_wsgi(self.container_path), query, source="SW")
        resp = sub.get_response(self.app)
        if not 200 <= resp.status_int < 300:
            close_response(resp)
            return False
        return bool(json.loads(read_body(resp, MAX_LISTING_BYTES) or b"[]"))

    def _is_directory_marker(self, found: Captured) -> bool:
        content_type = (found.header("Content-Type") or "").split(";")[0].strip()
        length = found.header("Content-Length")
        return content_type == self.settings.directory_type and (
            length is None or int(length or 0) <= 1)



class StaticWeb:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: StaticWebConfig):
        self.app = app
        self.conf = conf

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        web_mode = environ.get("HTTP_X_WEB_MODE", "").strip().lower() in ("true", "1", "yes",
                                                                           "on", "t", "y")
        # A temp URL visitor browses the site like an anonymous one.
        if environ.get("REMOTE_USER") not in (None, "", TEMPURL_USER) and not web_mode:
            return self.app(environ, start_response)
        parts = environ.get("PATH_INFO", "").split("/", 4)
        if len(parts) < 4 or parts[0] or parts[1] != "v1" or not parts[2] or not parts[3]:
            return self.app(environ, start_response)
        account, container = from_wsgi(parts[2]), from_wsgi(parts[3])
        info = get_container_info(environ, self.app, account, container)
        settings = WebSettings.from_meta(info.get("meta") or {})
        obj = from_wsgi(parts[4]) if len(parts) == 5 else ""
        if not 200 <= info.get("status", 0) < 300 or not settings.active:
            if web_mode and not obj:
                # Asked for the website, and this container is none.
                return plain_response(404, "Not Found")(environ, start_response)
            return self.app(environ, start_response)
        web = StaticWebRequest(self.app, environ, account, container, obj, settings)
        if not obj:
            return web.serve_container(start_response)
        return web.serve_object(start_response)


@typed_factory(StaticWebConfig)
def filter_factory(cluster: ClusterConfig, conf: StaticWebConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], StaticWeb]:
    cluster.capabilities.register("staticweb")

    def make_filter(app: Callable) -> StaticWeb:
        return StaticWeb(app, conf)

    return make_filter
