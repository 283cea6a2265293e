"""The copy middleware against a small in-memory object store app."""
import hashlib

import pytest
from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.constraints import Constraints
from objstore.middleware.copy import IterReader, filter_factory

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


class MemoryStore:
    """Plays the rest of the pipeline: GET/PUT/HEAD objects kept in a dict."""

    def __init__(self):
        self.objects = {}
        self.calls = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        self.calls.append((req.method, req.environ["PATH_INFO"], dict(req.headers),
                           environ.get("swift.source"), environ.get("marker")))
        path = environ["PATH_INFO"]
        if req.method in ("GET", "HEAD"):
            if path not in self.objects:
                return Response(status=404, body=b"nope")(environ, start_response)
            headers, body = self.objects[path]
            if req.headers.get("If-Match") and req.headers["If-Match"] != headers["Etag"]:
                return Response(status=412, body=b"")(environ, start_response)
            resp = Response(status=200, headerlist=list(headers.items()),
                            app_iter=(body[i:i + 7] for i in range(0, len(body), 7)))
            resp.headers["Content-Length"] = str(len(body))
            return resp(environ, start_response)
        if req.method == "PUT":
            length = int(req.headers["Content-Length"])
            reader = environ["wsgi.input"]
            body = b""
            while len(body) < length:
                chunk = reader.read(min(5, length - len(body)))
                if not chunk:
                    break
                body += chunk
            etag = hashlib.md5(body).hexdigest()
            if req.headers.get("Etag") and req.headers["Etag"] != etag:
                return Response(status=422)(environ, start_response)
            stored = {k: v for k, v in req.headers.items()
                      if k.lower().startswith(("x-object-meta-", "x-object-sysmeta-"))
                      or k.lower() in ("content-type", "x-delete-at")}
            stored["Etag"] = etag
            stored["Last-Modified"] = "Thu, 01 Jan 2026 00:00:00 GMT"
            self.objects[path] = (stored, body)
            return Response(status=201, headerlist=[("Etag", etag), ("Content-Length", "0")]
                            )(environ, start_response)
        return Response(status=405)(environ, start_response)


@pytest.fixture
def store():
    store = MemoryStore()
    store.objects["/v1/AUTH_a/c/src"] = (
        {"Content-Type": "text/x-src", "X-Object-Meta-Color": "blue",
         "X-Object-Sysmeta-Thing": "kept", "X-Delete-At": "9999999999",
         "Etag": hashlib.md5(b"source body bytes").hexdigest(),
         "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"},
        b"source body bytes")
    return store


def make(store, cluster=None):
    return filter_factory(cluster or CLUSTER, {})(store)


def test_copy_verb_with_destination(store):
    app = make(store)
    resp = Request.blank("/v1/AUTH_a/c/src", method="COPY", environ={"marker": "m"},
                         headers={"Destination": "/c2/dst%20copy",
                                  "X-Object-Meta-Size": "big"}).get_response(app)
    assert resp.status_int == 201
    assert resp.headers["X-Copied-From"] == "c/src"
    assert resp.headers["X-Copied-From-Account"] == "AUTH_a"
    assert resp.headers["X-Copied-From-Last-Modified"] == "Wed, 01 Jan 2025 00:00:00 GMT"
    headers, body = store.objects["/v1/AUTH_a/c2/dst copy"]
    assert body == b"source body bytes"
    assert headers["X-Object-Meta-Color"] == "blue"
    assert headers["X-Object-Meta-Size"] == "big"
    assert headers["X-Object-Sysmeta-Thing"] == "kept"
    assert headers["Content-Type"] == "text/x-src"
    assert headers["X-Delete-At"] == "9999999999"
    methods = [(c[0], c[1], c[3], c[4]) for c in store.calls]
    assert methods == [("GET", "/v1/AUTH_a/c/src", "SSC", "m"),
                       ("PUT", "/v1/AUTH_a/c2/dst copy", "SSC", "m")]
    put_headers = store.calls[1][2]
    assert put_headers["Etag"] == hashlib.md5(b"source body bytes").hexdigest()
    assert "Destination" not in put_headers


def test_put_with_copy_from_and_fresh_metadata(store):
    app = make(store)
    resp = Request.blank("/v1/AUTH_b/c/new", method="PUT",
                         headers={"X-Copy-From": "c/src", "X-Copy-From-Account": "AUTH_a",
                                  "X-Fresh-Metadata": "true", "Content-Type": "a/b",
                                  "X-Object-Meta-New": "1", "Content-Length": "0"}
                         ).get_response(app)
    assert resp.status_int == 201
    headers, body = store.objects["/v1/AUTH_b/c/new"]
    assert body == b"source body bytes"
    assert headers["Content-Type"] == "a/b"
    assert headers["X-Object-Meta-New"] == "1"
    assert "X-Object-Meta-Color" not in headers
    assert headers["X-Object-Sysmeta-Thing"] == "kept"
    assert resp.headers["X-Copied-From-Account"] == "AUTH_a"


def test_the_copy_is_listed_as_its_own_bytes_not_as_the_source(store):
    """A large object's listing overrides describe its manifest; the copy holds bytes."""
    store.objects["/v1/AUTH_a/c/src"][0].update({
        "X-Object-Sysmeta-Container-Update-Override-Etag": "manifest; slo_etag=x",
        "X-Object-Sysmeta-Container-Update-Override-Size": "999"})
    resp = Request.blank("/v1/AUTH_a/c/new", method="PUT",
                         headers={"X-Copy-From": "c/src", "Content-Length": "0"}
                         ).get_response(make(store))
    assert resp.status_int == 201
    headers, _body = store.objects["/v1/AUTH_a/c/new"]
    assert not any(name.lower().startswith("x-object-sysmeta-container-update-override-")
                   for name in headers)
    assert headers["X-Object-Sysmeta-Thing"] == "kept"


@pytest.mark.parametrize("headers,status", [
    ({}, 412),
    ({"Destination": "/only-container"}, 412),
    ({"Destination": "/c/"}, 412),
    ({"Destination": "/c/o", "Destination-Account": "a/b"}, 412),
])
def test_malformed_destination(store, headers, status):
    resp = Request.blank("/v1/AUTH_a/c/src", method="COPY",
                         headers=headers).get_response(make(store))
    assert resp.status_int == status
    assert resp.body
    assert not [c for c in store.calls if c[0] == "PUT"]


def test_copy_from_errors(store):
    app = make(store)
    resp = Request.blank("/v1/AUTH_a/c/x", method="PUT", body=b"abc",
                         headers={"X-Copy-From": "/c/src"}).get_response(app)
    assert resp.status_int == 400
    resp = Request.blank("/v1/AUTH_a/c/x", method="PUT",
                         headers={"X-Copy-From": "/c/missing"}).get_response(app)
    assert resp.status_int == 404
    resp = Request.blank("/v1/AUTH_a/c/x", method="PUT",
                         headers={"X-Copy-From": "nocontainer"}).get_response(app)
    assert resp.status_int == 412
    resp = Request.blank("/v1/AUTH_a/c/x", method="PUT",
                         headers={"X-Copy-From": "/c/src", "If-Match": "nope"}
                         ).get_response(app)
    assert resp.status_int == 412
    small = ClusterConfig.build("test-prefix", "test-suffix",
                                constraints=Constraints(max_file_size=5))
    resp = Request.blank("/v1/AUTH_a/c/x", method="PUT",
                         headers={"X-Copy-From": "/c/src"}).get_response(make(store, small))
    assert resp.status_int == 413
    assert "/v1/AUTH_a/c/x" not in store.objects


def test_other_requests_pass_through(store):
    app = make(store)
    resp = Request.blank("/v1/AUTH_a/c/src").get_response(app)
    assert resp.status_int == 200 and resp.body == b"source body bytes"
    resp = Request.blank("/v1/AUTH_a/c/plain", method="PUT", body=b"hi").get_response(app)
    assert resp.status_int == 201
    assert [c[3] for c in store.calls] == [None, None]


@pytest.mark.parametrize("method, headers", [
    ("COPY", {"Destination": "c/part"}),
    ("PUT", {"X-Copy-From": "c/src"}),
])
def test_query_applies_to_the_source_read(store, method, headers):
    queries = []

    def recording(environ, start_response):
        queries.append((environ["REQUEST_METHOD"], environ["QUERY_STRING"]))
        return store(environ, start_response)

    path = "/v1/AUTH_a/c/" + ("src" if method == "COPY" else "part")
    resp = Request.blank(path + "?part-number=1", method=method,
                         headers=headers).get_response(make(recording))
    assert resp.status_int == 201
    assert queries == [("GET", "part-number=1"), ("PUT", "")]
    queries.clear()
    Request.blank(path + "?multipart-manifest=get&format=json", method=method,
                  headers=headers).get_response(make(recording))
    assert queries[0] == ("GET", "multipart-manifest=get&format=raw")


def test_iter_reader_regroups_chunks():
    reader = IterReader(iter([b"ab", b"cde", b"", b"fghij"]))
    assert reader.read(4) == b"abcd"
    assert reader.read(100) == b"efghij"
    assert reader.read(3) == b""
