"""Which object controller strategy and ring serve a container's storage policy."""
import json

import pytest
from webob import Request

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError
from objstore.common.storage_policy import (ERASURE_CODING, PolicyCollection,
                                            StoragePolicy)
from objstore.proxy.controllers.obj import (BaseObjectController, ObjectControllerRouter,
                                            ReplicatedObjectController)
from objstore.proxy.controllers.obj.router import UnknownPolicy
from objstore.proxy.server import ProxyApp
from objstore.proxy.settings import ProxyConfig

ACCOUNT = "AUTH_test"


def _policies():
    return PolicyCollection([
        StoragePolicy(index=0, name="gold", default=True),
        StoragePolicy(index=1, name="silver", aliases=("cheap",)),
        StoragePolicy(index=2, name="bronze", deprecated=True)])


def _cluster(policies):
    return ClusterConfig.build("test-prefix", "test-suffix", policies=policies)


@pytest.fixture
def policy_cluster(make_cluster):
    return make_cluster(_cluster(_policies()), policy_replicas={1: 2, 2: 1})


def call(app, path, method="GET", body=None, headers=None):
    kwargs = {"method": method, "headers": headers or {}}
    if body is not None:
        kwargs["body"] = body
    return Request.blank(path, **kwargs).get_response(app)


# -- the router on its own ------------------------------------------------------

def test_router_picks_the_replicated_strategy_by_the_container_policy():
    router = ObjectControllerRouter(_policies())
    assert router.policy_for({"storage_policy": "1"}).name == "silver"
    assert router.policy_for({"storage_policy": "0"}).name == "gold"
    assert router.policy_for({}).index == 0            # info without a policy: policy 0
    for index in (0, 1, 2):
        policy = router.policies.get_by_index(index)
        assert router.strategy(policy) is ReplicatedObjectController
    with pytest.raises(UnknownPolicy):
        router.policy_for({"storage_policy": "9"})


def test_a_policy_type_without_a_strategy_stops_the_proxy_at_start():
    with_ec = PolicyCollection([StoragePolicy(index=0, name="gold", default=True),
                                StoragePolicy(index=1, name="ec", policy_type=ERASURE_CODING)])
    with pytest.raises(ConfigError, match="erasure_coding"):
        ObjectControllerRouter(with_ec)

    class Fragments(BaseObjectController):
        def read_object(self, req):
            raise NotImplementedError

        def store_object(self, req, headers_list, length, timestamp):
            raise NotImplementedError

    router = ObjectControllerRouter(with_ec, {"replication": ReplicatedObjectController,
                                              ERASURE_CODING: Fragments})
    assert router.strategy(with_ec.get_by_index(1)) is Fragments


def test_proxy_refuses_to_start_with_an_unsupported_policy_type(policy_cluster):
    with_ec = PolicyCollection([StoragePolicy(index=0, name="gold", default=True),
                                StoragePolicy(index=1, name="ec", policy_type=ERASURE_CODING)])
    conf = ProxyConfig.from_section({"swift_dir": policy_cluster.swift_dir})
    with pytest.raises(ConfigError):
        ProxyApp(_cluster(with_ec), conf)


# -- through the proxy, against real storage servers --------------------------

def test_objects_go_to_their_policy_ring_and_directory(policy_cluster):
    app = policy_cluster.proxy
    assert call(app, "/v1/%s/s" % ACCOUNT, "PUT",
                headers={"X-Storage-Policy": "cheap"}).status_int == 201
    assert call(app, "/v1/%s/g" % ACCOUNT, "PUT").status_int == 201
    assert call(app, "/v1/%s/s" % ACCOUNT, "HEAD").headers["X-Storage-Policy"] == "silver"
    for container in ("s", "g"):
        resp = call(app, "/v1/%s/%s/o" % (ACCOUNT, container), "PUT", b"body",
                    {"Content-Type": "text/plain"})
        assert resp.status_int == 201, policy_cluster.log.text()
        assert call(app, "/v1/%s/%s/o" % (ACCOUNT, container)).body == b"body"
    silver = sum(len(node.object_files("objects-1")) for node in policy_cluster.nodes)
    gold = sum(len(node.object_files("objects")) for node in policy_cluster.nodes)
    assert (silver, gold) == (2, 3)
    puts = [(path, headers) for node in policy_cluster.nodes
            for method, path, headers in node.object.requests if method == "PUT"]
    assert sorted(h["X-Backend-Storage-Policy-Index"] for p, h in puts if "/s/o" in p) == \
        ["1", "1"]
    assert call(app, "/v1/%s/s/o" % ACCOUNT, "DELETE").status_int == 204
    assert call(app, "/v1/%s/s/o" % ACCOUNT).status_int == 404


def test_container_policy_headers(policy_cluster):
    app = policy_cluster.proxy
    assert call(app, "/v1/%s/a" % ACCOUNT, "PUT",
                headers={"X-Storage-Policy": ""}).status_int == 201
    assert call(app, "/v1/%s/a" % ACCOUNT).headers["X-Storage-Policy"] == "gold"
    resp = call(app, "/v1/%s/b" % ACCOUNT, "PUT", headers={"X-Storage-Policy": "bronze"})
    assert resp.status_int == 400 and b"deprecated" in resp.body
    resp = call(app, "/v1/%s/b" % ACCOUNT, "PUT", headers={"X-Storage-Policy": "tin"})
    assert resp.status_int == 400
    assert call(app, "/v1/%s/a" % ACCOUNT, "PUT",
                headers={"X-Storage-Policy": "silver"}).status_int == 409
    assert call(app, "/v1/%s/a" % ACCOUNT, "PUT",
                headers={"X-Storage-Policy": "gold"}).status_int == 202
    info = json.loads(call(app, "/info").body)
    # the deprecated bronze is not offered
    assert info["swift"]["policies"] == [
        {"name": "gold", "aliases": "gold", "default": True},
        {"name": "silver", "aliases": "silver, cheap"}]


def test_a_container_naming_an_unknown_policy_is_503(policy_cluster):
    app = policy_cluster.proxy
    assert call(app, "/v1/%s/s" % ACCOUNT, "PUT",
                headers={"X-Storage-Policy": "silver"}).status_int == 201
    # A proxy whose objstore.conf lacks silver (a config mismatch between hosts).
    conf = ProxyConfig.from_section({"swift_dir": policy_cluster.swift_dir})
    narrow = ProxyApp(_cluster(PolicyCollection([StoragePolicy(index=0, name="gold",
                                                               default=True)])),
                      conf, logger=policy_cluster.logger)
    assert call(narrow, "/v1/%s/s/o" % ACCOUNT).status_int == 503
    assert "unknown storage policy index 1" in policy_cluster.log.text()
