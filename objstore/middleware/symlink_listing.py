"""Container listings that tell links apart: ``symlink_path``, ``symlink_etag``, ``symlink_bytes``.

A link's row stores its target in its ETag's parameters
(:func:`objstore.middleware.symlink_headers.listing_etag`).  JSON and XML
listings show the row's ``hash`` without them, and add ``symlink_path``
(``/v1/<account>/<container>/<object>``, quoted) and, for a static link,
``symlink_etag`` and ``symlink_bytes`` (JSON keys; XML elements after
``last_modified``).  Plain text listings are names only.
"""
from __future__ import annotations

import json
from types import MappingProxyType
from typing import Callable, Optional
from xml.etree import ElementTree

from webob import Request, Response

from objstore.common.http_text import wsgi_quote
from objstore.middleware.segments import close_response

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# Listing ETag parameter -> what the rewrite does with it.
PARAM_KEYS = MappingProxyType({"symlink_target_etag": "symlink_etag",
                               "symlink_target_bytes": "symlink_bytes"})


def rewrite_listing(req: Request, app: Callable, version: str, account: str) -> Response:
    """The container GET's answer, its JSON or XML rows rewritten for links."""
    resp = req.get_response(app)
    media_type = resp.content_type or ""
    if not 200 <= resp.status_int < 300 or not media_type.endswith(("/json", "/xml")):
        return resp
    body = b"".join(resp.app_iter)
    close_response(resp)
    if b"symlink_target=" in body:
        rewrite = rewrite_json if media_type.endswith("/json") else rewrite_xml
        body = rewrite(body, version, wsgi_quote(account))
    resp.app_iter = [body]
    resp.content_length = len(body)
    return resp


def rewrite_json(body: bytes, version: str, account: str) -> bytes:
    try:
        rows = json.loads(body)
    except ValueError:
        return body
    if not isinstance(rows, list):
        return body
    return json.dumps([link_row(row, version, account) for row in rows]).encode("ascii")


def rewrite_xml(body: bytes, version: str, account: str) -> bytes:
    """The XML listing with each link's ``hash`` cleaned and its symlink_* elements added."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return body
    for item in root.iter("object"):
        hash_element = item.find("hash")
        if hash_element is None or "symlink_target=" not in (hash_element.text or ""):
            continue
        row = link_row({"hash": hash_element.text}, version, account)
        hash_element.text = row.pop("hash")
        for key in ("symlink_path", "symlink_etag", "symlink_bytes"):
            if key in row:
                ElementTree.SubElement(item, key).text = str(row[key])
    return XML_DECLARATION + ElementTree.tostring(root, encoding="unicode").encode("utf-8")


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
