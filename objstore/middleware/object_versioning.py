"""Object versioning, Swift's current mode (``object_versioning``).

A container opts in with ``X-Versions-Enabled: true`` on a PUT or POST (by
whoever may change its metadata); the filter then creates the hidden
container ``\\x00versions\\x00<container>`` (same storage policy) and keeps
the flag and that name as container sysmeta.  ``false`` suspends
versioning: old versions stay readable and new writes are ``null``
versions.  A container using the original ``X-Versions-Location`` /
``X-History-Location`` mode cannot also use this one (400).

Objects: :mod:`objstore.middleware.object_versioning_objects`; listings:
:mod:`objstore.middleware.object_versioning_listing`.  A versioned container
can only be deleted once no version is left (409); its hidden container goes
with it.  Container HEAD/GET count the versions' bytes, and account
listings add each hidden container's bytes to its container's.

The filter sits left of ``symlink`` (versions are reached through static
links) and right of slo/dlo, so manifests are versioned as manifests.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Callable, Iterable, Mapping, Optional
from urllib.parse import urlencode

from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection, to_bool
from objstore.common.http_text import wsgi_is_utf8, wsgi_quote, wsgi_unquote
from objstore.common.logs import get_logger
from objstore.common.pipeline import typed_factory
from objstore.common.reserved_names import ALLOW_RESERVED_HEADER
from objstore.middleware import object_versioning_listing as listing
from objstore.middleware import object_versioning_names as names
from objstore.middleware.container_quotas import ContainerQuotas
from objstore.middleware.object_versioning_objects import (ObjectVersioning, VersioningError,
                                                           close_response)
from objstore.middleware.quota import refuse_upload
from objstore.middleware.segments import from_wsgi, read_body, subrequest, to_wsgi
from objstore.middleware.versioned_writes import (CLIENT_HISTORY_LOC, CLIENT_VERSIONS_LOC,
                                                  SYSMETA_LOCATION, authorize_as_client)
from objstore.proxy import info_cache
from objstore.proxy.responses import plain_response

SOURCE = "OV"
LEGACY_CONFLICT = ("Cannot enable object versioning on a container that is already using "
                   "the legacy versioned writes feature.")


@dataclasses.dataclass(frozen=True)
class ObjectVersioningConfig(ConfigSection):
    log_name: str = "object_versioning"


def _flag(value: Optional[str]) -> bool:
    try:
        return to_bool(value or "false")
    except ValueError:
        return False


class ObjectVersioningFilter:
    """WSGI filter; see the module docstring."""

    def __init__(self, app: Callable, conf: ObjectVersioningConfig, cluster: ClusterConfig):
        self.app = app
        self.conf = conf
        self.policies = cluster.policies
        self.api_versions = tuple(cluster.constraints.valid_api_versions)
        self.container_listing_limit = cluster.constraints.container_listing_limit
        self.logger = get_logger(conf.log_name)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        parts = environ.get("PATH_INFO", "").split("/", 4)
        if len(parts) < 3 or parts[0] or parts[1] not in self.api_versions or not parts[2] \
                or not wsgi_is_utf8(environ["PATH_INFO"]):
            # (a name that is not UTF-8 is the proxy's to refuse)
            return self.app(environ, start_response)
        req = Request(environ)
        try:
            if len(parts) == 3 or (len(parts) == 4 and not parts[3]):
                resp = self.account_request(req, parts[1], parts[2])
            elif len(parts) == 4 or not parts[4]:
                resp = self.container_request(req, parts[1], parts[2], parts[3])
            else:
                resp = self.object_request(req, parts[1], parts[2], parts[3], parts[4])
        except (VersioningError, listing.ListingError) as err:
            resp = err.response
        if resp is None:
            return self.app(environ, start_response)
        return resp(environ, start_response)

    # -- sub-requests --------------------------------------------------------------------
    def internal(self, req: Request, method: str, path: str, query: str = "",
                 headers: Optional[dict] = None) -> Response:
        sub = subrequest(req.environ, method, path, query, SOURCE, headers)
        sub.environ.pop("swift.authorize", None)
        sub.environ["swift.authorize_override"] = True
        sub.headers[ALLOW_RESERVED_HEADER] = "true"
        return sub.get_response(self.app)

    @staticmethod
    def hidden_of(info: Mapping[str, Any]) -> Optional[str]:
        """The versions container (text) recorded for a container, if any."""
        value = info.get("sysmeta", {}).get(names.INFO_CONTAINER)
        return from_wsgi(wsgi_unquote(value)) if value else None

    # -- objects -------------------------------------------------------------------------
    def object_request(self, req: Request, version: str, account: str, container: str,
                       obj: str) -> Optional[Response]:
        version_id = req.GET.get(names.VERSION_QUERY)
        if req.method not in ("GET", "HEAD", "PUT", "POST", "DELETE"):
            return None
        info = info_cache.get_container_info(req.environ, self.app, from_wsgi(account),
                                             from_wsgi(container))
        if not 200 <= info.get("status", 0) < 300:
            return None
        hidden = self.hidden_of(info)
        enabled = _flag(info.get("sysmeta", {}).get(names.INFO_ENABLED))
        if version_id:
            if req.method == "POST":
                return plain_response(400, "POST to a specific version is not allowed")
            if not hidden and version_id != names.NULL_VERSION:
                return plain_response(400, "version-aware operations require that the "
                                           "container is versioned")
            if version_id != names.NULL_VERSION:
                try:
                    names.parse_version_id(version_id)
                except ValueError:
                    return plain_response(400, "Invalid version parameter")
            job = ObjectVersioning(self.app, req, version, account, container, obj,
                                   hidden or names.versions_container(from_wsgi(container)))
            if req.method == "DELETE":
                return job.delete_version(version_id)
            if req.method == "PUT":
                if version_id == names.NULL_VERSION:
                    return plain_response(400, "Invalid version parameter")
                return job.restore_version(version_id)
            return job.read_version(version_id)
        if not hidden:
            return None
        job = ObjectVersioning(self.app, req, version, account, container, obj, hidden)
        if req.method in ("GET", "HEAD"):
            return job.read()
        if req.method == "POST":
            return job.post()
        if not enabled:
            return None
        if req.method == "PUT":
            refused = self.over_quota(req, info, account, hidden)
            if refused is not None:
                return refused
            return job.put(info.get("write_acl"))
        return job.delete(info.get("write_acl"))

    def over_quota(self, req: Request, info: Mapping[str, Any], account: str,
                   hidden: str) -> Optional[Response]:
        """A container's byte quota counts its versions too (the quota filter sees only
        the links, which hold no bytes)."""
        if not (info.get("meta") or {}).get("quota-bytes"):
            return None
        # asked afresh: cached usage of the versions container lags behind every write
        head = self.internal(req, "HEAD", "/%s/%s" % (req.environ["PATH_INFO"].split("/")[1],
                                                       account) + "/" + to_wsgi(hidden))
        close_response(head)
        try:
            stored = int(head.headers.get("X-Container-Bytes-Used", "0"))
        except ValueError:
            stored = 0
        with_versions = dict(info, bytes=info.get("bytes", 0) + stored)
        if ContainerQuotas.over_quota(req, with_versions):
            return refuse_upload(req, info.get("write_acl"))
        return None

    # -- containers ----------------------------------------------------------------------
    def container_request(self, req: Request, version: str, account: str,
                          container: str) -> Optional[Response]:
        if req.method in ("PUT", "POST") and names.CLIENT_VERSIONS_ENABLED in req.headers:
            return self.set_versioning(req, version, account, container)
        if req.method == "DELETE":
            return self.delete_container(req, version, account, container)
        if req.method not in ("GET", "HEAD"):
            return None
        wants_versions = req.method == "GET" and names.VERSION_QUERY not in req.GET and \
            "versions" in req.GET
        params = dict(req.GET)
        if wants_versions:
            listing.check_versions_format(req)
            query = [(k, v) for k, v in params.items()
                     if k not in ("format", "versions", "version_marker")]
            req.environ["QUERY_STRING"] = urlencode(query + [("format", "json")])
        resp = req.get_response(self.app)
        hidden_value = resp.headers.get(names.SYSMETA_VERSIONS_CONTAINER)
        if names.SYSMETA_VERSIONS_ENABLED in resp.headers:
            resp.headers[names.CLIENT_VERSIONS_ENABLED] = resp.headers[
                names.SYSMETA_VERSIONS_ENABLED]
        if not 200 <= resp.status_int < 300:
            return resp
        account_text, container_text = from_wsgi(account), from_wsgi(container)
        hidden = from_wsgi(wsgi_unquote(hidden_value)) if hidden_value else None
        if hidden:
            self.add_versions_bytes(req, resp, version, account, hidden)
        if not (hidden or wants_versions) or req.method != "GET":
            return resp
        if hidden and (resp.content_type or "").endswith("/xml"):
            body = listing.show_version_links_xml(
                read_body(resp, listing.LISTING_BODY_LIMIT), version, account_text,
                container_text, hidden)
            resp.app_iter = [body]
            resp.content_length = len(body)
            return resp
        if not (resp.content_type or "").endswith("/json"):
            return resp
        rows = listing.read_json_rows(resp)
        if rows is None:
            return plain_response(500, "Unreadable container listing")
        hidden_name = hidden or names.versions_container(container_text)
        listing.show_version_links(rows, version, account_text, container_text, hidden_name,
                                   wants_versions)
        if wants_versions:
            def fetch_hidden(query: dict) -> Optional[Response]:
                if hidden is None:
                    return None
                return self.internal(req, "GET", "/%s/%s/%s" % (version, account,
                                                                 to_wsgi(hidden)),
                                     urlencode(query))
            return listing.versions_response(params, resp, rows, fetch_hidden, version,
                                             account_text, hidden_name,
                                             self.container_listing_limit)
        body = json.dumps(rows).encode("ascii")
        resp.app_iter = [body]
        resp.content_length = len(body)
        return resp

    def add_versions_bytes(self, req: Request, resp: Response, version: str, account: str,
                           hidden: str) -> None:
        """Container usage counts the bytes its versions hold."""
        if "X-Container-Bytes-Used" not in resp.headers:
            return
        head = self.internal(req, "HEAD", "/%s/%s/%s" % (version, account, to_wsgi(hidden)))
        close_response(head)
        if 200 <= head.status_int < 300:
            try:
                total = int(resp.headers["X-Container-Bytes-Used"]) + int(
                    head.headers.get("X-Container-Bytes-Used", "0"))
            except ValueError:
                return
            resp.headers["X-Container-Bytes-Used"] = str(total)

    def set_versioning(self, req: Request, version: str, account: str,
                       container: str) -> Response:
        if any(h in req.headers for h in (CLIENT_VERSIONS_LOC, CLIENT_HISTORY_LOC,
                                           SYSMETA_LOCATION)) and \
                any(req.headers.get(h) for h in (CLIENT_VERSIONS_LOC, CLIENT_HISTORY_LOC,
                                                 SYSMETA_LOCATION)):
            return plain_response(400, LEGACY_CONFLICT)
        denied = authorize_as_client(req.environ, None, req.environ["PATH_INFO"])
        if denied is not None:
            return denied
        info = info_cache.get_container_info(req.environ, self.app, from_wsgi(account),
                                             from_wsgi(container))
        if info.get("sysmeta", {}).get("versions-location"):
            return plain_response(400, LEGACY_CONFLICT)
        enabled = _flag(req.headers.pop(names.CLIENT_VERSIONS_ENABLED))
        req.headers[names.SYSMETA_VERSIONS_ENABLED] = "True" if enabled else "False"
        hidden_path = None
        if enabled:
            hidden = names.versions_container(from_wsgi(container))
            hidden_path = "/%s/%s/%s" % (version, account, to_wsgi(hidden))
            headers = {}
            policy = self.policies.get_by_index(int(info.get("storage_policy") or 0)) \
                if 200 <= info.get("status", 0) < 300 else None
            if policy is not None:
                headers["X-Storage-Policy"] = policy.name
            elif req.method == "PUT" and req.headers.get("X-Storage-Policy"):
                headers["X-Storage-Policy"] = req.headers["X-Storage-Policy"]
            made = self.internal(req, "PUT", hidden_path, "", headers)
            close_response(made)
            if not (200 <= made.status_int < 300 or made.status_int == 409):
                return plain_response(500, "Error enabling object versioning")
            req.headers[names.SYSMETA_VERSIONS_CONTAINER] = wsgi_quote(to_wsgi(hidden))
        resp = req.get_response(self.app)
        if not 200 <= resp.status_int < 300 and hidden_path and not \
                200 <= info.get("status", 0) < 300:
            close_response(self.internal(req, "DELETE", hidden_path))
        return resp

    def delete_container(self, req: Request, version: str, account: str,
                         container: str) -> Optional[Response]:
        info = info_cache.get_container_info(req.environ, self.app, from_wsgi(account),
                                             from_wsgi(container))
        hidden = self.hidden_of(info)
        if not hidden:
            return None
        hidden_path = "/%s/%s/%s" % (version, account, to_wsgi(hidden))
        head = self.internal(req, "HEAD", hidden_path)
        close_response(head)
        if 200 <= head.status_int < 300:
            if int(head.headers.get("X-Container-Object-Count", "0") or 0) > 0:
                return plain_response(409, "Delete all versions before deleting container.")
        elif head.status_int != 404:
            return plain_response(500, "Error deleting versioned container")
        resp = req.get_response(self.app)
        if 200 <= resp.status_int < 300 and head.status_int != 404:
            gone = self.internal(req, "DELETE", hidden_path)
            close_response(gone)
        return resp

    # -- accounts ------------------------------------------------------------------------
    def account_request(self, req: Request, version: str, account: str) -> Optional[Response]:
        if req.method != "GET":
            return None
        resp = req.get_response(self.app)
        if resp.status_int != 200 or not (resp.content_type or "").endswith("/json"):
            return resp
        body = read_body(resp, listing.LISTING_BODY_LIMIT)
        resp.app_iter = [body]
        try:
            rows = json.loads(body)
        except ValueError:
            return resp
        if not isinstance(rows, list):
            return resp
        hidden_rows = self.hidden_containers(req, version, account, rows)
        if not hidden_rows:
            return resp
        for row in rows:
            extra = hidden_rows.get(row.get("name"))
            if extra is not None:
                row["bytes"] = row.get("bytes", 0) + extra.get("bytes", 0)
        body = json.dumps(rows).encode("ascii")
        resp.app_iter = [body]
        resp.content_length = len(body)
        return resp

    def hidden_containers(self, req: Request, version: str, account: str,
                          rows: list) -> dict:
        """The hidden versions containers of the containers in ``rows``, by container."""
        listed = [row["name"] for row in rows if isinstance(row, dict) and "name" in row]
        if not listed:
            return {}
        last = names.versions_container(max(listed))
        query = {"format": "json", "prefix": names.versions_container("")}
        found = {}
        while True:
            resp = self.internal(req, "GET", "/%s/%s" % (version, account), urlencode(query))
            if resp.status_int != 200:
                close_response(resp)
                return found
            page = listing.read_json_rows(resp)
            if not page:
                return found
            for row in page:
                name = row.get("name", "")
                if name > last:
                    return found
                parent = names.parent_container(name)
                if parent is not None:
                    found[parent] = row
            query["marker"] = page[-1].get("name") or page[-1].get("subdir")


@typed_factory(ObjectVersioningConfig)
def filter_factory(cluster: ClusterConfig, conf: ObjectVersioningConfig,
                   raw: Mapping[str, Any]) -> Callable[[Callable], ObjectVersioningFilter]:
    cluster.capabilities.register("object_versioning")

    def make_filter(app: Callable) -> ObjectVersioningFilter:
        return ObjectVersioningFilter(app, conf, cluster)

    return make_filter
