"""CORS on a real cluster: preflights and actual requests sent the way a browser sends them.

A browser sends ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-*``
and no credentials, then the real request with ``Origin`` and the token; it
hands the answer to the page only if ``Access-Control-Allow-Origin`` names
the page's origin (or ``*``), and lets the page read only the headers in
``Access-Control-Expose-Headers``.
"""
import json

import pytest
from swiftclient import client as swift_client

PAGE = "http://page.example"
OTHER = "http://evil.example"


def browser_request(url, method, path="", headers=None, body=b""):
    """One request on a fresh connection, as a browser would send it: (status, headers)."""
    parsed, http_conn = swift_client.http_connection(url)
    try:
        http_conn.request(method, parsed.path + path, body, headers or {})
        resp = http_conn.getresponse()
        resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        http_conn.close()


def preflight(url, path, origin=PAGE, method="GET", request_headers="x-auth-token"):
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers:
        headers["Access-Control-Request-Headers"] = request_headers
    return browser_request(url, "OPTIONS", path, headers)


def exposed(headers):
    return headers.get("access-control-expose-headers", "").split(", ")


@pytest.fixture
def cors_container(conn, unique):
    """A container open to PAGE, with one object carrying user metadata."""
    container = unique("cors")
    conn.put_container(container, headers={
        "X-Container-Meta-Access-Control-Allow-Origin": "http://other.example " + PAGE,
        "X-Container-Meta-Access-Control-Max-Age": "120",
        "X-Container-Meta-Access-Control-Expose-Headers": "X-Custom-Thing"})
    conn.put_object(container, "cat", b"meow", headers={"X-Object-Meta-Color": "red"})
    return container


def test_preflight_then_get_from_an_allowed_origin(conn, cors_container):
    url, token = conn.get_auth()
    path = "/%s/cat" % cors_container
    status, headers = preflight(url, path, request_headers="x-auth-token, range")
    assert status == 200
    assert headers["access-control-allow-origin"] == PAGE
    assert headers["access-control-max-age"] == "120"
    assert {"GET", "HEAD", "PUT", "POST", "DELETE"} <= set(
        headers["access-control-allow-methods"].split(", "))
    assert set(headers["access-control-allow-headers"].split(", ")) == {"x-auth-token",
                                                                         "range"}
    assert "origin" in headers["vary"].lower()
    assert "access-control-expose-headers" not in headers  # only actual answers expose

    status, headers = browser_request(url, "GET", path, {"Origin": PAGE, "X-Auth-Token": token})
    assert status == 200
    assert headers["access-control-allow-origin"] == PAGE
    for name in ("cache-control", "content-language", "content-type", "expires",
                 "last-modified", "pragma", "etag", "x-timestamp", "x-trans-id",
                 "x-openstack-request-id", "x-object-meta-color", "x-custom-thing"):
        assert name in exposed(headers), name
    assert headers["x-object-meta-color"] == "red"


def test_container_and_writes_carry_cors_headers(conn, cors_container):
    url, token = conn.get_auth()
    auth = {"Origin": PAGE, "X-Auth-Token": token}
    status, headers = browser_request(url, "GET", "/%s?format=json" % cors_container, auth)
    assert status == 200
    assert headers["access-control-allow-origin"] == PAGE
    assert "x-container-meta-access-control-max-age" in exposed(headers)
    status, headers = preflight(url, "/%s/new" % cors_container, method="PUT")
    assert status == 200
    status, headers = browser_request(url, "PUT", "/%s/new" % cors_container,
                                      dict(auth, **{"Content-Length": "2"}), b"hi")
    assert status == 201
    assert headers["access-control-allow-origin"] == PAGE
    assert "etag" in exposed(headers)
    status, headers = browser_request(url, "DELETE", "/%s/new" % cors_container, auth)
    assert status == 204 and headers["access-control-allow-origin"] == PAGE


def test_unknown_origin_or_method_is_refused(conn, cors_container):
    url, token = conn.get_auth()
    path = "/%s/cat" % cors_container
    assert preflight(url, path, origin=OTHER)[0] == 401
    assert preflight(url, path, method="PATCH")[0] == 401
    status, headers = browser_request(url, "OPTIONS", path, {"Origin": PAGE})
    assert status == 401  # a preflight must name the method
    # strict mode (the default): the answer comes, but without CORS headers,
    # so the browser keeps it from the page
    status, headers = browser_request(url, "GET", path, {"Origin": OTHER, "X-Auth-Token": token})
    assert status == 200
    assert "access-control-allow-origin" not in headers
    assert "access-control-expose-headers" not in headers


def test_container_without_cors_metadata_is_closed(conn, unique):
    url, token = conn.get_auth()
    container = unique("closed")
    conn.put_container(container)
    conn.put_object(container, "o", b"x")
    assert preflight(url, "/%s/o" % container)[0] == 401
    headers = browser_request(url, "GET", "/%s/o" % container,
                              {"Origin": PAGE, "X-Auth-Token": token})[1]
    assert "access-control-allow-origin" not in headers


def test_any_origin_with_star(conn, unique):
    url, token = conn.get_auth()
    container = unique("star")
    conn.put_container(container, headers={"X-Container-Meta-Access-Control-Allow-Origin": "*"})
    conn.put_object(container, "o", b"x")
    status, headers = preflight(url, "/%s/o" % container, origin=OTHER)
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    headers = browser_request(url, "HEAD", "/%s/o" % container,
                              {"Origin": OTHER, "X-Auth-Token": token})[1]
    assert headers["access-control-allow-origin"] == "*"


def test_options_without_origin_lists_methods_everywhere(conn, cors_container):
    url, _token = conn.get_auth()
    for path, methods in (("", {"GET", "HEAD", "POST", "OPTIONS"}),
                          ("/" + cors_container, {"GET", "HEAD", "PUT", "POST", "DELETE",
                                                  "OPTIONS"}),
                          ("/%s/cat" % cors_container, {"GET", "HEAD", "PUT", "POST",
                                                        "DELETE", "OPTIONS", "COPY"})):
        status, headers = browser_request(url, "OPTIONS", path)
        assert status == 200, path
        assert set(headers["allow"].split(", ")) == methods, path
        assert "access-control-allow-origin" not in headers
    # accounts carry no CORS metadata: only the proxy-wide cors_allow_origin opens them
    assert preflight(url, "")[0] == 401


def test_large_objects_and_copies_answer_with_cors_headers(conn, cors_container):
    url, token = conn.get_auth()
    auth = {"Origin": PAGE, "X-Auth-Token": token}
    conn.put_object(cors_container, "seg/1", b"aaa")
    conn.put_object(cors_container, "seg/2", b"bbb")
    conn.put_object(cors_container, "dlo", b"",
                    headers={"X-Object-Manifest": "%s/seg/" % cors_container})
    manifest = [{"path": "/%s/seg/%d" % (cors_container, i)} for i in (1, 2)]
    conn.put_object(cors_container, "slo", json.dumps(manifest),
                    query_string="multipart-manifest=put")
    for name in ("dlo", "slo"):
        status, headers = browser_request(url, "GET", "/%s/%s" % (cors_container, name), auth)
        assert status == 200, name
        assert headers["access-control-allow-origin"] == PAGE, name
        assert headers["content-length"] == "6"
    status, headers = browser_request(url, "PUT", "/%s/copy" % cors_container, dict(
        auth, **{"X-Copy-From": "/%s/cat" % cors_container, "Content-Length": "0"}))
    assert status == 201
    assert headers["access-control-allow-origin"] == PAGE
    assert conn.get_object(cors_container, "copy")[1] == b"meow"


def test_service_token_requests_keep_working(cluster, connect, unique):
    """A SERVICE_ account needs the user's token plus a service token, CORS or not."""
    user, service = connect("test:tester"), connect("test5:tester5")
    url, token = user.get_auth()
    _, service_token = service.get_auth()
    service_url = url.replace("/AUTH_test", "/SERVICE_test")
    container = unique("svc")
    both = {"X-Auth-Token": token, "X-Service-Token": service_token}
    swift_client.put_container(service_url, token, container, headers=dict(both, **{
        "X-Container-Meta-Access-Control-Allow-Origin": PAGE}))
    swift_client.put_object(service_url, token, container, "o", b"svc", headers=both)
    status, headers = preflight(service_url, "/%s/o" % container)
    assert status == 200 and headers["access-control-allow-origin"] == PAGE
    status, headers = browser_request(service_url, "GET", "/%s/o" % container,
                                      dict(both, Origin=PAGE))
    assert status == 200
    assert headers["access-control-allow-origin"] == PAGE
    # the user's token alone still does not open a SERVICE_ account
    status, headers = browser_request(service_url, "GET", "/%s/o" % container,
                                      {"X-Auth-Token": token, "Origin": PAGE})
    assert status == 403


def test_info_reports_strict_cors_mode(conn):
    info = conn.get_capabilities()
    assert info["swift"]["strict_cors_mode"] is True
