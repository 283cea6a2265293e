"""healthcheck: answers load balancers, can be switched off by a file."""
import webob

from objstore.common.cluster_config import ClusterConfig
from objstore.middleware import healthcheck

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


def inner_app(environ, start_response):
    start_response("201 Created", [("Content-Length", "5")])
    return [b"inner"]


def test_healthcheck_ok():
    app = healthcheck.filter_factory(CLUSTER, {})(inner_app)
    resp = webob.Request.blank("/healthcheck").get_response(app)
    assert resp.status == "200 OK"
    assert resp.body == b"OK"
    head = webob.Request.blank("/healthcheck", method="HEAD").get_response(app)
    assert head.status_int == 200 and head.body == b""


def test_other_paths_pass_through():
    app = healthcheck.filter_factory(CLUSTER, {})(inner_app)
    for path in ("/", "/healthcheck/x", "/v1/AUTH_test", "/healthchecks"):
        resp = webob.Request.blank(path).get_response(app)
        assert resp.status_int == 201 and resp.body == b"inner", path


def test_disable_path(tmp_path):
    flag = tmp_path / "disabled"
    app = healthcheck.filter_factory(CLUSTER, {}, disable_path=str(flag))(inner_app)
    assert webob.Request.blank("/healthcheck").get_response(app).body == b"OK"
    flag.write_text("")
    resp = webob.Request.blank("/healthcheck").get_response(app)
    assert resp.status == "503 DISABLED BY FILE"
    assert resp.body == b"DISABLED BY FILE"
    # Real traffic is still served while the balancer is told to stay away.
    assert webob.Request.blank("/v1/a").get_response(app).status_int == 201
    flag.unlink()
    assert webob.Request.blank("/healthcheck").get_response(app).status_int == 200
