"""Listings of a versioned container: the current objects, and ``?versions``.

In the container itself a versioned object is a static link to its version;
a listing (JSON or XML; plain text has names only) shows the version's size
and ETag instead of the link's (zero bytes, the ETag of nothing), and its
``symlink_path`` names the version as a client addresses it
(``/v1/<a>/<c>/<o>?version-id=<id>``).

``?versions`` (JSON only: any other format asked for is a 406, which
Swift's own functional tests require) merges two
listings: the container's (its unversioned ``null`` objects, and links
that say which version is current) and the hidden versions container's
(every version and delete marker, newest first per name).  Each row gets
``version_id`` and ``is_latest``.  ``marker`` with ``version_marker``
resumes after one version of one object.
"""
from __future__ import annotations

import json
from typing import Callable, Optional
from xml.etree import ElementTree

from webob import Request, Response

from objstore.common.config import to_bool
from objstore.common.http_text import wsgi_quote, wsgi_unquote
from objstore.common.listing_format import JSON_TYPE, accepts, content_type_header
from objstore.common.reserved_names import RESERVED, reserved_name, split_reserved_name
from objstore.middleware import object_versioning_names as names
from objstore.middleware.segments import close_response, from_wsgi, read_body, to_wsgi
from objstore.middleware.symlink_listing import XML_DECLARATION
from objstore.middleware.versioned_writes import DELETE_MARKER_CONTENT_TYPE
from objstore.proxy.responses import plain_response

LISTING_BODY_LIMIT = 64 * 1024 * 1024
# Characters a version id is made of: a delimiter holding one would split ids.
VERSION_ID_CHARS = frozenset("0123456789." + RESERVED)


class ListingError(Exception):
    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def read_json_rows(resp: Response) -> Optional[list]:
    """A JSON listing's rows (None for another body)."""
    try:
        rows = json.loads(read_body(resp, LISTING_BODY_LIMIT) or b"[]")
    except ValueError:
        return None
    return rows if isinstance(rows, list) else None


def show_version_links(rows: list, version: str, account: str, container: str,
                       hidden: str, for_versions: bool) -> None:
    """Rows of links to versions show the version's size and ETag (``account`` and
    ``container`` are text).  Marks them ``version_symlink`` for the merge."""
    for row in rows:
        if not isinstance(row, dict) or not all(k in row for k in (
                "symlink_path", "symlink_etag", "symlink_bytes")):
            continue
        path = from_wsgi(wsgi_unquote(row["symlink_path"]))
        parts = path.split("/", 4)
        if len(parts) != 5 or parts[3] != hidden:
            continue
        row["bytes"] = int(row.pop("symlink_bytes"))
        params = row["hash"].split(";")[1:]
        row["hash"] = ";".join([row.pop("symlink_etag")] + params)
        row["version_symlink"] = True
        obj, stamp = names.split_version_object(parts[4])
        if stamp is not None and not for_versions:
            row["symlink_path"] = "%s?%s=%s" % (
                wsgi_quote(to_wsgi("/%s/%s/%s/%s" % (version, account, container, obj))),
                names.VERSION_QUERY, stamp.internal)


def show_version_links_xml(body: bytes, version: str, account: str, container: str,
                           hidden: str) -> bytes:
    """:func:`show_version_links` for an XML listing: each link to a version shows
    the version's ``bytes`` and ``hash``, and its ``symlink_path`` names the version."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return body
    changed = False
    for item in root.iter("object"):
        row = {child.tag: child.text or "" for child in item}
        show_version_links([row], version, account, container, hidden, False)
        if not row.get("version_symlink"):
            continue
        changed = True
        for child in list(item):
            if child.tag in ("symlink_etag", "symlink_bytes"):
                item.remove(child)
            elif child.tag in ("bytes", "hash", "symlink_path"):
                child.text = str(row[child.tag])
    if not changed:
        return body
    return XML_DECLARATION + ElementTree.tostring(root, encoding="unicode").encode("utf-8")


def hidden_listing_query(params: dict) -> dict:
    """The versions container's query for a client's ``?versions`` parameters."""
    query = {"format": "json"}
    marker = params.get("marker")
    version_marker = params.get("version_marker")
    if marker:
        if not version_marker:
            # just past every version of ``marker`` (":" sorts after digits and ".")
            query["marker"] = names.version_prefix(marker) + ":"
        elif version_marker == names.NULL_VERSION:
            query["marker"] = names.version_prefix(marker)
        else:
            try:
                stamp = names.parse_version_id(version_marker)
            except ValueError:
                raise ListingError(plain_response(400, "invalid version_marker param"))
            query["marker"] = names.version_object(marker, stamp)
    elif version_marker:
        raise ListingError(plain_response(400, "version_marker param requires marker"))
    delimiter = params.get("delimiter", "")
    if set(delimiter) & VERSION_ID_CHARS:
        raise ListingError(plain_response(400, "invalid delimiter param"))
    if params.get("prefix"):
        query["prefix"] = reserved_name(params["prefix"])
    for key in ("limit", "delimiter", "reverse"):
        if params.get(key):
            query[key] = params[key]
    return query


def check_versions_format(req: Request) -> None:
    """Only JSON lists versions: any other format asked for is a 406."""
    fmt = req.GET.get("format")
    if fmt is not None and fmt.strip().lower() != "json":
        raise ListingError(plain_response(406, "Not Acceptable"))
    if fmt is None and not accepts(req.headers.get("Accept"), JSON_TYPE):
        raise ListingError(plain_response(406, "Not Acceptable"))


def merge_versions(primary: list, hidden_rows: Optional[list], version: str,
                   account: str, hidden: str) -> list:
    """The ``?versions`` rows (``account``/``hidden`` text; ``hidden_rows`` None when
    the versions container does not exist)."""
    null_rows, subdirs, current = [], set(), {}
    latest = set()
    for row in primary:
        if "name" not in row:
            subdirs.add(row.get("subdir"))
        elif row.get("version_symlink"):
            current[from_wsgi(wsgi_unquote(row["symlink_path"]))] = row
        else:
            null_rows.append(dict(row, version_id=names.NULL_VERSION, is_latest=True))
            latest.add(row["name"])
    version_rows = []
    for row in hidden_rows or []:
        if "name" not in row:
            try:
                subdirs.add(split_reserved_name(row["subdir"])[0])
            except ValueError:
                pass
            continue
        name, stamp = names.split_version_object(row["name"])
        if stamp is None:
            continue
        path = "/%s/%s/%s/%s" % (version, account, hidden, row["name"])
        if path in current:
            row["is_latest"] = True
            latest.add(name)
            del current[path]
        elif row.get("content_type") == DELETE_MARKER_CONTENT_TYPE and name not in latest:
            row["is_latest"] = True
            latest.add(name)
        else:
            row["is_latest"] = False
        row["name"] = name
        row["version_id"] = stamp.internal
        version_rows.append(row)
    # Links whose version is missing from the hidden listing still name a current version.
    broken = []
    for row in current.values():
        target = from_wsgi(wsgi_unquote(row["symlink_path"])).split("/", 4)[-1]
        name, stamp = names.split_version_object(target)
        if stamp is None:
            continue
        broken.append({"name": name, "is_latest": name not in latest,
                       "version_id": stamp.internal, "content_type": row["content_type"],
                       "bytes": row["bytes"], "hash": row["hash"],
                       "last_modified": row["last_modified"]})
        latest.add(name)
    return null_rows + version_rows + [{"subdir": s} for s in subdirs if s] + broken


def sorted_page(rows: list, reverse: bool, limit: int) -> list:
    """Name order (or its reverse); a name's own rows keep their order."""
    return sorted(rows, key=lambda row: row.get("name", row.get("subdir")),
                  reverse=reverse)[:limit]


def versions_response(params: dict, primary_resp: Response, primary: list,
                      fetch_hidden: Callable[[dict], Optional[Response]], version: str,
                      account: str, hidden: str, max_limit: int) -> Response:
    """The ``?versions`` answer; ``fetch_hidden(query)`` lists the versions container
    (None when it does not exist)."""
    query = hidden_listing_query(params)
    hidden_resp = fetch_hidden(query)
    hidden_rows: Optional[list] = None
    if hidden_resp is not None:
        if hidden_resp.status_int == 404:
            close_response(hidden_resp)
        elif not 200 <= hidden_resp.status_int < 300:
            close_response(hidden_resp)
            return plain_response(hidden_resp.status_int, "Could not list the versions")
        else:
            hidden_rows = read_json_rows(hidden_resp) or []
    rows = merge_versions(primary, hidden_rows, version, account, hidden)
    limit = max_limit
    given = params.get("limit", "")
    if given.isdigit():
        limit = min(int(given), max_limit)
    try:
        reverse = to_bool(params.get("reverse") or "false")
    except ValueError:
        reverse = False
    body = json.dumps(sorted_page(rows, reverse, limit)).encode("ascii")
    resp = Response(status=200, body=body)
    for key, value in primary_resp.headers.items():
        if key.lower().startswith("x-container-") or key.lower() in (
                "x-timestamp", "x-put-timestamp", "x-storage-policy", "last-modified"):
            resp.headers[key] = value
    resp.headers["Content-Type"] = content_type_header(JSON_TYPE)
    return resp
