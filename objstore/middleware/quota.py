"""What the container and account quota filters share: reading a quota, refusing an upload.

A quota is a count of bytes or objects stored as metadata; anything that is
not all digits (empty included) means "no quota".  An upload over a quota
is refused with 413, but only once the auth middleware agrees the client
could have written there at all: a stranger learns nothing about a
container's fill level from the status code.
"""
from __future__ import annotations

from typing import Mapping, Optional

from webob import Request, Response

from objstore.common.http_response import plain_response

OVER_QUOTA_BODY = "Upload exceeds quota."


def quota_value(meta: Mapping[str, str], key: str) -> Optional[int]:
    """The quota stored under ``key`` (lower-case, prefix-less), or None for no quota."""
    value = (meta.get(key) or "").strip()
    return int(value) if value.isdigit() else None


def upload_size(req: Request) -> int:
    """Bytes this upload adds as far as can be known up front (0 when chunked)."""
    return req.content_length or 0


def refuse_upload(req: Request, write_acl: Optional[str],
                  body: str = OVER_QUOTA_BODY) -> Response:
    """401/403 if the client may not write here anyway, else 413."""
    authorize = req.environ.get("swift.authorize")
    if authorize is not None and not req.environ.get("swift.authorize_override"):
        req.acl = write_acl
        denied = authorize(req)
        if denied is not None:
            return denied
    return plain_response(413, body)
