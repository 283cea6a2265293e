"""Container listings that tell links apart: ``symlink_path``, ``symlink_etag``, ``symlink_bytes``.

A link's row stores its target in its ETag's parameters
(:func:`objstore.middleware.symlink_headers.listing_etag`).  A JSON listing
shows the row's ``hash`` without them, and adds ``symlink_path``
(``/v1/<account>/<container>/<object>``, quoted) and, for a static link,
``symlink_etag`` and ``symlink_bytes``.  Other formats show names (plain
text) or the five classic fields (XML, where the container server already
leaves the parameters out), as Swift does.
"""
from __future__ import annotations

import json
from typing import Callable, Optional

from webob import Request, Response

from objstore.common.http_text import wsgi_quote
from objstore.middleware.segments import close_response

# Listing ETag parameter -> what the rewrite does with it.
PARAM_KEYS = {"symlink_target_etag": "symlink_etag", "symlink_target_bytes": "symlink_bytes"}


def rewrite_listing(req: Request, app: Callable, version: str, account: str) -> Response:
    """The container GET's answer, its JSON rows rewritten for links."""
    resp = req.get_response(app)
    if not 200 <= resp.status_int < 300 or \
            not (resp.content_type or "").endswith("/json"):
        return resp
    body = b"".join(resp.app_iter)
    close_response(resp)
    if b"symlink_target=" in body:
        try:
            rows = json.loads(body)
        except ValueError:
            rows = None
        if isinstance(rows, list):
            quoted_account = wsgi_quote(account)
            body = json.dumps([link_row(row, version, quoted_account)
                               for row in rows]).encode("ascii")
    resp.app_iter = [body]
    resp.content_length = len(body)
    return resp


def link_row(row: dict, version: str, account: str) -> dict:
    """``row`` with a link's ETag parameters turned into its symlink_* keys.

    ``account`` (quoted) is the listed container's: a link without its own
    target account points into it.
    """
    stored = row.get("hash") if isinstance(row, dict) else None
    if not isinstance(stored, str) or "symlink_target=" not in stored:
        return row
    base, *params = [part.strip() for part in stored.split(";")]
    kept = [base]
    target: Optional[str] = None
    for param in params:
        name, _eq, value = param.partition("=")
        name = name.strip().lower()
        if name == "symlink_target":
            target = value
        elif name == "symlink_target_account":
            account = value
        elif name == "symlink_target_bytes":
            row["symlink_bytes"] = int(value) if value.isdigit() else value
        elif name in PARAM_KEYS:
            row[PARAM_KEYS[name]] = value
        else:
            kept.append(param)
    row["hash"] = "; ".join(kept)
    if target:
        row["symlink_path"] = "/%s/%s/%s" % (version, account, target.lstrip("/"))
    return row
