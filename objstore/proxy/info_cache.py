"""Short-lived knowledge about accounts and containers, shared by proxy and middlewares.

Every object request needs its container's ACLs, policy and existence;
asking the container databases each time would double the cluster's load.
So answers to container/account HEADs are kept twice:

- per request in ``environ['objstore.infocache']`` (sub-requests made by
  middlewares share it, so one client request asks at most once), and
- per proxy app in an :class:`InfoCache` with an expiry
  (``recheck_*_existence`` seconds), which the proxy clears when it changes the
  container or account itself.  The proxy puts its cache in every environ it
  serves (``objstore.info_cache``); nothing is kept per process, so two
  proxies in one process never share answers.

Middlewares (tempauth ACLs, quotas, staticweb) call :func:`get_container_info`
/ :func:`get_account_info` with only the WSGI environ and the next app: on a
miss, a HEAD sub-request goes through ``app``; the proxy answers it from its
cache when it can (:func:`answer_from_cache`) and fills the cache otherwise.
Names are decoded text (what webob's ``req.path_info`` gives), not the
latin-1 WSGI form of ``environ['PATH_INFO']``.
"""
from __future__ import annotations

import re
import time
from typing import Any, Callable, Mapping, Optional
from urllib.parse import quote

from webob import Request

from objstore.common.reserved_names import ALLOW_RESERVED_ENVIRON

INFOCACHE_KEY = "objstore.infocache"
# The proxy's InfoCache, in every environ the proxy serves.
PROXY_CACHE_KEY = "objstore.info_cache"
# On an info sub-request: the cache key the caller wants answered.
LOOKUP_KEY = "objstore.info_lookup"


class InfoCache:
    """One proxy's answers to account/container HEADs, each kept for its TTL."""

    def __init__(self, container_ttl: float = 10.0, account_ttl: float = 60.0) -> None:
        self._ttl = {"container": float(container_ttl), "account": float(account_ttl)}
        self._entries: dict[str, tuple[float, dict]] = {}

    def get(self, key: str) -> Optional[dict]:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, info = entry
        if time.monotonic() >= expires:
            self._entries.pop(key, None)
            return None
        return info

    def put(self, key: str, info: dict) -> None:
        kind = "container" if key.startswith("container/") else "account"
        self._entries[key] = (time.monotonic() + self._ttl[kind], info)

    def pop(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything (config reloads, tests)."""
        self._entries.clear()


def cache_key(account: str, container: Optional[str] = None) -> str:
    if container is None:
        return "account/%s" % account
    return "container/%s/%s" % (account, container)


def invalidate(environ: dict, account: str, container: Optional[str] = None) -> None:
    """Drop what is known about an account or container (after changing it)."""
    key = cache_key(account, container)
    proxy_cache = environ.get(PROXY_CACHE_KEY)
    if proxy_cache is not None:
        proxy_cache.pop(key)
    environ.get(INFOCACHE_KEY, {}).pop(key, None)


def store(environ: dict, account: str, container: Optional[str], info: dict) -> None:
    """Remember ``info``; only definite answers (2xx, 404) are kept across requests."""
    key = cache_key(account, container)
    environ.setdefault(INFOCACHE_KEY, {})[key] = info
    status = info.get("status", 0)
    proxy_cache = environ.get(PROXY_CACHE_KEY)
    if proxy_cache is not None and (200 <= status < 300 or status == 404):
        proxy_cache.put(key, info)


def _lookup(environ: dict, key: str) -> Optional[dict]:
    found = environ.get(INFOCACHE_KEY, {}).get(key)
    if found is not None:
        return found
    proxy_cache = environ.get(PROXY_CACHE_KEY)
    info = proxy_cache.get(key) if proxy_cache is not None else None
    if info is not None:
        environ.setdefault(INFOCACHE_KEY, {})[key] = info
    return info


def answer_from_cache(environ: dict) -> bool:
    """For the proxy: True when an info sub-request's answer is already known.

    The caller's per-request cache (shared with the sub-request) then holds
    it, and the sub-request needs no backend HEAD.
    """
    key = environ.get(LOOKUP_KEY)
    return bool(key) and _lookup(environ, key) is not None


def _meta(headers: Mapping[str, str], prefix: str) -> dict[str, str]:
    prefix = prefix.lower()
    return {k[len(prefix):].lower(): v for k, v in headers.items()
            if k.lower().startswith(prefix)}


def _int(headers: Mapping[str, str], name: str) -> int:
    try:
        return int(headers.get(name) or 0)
    except ValueError:
        return 0


def container_info_from_headers(status: int, headers: Mapping[str, str]) -> dict:
    """The container info dict from a container HEAD/GET answer (node or proxy)."""
    policy = headers.get("X-Backend-Storage-Policy-Index") or headers.get(
        "X-Storage-Policy-Index") or "0"
    return {
        "status": status,
        "object_count": _int(headers, "X-Container-Object-Count"),
        "bytes": _int(headers, "X-Container-Bytes-Used"),
        "read_acl": headers.get("X-Container-Read"),
        "write_acl": headers.get("X-Container-Write"),
        "sync_key": headers.get("X-Container-Sync-Key"),
        "sync_to": headers.get("X-Container-Sync-To"),
        "storage_policy": str(policy),
        "created_at": headers.get("X-Backend-Timestamp") or headers.get("X-Timestamp"),
        "put_timestamp": headers.get("X-Backend-Put-Timestamp") or headers.get("X-Put-Timestamp"),
        "meta": _meta(headers, "X-Container-Meta-"),
        "sysmeta": _meta(headers, "X-Container-Sysmeta-"),
        "cors": {
            "allow_origin": headers.get("X-Container-Meta-Access-Control-Allow-Origin"),
            "expose_headers": headers.get("X-Container-Meta-Access-Control-Expose-Headers"),
            "max_age": headers.get("X-Container-Meta-Access-Control-Max-Age"),
        },
    }


def account_info_from_headers(status: int, headers: Mapping[str, str]) -> dict:
    """The account info dict from an account HEAD/GET answer."""
    return {
        "status": status,
        "container_count": _int(headers, "X-Account-Container-Count"),
        "object_count": _int(headers, "X-Account-Object-Count"),
        "total_object_count": _int(headers, "X-Account-Object-Count"),
        "bytes": _int(headers, "X-Account-Bytes-Used"),
        "meta": _meta(headers, "X-Account-Meta-"),
        "sysmeta": _meta(headers, "X-Account-Sysmeta-"),
        "storage_policies": _policy_stats(headers),
    }


_POLICY_STAT = re.compile(r"^x-account-storage-policy-(.+)-(bytes-used|object-count|"
                          r"container-count)$")


def _policy_stats(headers: Mapping[str, str]) -> dict[str, dict[str, int]]:
    """Per-policy usage, by lower-case policy name: {name: {bytes, object_count, ...}}."""
    stats: dict[str, dict[str, int]] = {}
    for key in headers:
        found = _POLICY_STAT.match(key.lower())
        if found:
            name, stat = found.groups()
            field = "bytes" if stat == "bytes-used" else stat.replace("-", "_")
            stats.setdefault(name, {})[field] = _int(headers, key)
    return stats


def _head_subrequest(environ: dict, app: Callable, path: str,
                     key: str) -> tuple[int, Mapping[str, str]]:
    """HEAD ``path`` (percent-quoted) through ``app`` as an already-authorized request."""
    sub_env = {
        "REQUEST_METHOD": "HEAD",
        "swift.source": "INFO",
        "swift.authorize": lambda req: None,
        "swift.authorize_override": True,
        INFOCACHE_KEY: environ.setdefault(INFOCACHE_KEY, {}),
        LOOKUP_KEY: key,
    }
    for key in ("swift.trans_id", "HTTP_X_TRANS_ID_EXTRA", "SERVER_NAME", "SERVER_PORT",
                "HTTP_HOST", "wsgi.url_scheme", "SERVER_PROTOCOL"):
        if key in environ:
            sub_env[key] = environ[key]
    if "%00" in path:
        # a reserved name: only middleware asks about one, for a request it vetted
        sub_env[ALLOW_RESERVED_ENVIRON] = "true"
    req = Request.blank(path, environ=sub_env)
    resp = req.get_response(app)
    close = getattr(resp.app_iter, "close", None)
    if close is not None:
        close()
    if PROXY_CACHE_KEY in sub_env:
        # later lookups of this request may use the proxy's cache directly
        environ.setdefault(PROXY_CACHE_KEY, sub_env[PROXY_CACHE_KEY])
    return resp.status_int, resp.headers


def get_container_info(environ: dict, app: Callable, account: str, container: str) -> dict:
    """What is known about ``/account/container`` (``status`` 0 when nothing answered)."""
    key = cache_key(account, container)
    info = _lookup(environ, key)
    if info is not None:
        return info
    account_info = get_account_info(environ, app, account)
    if not 200 <= account_info.get("status", 0) < 300:
        info = container_info_from_headers(0 if account_info.get("status") != 404 else 404, {})
        environ.setdefault(INFOCACHE_KEY, {})[key] = info
        return info
    status, headers = _head_subrequest(
        environ, app, "/v1/%s/%s" % (quote(account), quote(container)), key)
    info = _lookup(environ, key)
    if info is None:
        info = container_info_from_headers(status, headers)
        store(environ, account, container, info)
    return info


def get_account_info(environ: dict, app: Callable, account: str) -> dict:
    """What is known about ``/account`` (``status`` 0 when nothing answered)."""
    key = cache_key(account)
    info = _lookup(environ, key)
    if info is not None:
        return info
    status, headers = _head_subrequest(environ, app, "/v1/%s" % quote(account), key)
    info = _lookup(environ, key)
    if info is None:
        info = account_info_from_headers(status, headers)
        store(environ, account, None, info)
    return info


def peek(environ: dict, account: str, container: Optional[str] = None) -> Optional[dict[str, Any]]:
    """Cached info without asking anyone (None when unknown)."""
    return _lookup(environ, cache_key(account, container))
