"""container_quotas and account_quotas in front of a stand-in proxy with known totals."""
import pytest
from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.storage_policy import PolicyCollection, StoragePolicy
from objstore.middleware import account_quotas, container_quotas

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


class FakeProxy:
    """Account/container HEADs from the dicts below; object PUTs succeed; writes recorded."""

    def __init__(self):
        self.container = {"X-Container-Object-Count": "2", "X-Container-Bytes-Used": "100"}
        self.account = {"X-Account-Object-Count": "5", "X-Account-Bytes-Used": "1000"}
        self.writes = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        depth = len(req.path_info.rstrip("/").split("/")) - 2
        if req.method in ("HEAD", "GET"):
            resp = Response(status=204)
            resp.headers.update(self.account if depth == 1 else self.container)
        else:
            self.writes.append((req.method, req.path_info, dict(req.headers)))
            resp = Response(status=201 if req.method == "PUT" else 204)
            if depth == 1:
                resp.headers.update({k: v for k, v in req.headers.items()
                                     if k.lower().startswith("x-account-sysmeta-")})
        return resp(environ, start_response)


@pytest.fixture
def proxy():
    return FakeProxy()


def put(app, path, body=b"", environ=None, **headers):
    req = Request.blank(path, method="PUT", body=body, environ=environ or {},
                        headers={k.replace("_", "-"): v for k, v in headers.items()})
    return req.get_response(app)


def post(app, path, environ=None, **headers):
    req = Request.blank(path, method="POST", environ=environ or {},
                        headers={k.replace("_", "-"): v for k, v in headers.items()})
    return req.get_response(app)


# -- container quotas ----------------------------------------------------------------

@pytest.fixture
def cq(proxy, cluster):
    return container_quotas.filter_factory(cluster, {})(proxy)


def test_container_bytes_quota(proxy, cq):
    proxy.container["X-Container-Meta-Quota-Bytes"] = "110"
    assert put(cq, "/v1/AUTH_a/c/o", b"x" * 10).status_int == 201
    refused = put(cq, "/v1/AUTH_a/c/o", b"x" * 11)
    assert refused.status_int == 413
    assert refused.body == b"Upload exceeds quota."
    assert len(proxy.writes) == 1


def test_container_count_quota(proxy, cq):
    proxy.container["X-Container-Meta-Quota-Count"] = "3"
    assert put(cq, "/v1/AUTH_a/c/o", b"x").status_int == 201
    proxy.container["X-Container-Object-Count"] = "3"
    assert put(cq, "/v1/AUTH_a/c/o2", b"").status_int == 413


def test_container_quota_ignores_non_numbers_stored_and_other_verbs(proxy, cq):
    proxy.container["X-Container-Meta-Quota-Bytes"] = "lots"
    assert put(cq, "/v1/AUTH_a/c/o", b"x" * 1000).status_int == 201
    proxy.container["X-Container-Meta-Quota-Bytes"] = "0"
    assert post(cq, "/v1/AUTH_a/c/o").status_int == 204


def test_container_quota_set_must_be_a_number(proxy, cq):
    for header in ("X-Container-Meta-Quota-Bytes", "X-Container-Meta-Quota-Count"):
        for method in (put, post):
            resp = method(cq, "/v1/AUTH_a/c", **{header: "-1"})
            assert resp.status_int == 400, (header, method)
            assert b"quota" in resp.body
        assert post(cq, "/v1/AUTH_a/c", **{header: "12"}).status_int == 204
        assert post(cq, "/v1/AUTH_a/c", **{header: ""}).status_int == 204  # removes it


def test_container_quota_says_401_to_who_could_not_write(proxy, cq):
    proxy.container["X-Container-Meta-Quota-Bytes"] = "0"
    proxy.container["X-Container-Write"] = "AUTH_a:friend"
    seen = []

    def authorize(req):
        seen.append(req.acl)
        return None if req.remote_user == "AUTH_a:friend" else Response(status=401)
    stranger = put(cq, "/v1/AUTH_a/c/o", b"x", environ={"swift.authorize": authorize})
    assert stranger.status_int == 401
    friend = put(cq, "/v1/AUTH_a/c/o", b"x", environ={"swift.authorize": authorize,
                                                       "REMOTE_USER": "AUTH_a:friend"})
    assert friend.status_int == 413
    assert seen == ["AUTH_a:friend", "AUTH_a:friend"]


def test_container_quota_missing_container_is_left_to_the_proxy(proxy, cq):
    def missing(environ, start_response):
        if environ["REQUEST_METHOD"] == "HEAD" and environ["PATH_INFO"].count("/") == 3:
            return Response(status=404)(environ, start_response)
        return proxy(environ, start_response)
    app = container_quotas.filter_factory(CLUSTER, {})(missing)
    assert put(app, "/v1/AUTH_a/nope/o", b"x").status_int == 201


def test_container_quotas_registers_in_info(cluster):
    container_quotas.filter_factory(cluster, {})
    assert "container_quotas" in cluster.capabilities.as_info()


# -- account quotas ----------------------------------------------------------------

RESELLER = {"reseller_request": True}


@pytest.fixture
def aq(proxy, cluster):
    return account_quotas.filter_factory(cluster, {})(proxy)


def test_only_a_reseller_sets_account_quotas(proxy, aq):
    for header in ("X-Account-Meta-Quota-Bytes", "X-Account-Quota-Bytes",
                   "X-Account-Quota-Count", "X-Remove-Account-Quota-Bytes"):
        assert post(aq, "/v1/AUTH_a", **{header: "10"}).status_int == 403, header
    assert proxy.writes == []
    assert post(aq, "/v1/AUTH_a", X_Account_Meta_Color="blue").status_int == 204


def test_reseller_sets_and_removes_quotas_as_sysmeta(proxy, aq):
    resp = post(aq, "/v1/AUTH_a", environ=RESELLER, X_Account_Meta_Quota_Bytes="500",
                X_Account_Quota_Count="7")
    assert resp.status_int == 204
    sent = proxy.writes[-1][2]
    assert sent["X-Account-Sysmeta-Quota-Bytes"] == "500"
    assert sent["X-Account-Sysmeta-Quota-Count"] == "7"
    assert resp.headers["X-Account-Quota-Bytes"] == "500"
    post(aq, "/v1/AUTH_a", environ=RESELLER, X_Remove_Account_Quota_Bytes="yes",
         X_Account_Quota_Bytes="9")
    assert proxy.writes[-1][2]["X-Account-Sysmeta-Quota-Bytes"] == ""
    assert post(aq, "/v1/AUTH_a", environ=RESELLER,
                X_Account_Quota_Bytes="ten").status_int == 400


def test_account_users_see_their_quota(proxy, aq):
    proxy.account["X-Account-Sysmeta-Quota-Bytes"] = "2000"
    resp = Request.blank("/v1/AUTH_a", method="HEAD").get_response(aq)
    assert resp.headers["X-Account-Quota-Bytes"] == "2000"


def test_account_bytes_quota(proxy, aq):
    proxy.account["X-Account-Sysmeta-Quota-Bytes"] = "1010"
    assert put(aq, "/v1/AUTH_a/c/o", b"x" * 10).status_int == 201
    assert put(aq, "/v1/AUTH_a/c/o", b"x" * 11).status_int == 413
    # the reseller is never limited
    assert put(aq, "/v1/AUTH_a/c/o", b"x" * 11, environ=RESELLER).status_int == 201


def test_account_legacy_meta_quota_still_counts(proxy, aq):
    proxy.account["X-Account-Meta-Quota-Bytes"] = "1000"
    assert put(aq, "/v1/AUTH_a/c/o", b"x").status_int == 413
    assert put(aq, "/v1/AUTH_a/c/o", b"").status_int == 201


def test_account_count_quota(proxy, aq):
    proxy.account["X-Account-Sysmeta-Quota-Count"] = "5"
    assert put(aq, "/v1/AUTH_a/c/o", b"").status_int == 413
    assert post(aq, "/v1/AUTH_a/c/o").status_int == 204


def test_account_quota_says_403_to_who_could_not_write(proxy, aq):
    proxy.account["X-Account-Sysmeta-Quota-Bytes"] = "0"

    def authorize(req):
        return Response(status=403)
    resp = put(aq, "/v1/AUTH_a/c/o", b"x", environ={"swift.authorize": authorize})
    assert resp.status_int == 403


def test_account_quotas_registers_in_info(cluster):
    account_quotas.filter_factory(cluster, {})
    assert "account_quotas" in cluster.capabilities.as_info()


@pytest.fixture
def gold_and_silver(proxy):
    """The account quotas filter of a cluster with two policies."""
    two_policies = ClusterConfig.build("test-prefix", "test-suffix", policies=PolicyCollection([
        StoragePolicy(index=0, name="gold", default=True), StoragePolicy(index=1, name="silver")]))
    return account_quotas.filter_factory(two_policies, {})(proxy)


def test_per_policy_quotas_are_set_by_name_and_kept_by_index(proxy, gold_and_silver):
    aq = gold_and_silver
    assert post(aq, "/v1/AUTH_a", X_Account_Quota_Bytes_Policy_silver="5").status_int == 403
    resp = post(aq, "/v1/AUTH_a", environ=RESELLER, X_Account_Quota_Bytes_Policy_Silver="5",
                X_Account_Quota_Count_Policy_gold="2")
    assert resp.status_int == 204
    sent = proxy.writes[-1][2]
    assert sent["X-Account-Sysmeta-Quota-Bytes-Policy-1"] == "5"
    assert sent["X-Account-Sysmeta-Quota-Count-Policy-0"] == "2"
    assert resp.headers["X-Account-Quota-Bytes-Policy-silver"] == "5"


def test_per_policy_bytes_quota_counts_only_that_policy(proxy, gold_and_silver):
    aq = gold_and_silver
    proxy.account.update({"X-Account-Sysmeta-Quota-Bytes-Policy-1": "60",
                          "X-Account-Storage-Policy-silver-Bytes-Used": "50",
                          "X-Account-Storage-Policy-gold-Bytes-Used": "950"})
    proxy.container["X-Backend-Storage-Policy-Index"] = "1"
    assert put(aq, "/v1/AUTH_a/c/o", b"x" * 10).status_int == 201
    refused = put(aq, "/v1/AUTH_a/c/o", b"x" * 11)
    assert refused.status_int == 413
    proxy.container["X-Backend-Storage-Policy-Index"] = "0"
    assert put(aq, "/v1/AUTH_a/c/o", b"x" * 11).status_int == 201  # gold has no quota


def test_per_policy_count_quota(proxy, gold_and_silver):
    aq = gold_and_silver
    proxy.account.update({"X-Account-Sysmeta-Quota-Count-Policy-0": "3",
                          "X-Account-Storage-Policy-gold-Object-Count": "3"})
    assert put(aq, "/v1/AUTH_a/c/o", b"").status_int == 413
