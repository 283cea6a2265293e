"""Middleware tests' shared fixture: an in-memory stand-in for the proxy (large objects).

Keeps objects in a dict by WSGI path and answers the few things slo/dlo ask
of the rest of the pipeline: object GET (one range, If-Match), HEAD, PUT,
DELETE, and JSON container listings paged by ``limit``/``marker``/``prefix``.
Every request is recorded so tests can check what the middleware asked.
"""
import hashlib
import json
from urllib.parse import parse_qs

import pytest
from webob import Request, Response

from objstore.common.http_conditions import (
    RangeNotSatisfiable,
    content_range,
    evaluate_preconditions,
    parse_range,
)

KEPT_PREFIXES = ("x-object-meta-", "x-object-sysmeta-")
KEPT_HEADERS = ("content-type", "x-static-large-object", "x-object-manifest")
LAST_MODIFIED = "Thu, 01 Jan 2026 00:00:00 GMT"


class FakeStore:
    def __init__(self, listing_limit=10000, chunk=7):
        self.objects = {}
        self.containers = set()
        self.calls = []
        self.listing_limit = listing_limit
        self.chunk = chunk
        self.fail_delete = set()

    def put(self, path, body, **headers):
        """Store an object directly (test setup)."""
        stored = {"Content-Type": "application/octet-stream"}
        stored.update({k.replace("_", "-"): v for k, v in headers.items()})
        stored["Etag"] = hashlib.md5(body).hexdigest()
        stored["Last-Modified"] = LAST_MODIFIED
        self.objects[path] = (stored, body)
        self.containers.add(path.rsplit("/", 1)[0] if path.count("/") >= 4 else path)
        parts = path.split("/", 4)
        self.containers.add("/".join(parts[:4]))
        return stored["Etag"]

    def __call__(self, environ, start_response):
        req = Request(environ)
        self.calls.append((req.method, environ["PATH_INFO"], environ.get("QUERY_STRING", ""),
                           dict(req.headers)))
        parts = environ["PATH_INFO"].split("/", 4)
        if len(parts) == 4:
            resp = self.container_get(req, environ["PATH_INFO"])
        else:
            resp = getattr(self, "obj_" + req.method)(req, environ["PATH_INFO"])
        return resp(environ, start_response)

    def container_get(self, req, path):
        if path not in self.containers:
            return Response(status=404, body=b"no container")
        params = parse_qs(req.query_string)
        prefix = params.get("prefix", [""])[0]
        marker = params.get("marker", [""])[0]
        names = sorted(p[len(path) + 1:] for p in self.objects if p.startswith(path + "/"))
        names = [n for n in names if n.startswith(prefix) and n > marker]
        listing = []
        for name in names[:self.listing_limit]:
            headers, body = self.objects[path + "/" + name]
            listing.append({"name": name.encode("latin-1").decode("utf-8"),
                            "hash": headers["Etag"], "bytes": len(body),
                            "content_type": headers["Content-Type"],
                            "last_modified": "2026-01-01T00:00:00.000000"})
        return Response(status=200, body=json.dumps(listing).encode(),
                        content_type="application/json")

    def _headers(self, path):
        headers, body = self.objects[path]
        return dict(headers, **{"Content-Length": str(len(body))})

    def obj_HEAD(self, req, path):
        return self.obj_GET(req, path)

    def obj_GET(self, req, path):
        if path not in self.objects:
            return Response(status=404, body=b"Not Found")
        headers, body = self.objects[path]
        status = evaluate_preconditions(req.headers, req.method, headers["Etag"], None)
        if status is not None:
            return Response(status=status, body=b"")
        try:
            ranges = parse_range(req.headers.get("Range"), len(body))
        except RangeNotSatisfiable:
            return Response(status=416, body=b"unsatisfiable")
        out = dict(headers)
        status = 200
        if ranges:
            start, end = ranges[0]
            out["Content-Range"] = content_range(start, end, len(body))
            body = body[start:end]
            status = 206
        out["Content-Length"] = str(len(body))
        chunks = [body[i:i + self.chunk] for i in range(0, len(body), self.chunk)]
        resp = Response(status=status, headerlist=list(out.items()),
                        app_iter=[] if req.method == "HEAD" else chunks)
        resp.headers["Content-Length"] = str(len(body))
        return resp

    def obj_PUT(self, req, path):
        body = req.body
        etag = hashlib.md5(body).hexdigest()
        if req.headers.get("Etag") and req.headers["Etag"].strip('"') != etag:
            return Response(status=422, body=b"etag mismatch")
        stored = {k: v for k, v in req.headers.items()
                  if k.lower().startswith(KEPT_PREFIXES) or k.lower() in KEPT_HEADERS}
        stored.setdefault("Content-Type", "application/octet-stream")
        stored["Etag"] = etag
        stored["Last-Modified"] = LAST_MODIFIED
        self.objects[path] = (stored, body)
        return Response(status=201, headerlist=[("Etag", etag), ("Content-Length", "0")])

    def obj_DELETE(self, req, path):
        if path in self.fail_delete:
            return Response(status=503, body=b"busy")
        if self.objects.pop(path, None) is None:
            return Response(status=404, body=b"")
        return Response(status=204)

    def obj_POST(self, req, path):
        return Response(status=202)


@pytest.fixture
def fake_store():
    """A fresh FakeStore (listing pages of ``listing_limit`` entries)."""
    return FakeStore
