"""A proxy pipeline built from its config file hands the proxy's info cache to
the filters from the entrance, so a filter asking about a container the proxy
already knows sends no sub-request down the pipeline."""
from webob import Request

from objstore.common.pipeline import load_app

INFO_REQUESTS = []


def recorder_factory(cluster, global_conf, **local_conf):
    """Sits right above the proxy: notes every info sub-request that gets there."""
    def make(app):
        def record(environ, start_response):
            if environ.get("swift.source") == "INFO":
                INFO_REQUESTS.append(environ["PATH_INFO"])
            return app(environ, start_response)
        return record
    return make


def test_a_warm_cache_answers_filters_without_sub_requests(cluster, tmp_path):
    conf = tmp_path / "proxy-server.conf"
    conf.write_text(
        "[DEFAULT]\nswift_dir = %s\n\n[pipeline:main]\npipeline = quotas rec proxy\n\n"
        "[filter:quotas]\nuse = call:objstore.middleware.container_quotas:filter_factory\n\n"
        "[filter:rec]\nuse = call:%s:recorder_factory\n\n"
        "[app:proxy]\nuse = call:objstore.proxy.server:app_factory\nnode_timeout = 3\n"
        "account_autocreate = true\n" % (cluster.swift_dir, __name__))
    app = load_app(str(conf), cluster.config)
    assert Request.blank("/v1/AUTH_warm/c", method="PUT").get_response(app).status_int == 201
    assert Request.blank("/v1/AUTH_warm/c/o1", method="PUT",
                         body=b"1").get_response(app).status_int == 201
    INFO_REQUESTS.clear()
    for name in ("o2", "o3"):
        resp = Request.blank("/v1/AUTH_warm/c/" + name, method="PUT",
                             body=b"22").get_response(app)
        assert resp.status_int == 201
    assert INFO_REQUESTS == []
    # the quota filter still acts on what the cache says
    assert Request.blank("/v1/AUTH_warm/c", method="POST", headers={
        "X-Container-Meta-Quota-Count": "3"}).get_response(app).status_int == 204
    resp = Request.blank("/v1/AUTH_warm/c/o4", method="PUT", body=b"4").get_response(app)
    assert resp.status_int == 413
