"""Which bucket and key an S3 request names: path-style or virtual-hosted-style.

``http://host/bucket/key`` (path style) and ``http://bucket.<storage_domain>/key``
(virtual-hosted style) name the same object.  The V2 signature's resource
is always ``/bucket/key`` as the client encoded it, so it is derived here too.
"""
from __future__ import annotations

import dataclasses
from typing import Optional
from urllib.parse import unquote

from objstore.common.http_text import wsgi_to_bytes, wsgi_to_str
from objstore.middleware.domain_remap import host_without_port


@dataclasses.dataclass(frozen=True)
class S3Target:
    bucket: Optional[str]
    key: Optional[str]
    v2_resource: bytes


def virtual_host_bucket(host: str, storage_domains: list[str]) -> Optional[str]:
    """The bucket a ``bucket.<storage domain>`` host names, else None."""
    host = host_without_port(host).lower().rstrip(".")
    for domain in storage_domains:
        suffix = "." + domain
        if host.endswith(suffix) and len(host) > len(suffix):
            return host[:-len(suffix)]
    return None


def route(environ: dict, storage_domains: list[str]) -> S3Target:
    raw_path = wsgi_to_bytes(environ.get("RAW_PATH_INFO") or environ.get("PATH_INFO") or "/")
    raw_path = raw_path.split(b"?", 1)[0] or b"/"
    path = wsgi_to_str(environ.get("PATH_INFO") or "/")
    bucket = virtual_host_bucket(environ.get("HTTP_HOST") or "", storage_domains)
    if bucket is not None:
        key = path[1:] if path.startswith("/") else path
        return S3Target(bucket, key or None, b"/" + bucket.encode("utf-8") + raw_path)
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return S3Target(None, None, raw_path)
    return S3Target(unquote(bucket) if "%" in bucket else bucket, key or None, raw_path)
