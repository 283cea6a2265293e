"""Two clusters in one process: each sees only its own salt, limits, policies, /info and cache."""
import json

from webob import Request

from objstore.common.cluster_config import ClusterConfig
from objstore.common.constraints import Constraints
from objstore.common.storage_policy import PolicyCollection, StoragePolicy
from objstore.middleware import slo


def req(path, method="GET", **kwargs):
    return Request.blank(path, method=method, **kwargs)


def test_two_clusters_do_not_see_each_others_settings(make_cluster):
    small = make_cluster(ClusterConfig.build(
        "salt-a", "", constraints=Constraints(max_file_size=100),
        policies=PolicyCollection([StoragePolicy(index=0, name="tiny")])))
    large = make_cluster(ClusterConfig.build(
        "", "salt-b", policies=PolicyCollection([StoragePolicy(index=0, name="roomy")])))
    slo_app = slo.filter_factory(large.config, {})(large.proxy)

    # limits: 101 bytes are too many for one cluster only
    for cluster in (small, large):
        assert req("/v1/AUTH_t/c", "PUT").get_response(cluster.proxy).status_int == 201
    too_big = req("/v1/AUTH_t/c/o", "PUT", body=b"x" * 101).get_response(small.proxy)
    assert too_big.status_int == 413
    assert req("/v1/AUTH_t/c/o", "PUT", body=b"x" * 101).get_response(
        large.proxy).status_int == 201

    # /info: each lists its own limits, policies and middleware
    small_info = json.loads(req("/info").get_response(small.proxy).body)
    large_info = json.loads(req("/info").get_response(slo_app).body)
    assert small_info["swift"]["max_file_size"] == 100
    assert large_info["swift"]["max_file_size"] == Constraints().max_file_size
    assert [p["name"] for p in small_info["swift"]["policies"]] == ["tiny"]
    assert [p["name"] for p in large_info["swift"]["policies"]] == ["roomy"]
    assert "slo" in large_info and "slo" not in small_info

    # the salt: one name lands on different partitions, and each proxy finds its own copy
    names = ["o%d" % i for i in range(20)]
    small_ring = small.proxy.object_ring(0)
    large_ring = large.proxy.object_ring(0)
    assert [small_ring.get_part("AUTH_t", "c", n) for n in names] != \
        [large_ring.get_part("AUTH_t", "c", n) for n in names]
    assert req("/v1/AUTH_t/c/o").get_response(small.proxy).status_int == 404
    assert req("/v1/AUTH_t/c/o").get_response(large.proxy).body == b"x" * 101

    # the info cache: a container one proxy knows is unknown to the other
    assert req("/v1/AUTH_t/only-large", "PUT").get_response(large.proxy).status_int == 201
    assert req("/v1/AUTH_t/only-large/o", "PUT", body=b"1").get_response(
        large.proxy).status_int == 201
    assert req("/v1/AUTH_t/only-large/o", "PUT", body=b"1").get_response(
        small.proxy).status_int == 404
