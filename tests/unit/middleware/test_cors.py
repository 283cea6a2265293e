"""The cors filter in front of a stand-in proxy that knows one container's CORS metadata."""
import pytest
from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError
from objstore.middleware.cors import filter_factory

CONTAINER = "/v1/AUTH_a/c"
OBJECT = CONTAINER + "/o"


class FakeProxy:
    """Answers container/account HEADs from ``container_meta`` and objects with metadata."""

    def __init__(self):
        self.container_meta = {}
        self.calls = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        self.calls.append((req.method, req.path_info, req.headers.get("Origin")))
        parts = req.path_info.split("/")
        if len(parts) == 3:
            resp = Response(status=204)
        elif len(parts) == 4:
            resp = Response(status=204)
            for name, value in self.container_meta.items():
                resp.headers["X-Container-Meta-" + name] = value
            resp.headers["X-Container-Meta-Color"] = "red"
        else:
            resp = Response(status=200, body=b"data", content_type="text/plain")
            resp.headers["Etag"] = "abc"
            resp.headers["X-Object-Meta-Shape"] = "round"
        return resp(environ, start_response)


@pytest.fixture
def proxy():
    return FakeProxy()


def make(proxy, cluster, **conf):
    return filter_factory(cluster, {}, **conf)(proxy)


def call(app, path, method="GET", **headers):
    return Request.blank(path, method=method, headers=headers).get_response(app)


def preflight(app, path, origin="http://page.example", method="GET", **headers):
    headers.update(Origin=origin, Access_Control_Request_Method=method)
    return call(app, path, "OPTIONS", **{k.replace("_", "-"): v for k, v in headers.items()})


def test_options_without_origin_lists_the_methods(proxy, cluster):
    app = make(proxy, cluster)
    resp = call(app, OBJECT, "OPTIONS")
    assert resp.status_int == 200
    assert set(resp.headers["Allow"].split(", ")) == {"GET", "HEAD", "PUT", "POST", "DELETE",
                                                      "OPTIONS"}
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert resp.body == b""


def test_preflight_allowed_by_container_metadata(proxy, cluster):
    proxy.container_meta = {"Access-Control-Allow-Origin": "http://other http://page.example",
                            "Access-Control-Max-Age": "600"}
    app = make(proxy, cluster)
    for path in (CONTAINER, OBJECT):
        resp = preflight(app, path, method="PUT",
                         Access_Control_Request_Headers="X-Auth-Token, Content-Type")
        assert resp.status_int == 200, path
        assert resp.headers["Access-Control-Allow-Origin"] == "http://page.example"
        assert resp.headers["Access-Control-Max-Age"] == "600"
        assert "PUT" in resp.headers["Access-Control-Allow-Methods"].split(", ")
        assert resp.headers["Access-Control-Allow-Headers"] == "x-auth-token, content-type"
        assert resp.headers["Vary"] == "Origin, Access-Control-Request-Headers"
        assert "Access-Control-Expose-Headers" not in resp.headers


def test_preflight_with_star_names_star(proxy, cluster):
    proxy.container_meta = {"Access-Control-Allow-Origin": "*"}
    resp = preflight(make(proxy, cluster), OBJECT)
    assert resp.status_int == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in resp.headers
    assert "Access-Control-Max-Age" not in resp.headers


def test_preflight_refused_for_unknown_origin_or_method(proxy, cluster):
    proxy.container_meta = {"Access-Control-Allow-Origin": "http://page.example"}
    app = make(proxy, cluster)
    assert preflight(app, OBJECT, origin="http://evil.example").status_int == 401
    assert preflight(app, OBJECT, method="BREW").status_int == 401
    assert preflight(app, OBJECT, method="COPY").status_int == 401  # no copy filter
    missing_method = call(app, OBJECT, "OPTIONS", Origin="http://page.example")
    assert missing_method.status_int == 401
    assert "Access-Control-Allow-Origin" not in missing_method.headers


def test_proxy_wide_origins_open_every_container_and_accounts(proxy, cluster):
    app = make(proxy, cluster, cors_allow_origin="http://a.example, http://b.example")
    assert preflight(app, OBJECT, origin="http://b.example").status_int == 200
    account = preflight(app, "/v1/AUTH_a", origin="http://a.example")
    assert account.status_int == 200
    assert account.headers["Access-Control-Allow-Origin"] == "http://a.example"
    assert account.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS, POST"
    # account PUT/DELETE only exist when the proxy allows account management
    assert preflight(app, "/v1/AUTH_a", origin="http://a.example",
                     method="DELETE").status_int == 401
    cluster.capabilities.register("swift", allow_account_management=True)
    assert preflight(app, "/v1/AUTH_a", origin="http://a.example",
                     method="DELETE").status_int == 200
    other = make(proxy, cluster)
    assert preflight(other, "/v1/AUTH_a", origin="http://a.example").status_int == 401


def test_copy_is_offered_on_objects_when_the_copy_filter_is_installed(proxy, cluster):
    proxy.container_meta = {"Access-Control-Allow-Origin": "http://page.example"}
    app = make(proxy, cluster)
    cluster.capabilities.register("copy")
    assert "COPY" in call(app, OBJECT, "OPTIONS").headers["Allow"].split(", ")
    assert "COPY" not in call(app, CONTAINER, "OPTIONS").headers["Allow"].split(", ")
    resp = preflight(app, OBJECT, method="COPY")
    assert resp.status_int == 200
    assert "COPY" in resp.headers["Access-Control-Allow-Methods"].split(", ")


def test_preflight_asks_the_auth_middleware(proxy, cluster):
    app = make(proxy, cluster)
    denied = Response(status=403)
    req = Request.blank(OBJECT, method="OPTIONS",
                        environ={"swift.authorize": lambda r: denied})
    assert req.get_response(app).status_int == 403
    req = Request.blank(OBJECT, method="OPTIONS",
                        environ={"swift.authorize": lambda r: None})
    assert req.get_response(app).status_int == 200


def test_actual_request_from_allowed_origin(proxy, cluster):
    proxy.container_meta = {"Access-Control-Allow-Origin": "http://page.example",
                            "Access-Control-Expose-Headers": "X-Custom  Content-Length"}
    app = make(proxy, cluster, cors_expose_headers="X-Operator")
    resp = call(app, OBJECT, Origin="http://page.example")
    assert resp.status_int == 200 and resp.body == b"data"
    assert resp.headers["Access-Control-Allow-Origin"] == "http://page.example"
    assert resp.headers["Vary"] == "Origin"
    exposed = resp.headers["Access-Control-Expose-Headers"].split(", ")
    for name in ("cache-control", "content-language", "content-type", "expires",
                 "last-modified", "pragma", "etag", "x-timestamp", "x-trans-id",
                 "x-openstack-request-id", "x-object-meta-shape", "x-custom",
                 "content-length", "x-operator"):
        assert name in exposed, name
    container = call(app, CONTAINER, "HEAD", Origin="http://page.example")
    assert "x-container-meta-color" in container.headers["Access-Control-Expose-Headers"]


def test_actual_request_strict_and_lenient(proxy, cluster):
    proxy.container_meta = {"Access-Control-Allow-Origin": "http://page.example"}
    strict = call(make(proxy, cluster), OBJECT, Origin="http://evil.example")
    assert strict.status_int == 200
    assert "Access-Control-Allow-Origin" not in strict.headers
    assert "Access-Control-Expose-Headers" not in strict.headers
    lenient = call(make(proxy, cluster, strict_cors_mode="false"), OBJECT,
                   Origin="http://evil.example")
    assert lenient.headers["Access-Control-Allow-Origin"] == "http://evil.example"


def test_actual_request_with_star(proxy, cluster):
    proxy.container_meta = {"Access-Control-Allow-Origin": "*"}
    resp = call(make(proxy, cluster), OBJECT, Origin="http://any.example")
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


def test_requests_without_origin_and_non_api_paths_pass_untouched(proxy, cluster):
    proxy.container_meta = {"Access-Control-Allow-Origin": "*"}
    app = make(proxy, cluster)
    resp = call(app, OBJECT)
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert [c[0] for c in proxy.calls] == ["GET"]  # no container lookup either
    proxy.calls.clear()
    call(app, "/info", "OPTIONS", Origin="http://x")
    assert proxy.calls == [("OPTIONS", "/info", "http://x")]


def test_container_lookup_is_not_a_cors_request(proxy, cluster):
    proxy.container_meta = {"Access-Control-Allow-Origin": "*"}
    call(make(proxy, cluster), OBJECT, Origin="http://page.example")
    lookups = [c for c in proxy.calls if c[0] == "HEAD"]
    assert lookups and all(origin is None for _m, _p, origin in lookups)


def test_info_shows_strict_mode_only_with_cors(cluster):
    assert "strict_cors_mode" not in cluster.capabilities.as_info().get("swift", {})
    filter_factory(cluster, {}, strict_cors_mode="no")
    assert cluster.capabilities.as_info()["swift"]["strict_cors_mode"] is False
    filter_factory(cluster, {})
    assert cluster.capabilities.as_info()["swift"]["strict_cors_mode"] is True


def test_bad_option_stops_start_up():
    with pytest.raises(ConfigError):
        filter_factory(ClusterConfig.build("test-prefix", "test-suffix"), {},
                       strict_cors_mode="perhaps")
