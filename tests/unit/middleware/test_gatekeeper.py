import pytest
import webob

from objstore.common.cluster_config import ClusterConfig
from objstore.middleware.gatekeeper import filter_factory

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


def _recording_app(seen):
    def app(env, start):
        seen.update({k: v for k, v in env.items() if k.startswith("HTTP_")})
        start("200 OK", [("Content-Length", "0"),
                         ("X-Account-Sysmeta-Core-Access-Control", "{}"),
                         ("X-Container-Sysmeta-Versions", "c"),
                         ("X-Object-Transient-Sysmeta-Crypto", "k"),
                         ("X-Backend-Timestamp", "1"),
                         ("X-Object-Meta-Color", "blue"),
                         ("X-Timestamp", "1.00000")])
        return [b""]
    return app


def test_client_cannot_send_private_headers():
    seen = {}
    app = filter_factory(CLUSTER, {})(_recording_app(seen))
    req = webob.Request.blank("/v1/AUTH_a/c/o", headers={
        "X-Account-Sysmeta-Core-Access-Control": '{"admin":["evil"]}',
        "X-Container-Sysmeta-Foo": "x",
        "X-Object-Sysmeta-Slo-Etag": "x",
        "X-Object-Transient-Sysmeta-Foo": "x",
        "X-Backend-Storage-Policy-Index": "7",
        "X-Object-Meta-Color": "blue",
        "X-Auth-Token": "t"})
    resp = req.get_response(app)
    assert resp.status_int == 200
    assert set(seen) - {"HTTP_HOST"} == {"HTTP_X_OBJECT_META_COLOR", "HTTP_X_AUTH_TOKEN"}


def test_client_never_sees_private_headers():
    app = filter_factory(CLUSTER, {})(_recording_app({}))
    resp = webob.Request.blank("/v1/AUTH_a/c/o").get_response(app)
    names = {k.lower() for k in resp.headers}
    assert "x-object-meta-color" in names and "x-timestamp" in names
    assert not [n for n in names if "sysmeta" in n or n.startswith("x-backend")]


@pytest.mark.parametrize("sent, forwarded", [
    ("text/plain;swift_bytes=100000", "text/plain"),
    ("text/plain; charset=utf-8; swift_bytes=5", "text/plain; charset=utf-8"),
    ("text/plain; SWIFT_BYTES=abc; q=1", "text/plain; q=1"),
    ("application/json", "application/json"),
])
def test_client_cannot_send_swift_bytes(sent, forwarded):
    seen = {}

    def app(env, start):
        seen["type"] = env.get("CONTENT_TYPE")
        start("200 OK", [("Content-Length", "0")])
        return [b""]

    req = webob.Request.blank("/v1/AUTH_a/c/o", method="PUT", headers={"Content-Type": sent})
    assert req.get_response(filter_factory(CLUSTER, {})(app)).status_int == 200
    assert seen["type"] == forwarded
