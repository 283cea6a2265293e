"""Middleware tests' shared fixture: an in-memory stand-in for the proxy (large objects).

Keeps objects in a dict by WSGI path and answers the few things slo/dlo ask
of the rest of the pipeline: object GET (one range, If-Match), HEAD, PUT,
DELETE, and JSON container listings paged by ``limit``/``marker``/``prefix``.
Every request is recorded so tests can check what the middleware asked.
"""
import hashlib
import json
import re
from urllib.parse import parse_qs

import pytest
from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.http_conditions import (
    RangeNotSatisfiable,
    content_range,
    evaluate_preconditions,
    parse_range,
)
from objstore.common.listing_format import strip_swift_bytes

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
            # a manifest's stored type carries the listing size, as on a container server
            size = re.search(r";\s*swift_bytes=(\d+)", headers["Content-Type"])
            listing.append({"name": name.encode("latin-1").decode("utf-8"),
                            "hash": headers["Etag"],
                            "bytes": int(size.group(1)) if size else len(body),
                            "content_type": strip_swift_bytes(headers["Content-Type"]),
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
        # like the object server: the answer carries the stored object's sysmeta
        stored = self.objects.get(path, ({}, b""))[0]
        return Response(status=202, headerlist=[
            (k, v) for k, v in stored.items() if k.lower().startswith("x-object-sysmeta-")])


@pytest.fixture
def fake_store():
    """A fresh FakeStore (listing pages of ``listing_limit`` entries)."""
    return FakeStore


class MemorySwift:
    """A whole (one-account-per-path) Swift API in memory, for bulk and versioned_writes.

    Containers must exist before objects go in (404 otherwise) and a
    container with objects refuses DELETE (409), as the proxy does.  Object
    bodies are read from ``wsgi.input`` in small pieces, so a test can see
    what a middleware hands over; a read error becomes 499.  ``refuse``
    maps (method, path) to a status to answer instead.
    """

    def __init__(self):
        self.containers = {}
        self.objects = {}
        self.calls = []
        self.refuse = {}
        self.clock = 1700000000.0

    def __call__(self, environ, start_response):
        req = Request(environ)
        path = environ["PATH_INFO"]
        self.calls.append((req.method, path, environ.get("QUERY_STRING", "")))
        refused = self.refuse.get((req.method, path))
        parts = path.split("/", 4)
        if refused:
            resp = Response(status=refused, body=b"refused")
        elif len(parts) == 3:
            resp = Response(status=204)
        elif len(parts) == 4:
            resp = getattr(self, "container_" + req.method)(req, path)
        else:
            resp = getattr(self, "object_" + req.method)(req, path)
        return resp(environ, start_response)

    def container_HEAD(self, req, path):
        if path not in self.containers:
            return Response(status=404)
        return Response(status=204, headerlist=list(self.containers[path].items()))

    def container_GET(self, req, path):
        if path not in self.containers:
            return Response(status=404)
        params = parse_qs(req.query_string)
        prefix = params.get("prefix", [""])[0]
        marker = params.get("marker", [""])[0]
        reverse = params.get("reverse", [""])[0] in ("on", "true", "1")
        names = sorted((p[len(path) + 1:] for p in self.objects if p.startswith(path + "/")),
                       reverse=reverse)
        names = [n for n in names if n.startswith(prefix)
                 and (not marker or (n < marker if reverse else n > marker))]
        listing = [{"name": n.encode("latin-1").decode("utf-8"),
                    "content_type": self.objects[path + "/" + n][0]["Content-Type"],
                    "bytes": len(self.objects[path + "/" + n][1])} for n in names[:2]]
        return Response(status=200, body=json.dumps(listing).encode(),
                        content_type="application/json")

    def container_PUT(self, req, path):
        created = path not in self.containers
        self.containers.setdefault(path, {})
        self.container_POST(req, path)
        return Response(status=201 if created else 202)

    def container_POST(self, req, path):
        if path not in self.containers:
            return Response(status=404)
        headers = self.containers[path]
        for key, value in req.headers.items():
            if key.lower().startswith(("x-container-", "x-versions-", "x-history-")):
                if value:
                    headers[key] = value
                else:
                    headers.pop(key, None)
        return Response(status=204)

    def container_DELETE(self, req, path):
        if path not in self.containers:
            return Response(status=404)
        if any(p.startswith(path + "/") for p in self.objects):
            return Response(status=409, body=b"not empty")
        del self.containers[path]
        return Response(status=204)

    def object_PUT(self, req, path):
        if "/".join(path.split("/", 4)[:4]) not in self.containers:
            return Response(status=404, body=b"no container")
        reader = req.environ["wsgi.input"]
        length = req.content_length
        chunks = []
        try:
            while True:
                chunk = reader.read(1000 if length is None else min(1000, length))
                if not chunk:
                    break
                chunks.append(chunk)
                if length is not None:
                    length -= len(chunk)
                    if not length:
                        break
        except OSError:
            return Response(status=499, body=b"client disconnect")
        if length:
            return Response(status=499, body=b"short body")
        self.clock += 1
        stored = {k: v for k, v in req.headers.items()
                  if k.lower().startswith(KEPT_PREFIXES) or k.lower() in KEPT_HEADERS}
        stored.setdefault("Content-Type", "application/octet-stream")
        stored["X-Timestamp"] = "%.5f" % self.clock
        self.objects[path] = (stored, b"".join(chunks))
        return Response(status=201)

    def object_GET(self, req, path):
        if path not in self.objects:
            return Response(status=404)
        headers, body = self.objects[path]
        resp = Response(status=200, headerlist=list(headers.items()), body=body)
        if req.method == "HEAD":
            resp.app_iter = []
            resp.headers["Content-Length"] = str(len(body))
        return resp

    object_HEAD = object_GET

    def object_POST(self, req, path):
        if path not in self.objects:
            return Response(status=404)
        self.objects[path][0].update({k: v for k, v in req.headers.items()
                                      if k.lower().startswith("x-object-meta-")})
        return Response(status=202)

    def object_DELETE(self, req, path):
        if self.objects.pop(path, None) is None:
            return Response(status=404)
        return Response(status=204)


@pytest.fixture
def memory_swift():
    """A fresh MemorySwift (see its docstring)."""
    return MemorySwift()


@pytest.fixture
def cluster():
    """A fresh cluster config (own /info registry) with the test salt and one policy."""
    return ClusterConfig.build("test-prefix", "test-suffix")
