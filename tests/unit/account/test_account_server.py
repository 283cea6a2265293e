"""Account server verbs and error codes, in process."""
import json
from xml.dom import minidom

import pytest
from webob import Request

from objstore.account.server import app_factory
from objstore.common.cluster_config import ClusterConfig
from objstore.common.storage_policy import PolicyCollection, StoragePolicy
from objstore.common.timestamp import Timestamp

BASE = "/sda/2/AUTH_test"
CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


@pytest.fixture
def app(tmp_path):
    (tmp_path / "sda").mkdir()
    return app_factory(CLUSTER, {"devices": str(tmp_path)}, mount_check="false")


def call(app, path, method="GET", headers=None):
    return Request.blank(path, method=method, headers=headers or {}).get_response(app)


def ts(value):
    return Timestamp(value).internal


def report(app, container, put=1001, delete=0, count=0, used=0, policy=0, extra=None):
    headers = {"X-Put-Timestamp": ts(put), "X-Delete-Timestamp": ts(delete),
               "X-Object-Count": str(count), "X-Bytes-Used": str(used),
               "X-Backend-Storage-Policy-Index": str(policy)}
    headers.update(extra or {})
    return call(app, "%s/%s" % (BASE, container), "PUT", headers)


def test_put_head_get(app):
    assert call(app, BASE, "HEAD").status_int == 404
    assert call(app, BASE, "PUT", {"X-Timestamp": ts(1000)}).status_int == 201
    assert call(app, BASE, "PUT", {"X-Timestamp": ts(1001)}).status_int == 202
    resp = call(app, BASE, "HEAD")
    assert resp.status_int == 204
    assert resp.headers["X-Account-Container-Count"] == "0"
    assert resp.headers["X-Account-Object-Count"] == "0"
    assert resp.headers["X-Account-Bytes-Used"] == "0"
    assert resp.headers["X-PUT-Timestamp"] == Timestamp(1001).normal
    assert call(app, BASE).status_int == 204


def _two_policy_app(tmp_path):
    (tmp_path / "sda").mkdir(exist_ok=True)
    two_policies = ClusterConfig.build("test-prefix", "test-suffix", policies=PolicyCollection([
        StoragePolicy(index=0, name="gold", default=True), StoragePolicy(index=1, name="ec")]))
    return app_factory(two_policies, {"devices": str(tmp_path)}, mount_check="false")


def test_container_reports_and_totals(tmp_path):
    app = _two_policy_app(tmp_path)
    assert report(app, "c1").status_int == 404          # no account yet
    call(app, BASE, "PUT", {"X-Timestamp": ts(1000)})
    assert report(app, "c1", count=2, used=20).status_int == 201
    assert report(app, "c2", count=3, used=7, policy=1).status_int == 201
    resp = call(app, BASE, "HEAD")
    assert resp.headers["X-Account-Container-Count"] == "2"
    assert resp.headers["X-Account-Object-Count"] == "5"
    assert resp.headers["X-Account-Bytes-Used"] == "27"
    assert resp.headers["X-Account-Storage-Policy-Gold-Object-Count"] == "2"
    assert resp.headers["X-Account-Storage-Policy-Ec-Bytes-Used"] == "7"
    assert resp.headers["X-Account-Storage-Policy-Ec-Container-Count"] == "1"
    assert report(app, "c1", put=1001, delete=1002).status_int == 204
    assert call(app, BASE, "HEAD").headers["X-Account-Container-Count"] == "1"
    resp = call(app, BASE + "?format=json")
    assert json.loads(resp.body) == [{"name": "c2", "count": 3, "bytes": 7,
                                      "last_modified": Timestamp(1001).iso8601,
                                      "storage_policy": "ec"}]
    doc = minidom.parseString(call(app, BASE + "?format=xml").body).documentElement
    assert doc.tagName == "account" and doc.getAttribute("name") == "AUTH_test"
    assert doc.getElementsByTagName("count")[0].firstChild.data == "3"
    assert doc.getElementsByTagName("storage_policy")[0].firstChild.data == "ec"
    assert call(app, BASE).body == b"c2\n"


def test_bad_reports(app):
    call(app, BASE, "PUT", {"X-Timestamp": ts(1000)})
    assert call(app, BASE + "/c", "PUT", {}).status_int == 400
    assert report(app, "c", extra={"X-Object-Count": "many"}).status_int == 400
    assert report(app, "c", extra={"X-Delete-Timestamp": "soon"}).status_int == 400
    assert report(app, "c", extra={"X-Backend-Storage-Policy-Index": "x"}).status_int == 400
    assert report(app, "c", extra={"X-Bytes-Used": str(1 << 64)}).status_int == 400
    assert call(app, BASE + "/c", "DELETE", {"X-Timestamp": ts(1)}).status_int == 400


def test_delete_account(app):
    assert call(app, BASE, "DELETE", {"X-Timestamp": ts(1)}).status_int == 404
    call(app, BASE, "PUT", {"X-Timestamp": ts(1000)})
    report(app, "c", count=1, used=1)
    assert call(app, BASE, "DELETE").status_int == 400
    assert call(app, BASE, "DELETE", {"X-Timestamp": ts(1001)}).status_int == 204
    resp = call(app, BASE, "HEAD")
    assert resp.status_int == 404 and resp.headers["X-Account-Status"] == "Deleted"
    assert call(app, BASE, "GET").status_int == 404
    assert call(app, BASE, "POST", {"X-Timestamp": ts(1002)}).status_int == 404
    assert report(app, "c2").status_int == 404
    assert report(app, "c2", extra={"X-Account-Override-Deleted": "yes"}).status_int == 201
    assert call(app, BASE, "PUT", {"X-Timestamp": ts(1003)}).status_int == 403


def test_metadata(app):
    call(app, BASE, "PUT", {"X-Timestamp": ts(1000), "X-Account-Meta-Temp-Url-Key": "k",
                            "X-Account-Sysmeta-Quota": "9", "X-Other": "no"})
    resp = call(app, BASE, "HEAD")
    assert resp.headers["X-Account-Meta-Temp-Url-Key"] == "k"
    assert resp.headers["X-Account-Sysmeta-Quota"] == "9"
    assert "X-Other" not in resp.headers
    assert call(app, BASE, "POST", {"X-Timestamp": ts(1001),
                                    "X-Account-Meta-Temp-Url-Key": ""}).status_int == 204
    assert "X-Account-Meta-Temp-Url-Key" not in call(app, BASE, "HEAD").headers
    bad = {"X-Timestamp": ts(1002), "X-Account-Meta-" + "n" * 200: "v"}
    assert call(app, BASE, "POST", bad).status_int == 400


def test_listing_params(app):
    call(app, BASE, "PUT", {"X-Timestamp": ts(1000)})
    for name in ["a", "b-1", "b-2", "c"]:
        report(app, name)
    assert call(app, BASE + "?delimiter=-").body == b"a\nb-\nc\n"
    assert call(app, BASE + "?reverse=true&limit=1").body == b"c\n"
    assert call(app, BASE + "?limit=10001").status_int == 412
    # a limit that is not all digits is ignored: the default applies
    assert call(app, BASE + "?limit=x").body == b"a\nb-1\nb-2\nc\n"
    assert call(app, BASE + "?limit=-1").body == b"a\nb-1\nb-2\nc\n"
    assert call(app, BASE + "?delimiter=-2").body == b"a\nb-1\nb-2\nc\n"
    assert call(app, BASE + "?prefix=%FF").status_int == 400
    assert call(app, "/sda/x/AUTH_test").status_int == 400
    assert call(app, "/nodev/2/AUTH_test").status_int == 507
