"""Container and account quotas on a real cluster: PUT, copy, SLO and DLO segments.

The proxy checks uploads against its cached container/account totals (as
Swift does); a HEAD refreshes that cache, so each test HEADs before the
upload that should cross the line.  Account totals come from the container
updaters, so account tests run one daemon pass first.
"""
import json

import pytest
from swiftclient import client as swift_client
from swiftclient.exceptions import ClientException


def refused(call, *args, **kwargs):
    with pytest.raises(ClientException) as caught:
        call(*args, **kwargs)
    return caught.value.http_status, caught.value.http_response_content


def quota_container(conn, unique, **quotas):
    container = unique("quota")
    conn.put_container(container, headers={"X-Container-Meta-Quota-%s" % k.title(): str(v)
                                           for k, v in quotas.items()})
    return container


# -- container quotas ----------------------------------------------------------------

def test_container_bytes_quota_refuses_the_put_that_crosses_it(conn, unique):
    container = quota_container(conn, unique, bytes=10)
    conn.put_object(container, "a", b"12345678")
    conn.head_container(container)
    status, body = refused(conn.put_object, container, "b", b"123")
    assert status == 413 and body == b"Upload exceeds quota."
    conn.put_object(container, "b", b"12")  # exactly at the quota is fine
    assert [o["name"] for o in conn.get_container(container)[1]] == ["a", "b"]


def test_container_count_quota(conn, unique):
    container = quota_container(conn, unique, count=2)
    conn.put_object(container, "a", b"")
    conn.put_object(container, "b", b"")
    conn.head_container(container)
    assert refused(conn.put_object, container, "c", b"")[0] == 413
    conn.post_container(container, {"X-Container-Meta-Quota-Count": "3"})
    conn.put_object(container, "c", b"")


def test_copy_into_a_full_container_is_refused(conn, unique):
    source = unique("src")
    conn.put_container(source)
    conn.put_object(source, "big", b"x" * 8)
    container = quota_container(conn, unique, bytes=10)
    conn.put_object(container, "small", b"x" * 5)
    conn.head_container(container)
    # PUT with X-Copy-From and COPY both count the source's length
    assert refused(conn.put_object, container, "copy", b"",
                   headers={"X-Copy-From": "/%s/big" % source})[0] == 413
    assert refused(conn.copy_object, source, "big", "/%s/copy" % container)[0] == 413
    conn.copy_object(source, "big", "/%s/copy" % source)  # no quota there
    assert "copy" not in [o["name"] for o in conn.get_container(container)[1]]


def test_setting_a_quota_that_is_not_a_number_is_400(conn, unique):
    container = unique("quota")
    for header in ("X-Container-Meta-Quota-Bytes", "X-Container-Meta-Quota-Count"):
        assert refused(conn.put_container, container, headers={header: "ten"})[0] == 400
    conn.put_container(container)
    assert refused(conn.post_container, container, {"X-Container-Meta-Quota-Bytes": "-1"}
                   )[0] == 400
    assert "x-container-meta-quota-bytes" not in conn.head_container(container)


def test_slo_segments_count_where_they_are_uploaded(conn, unique):
    """Each segment is an object of its container; the manifest one more of its own."""
    segments = quota_container(conn, unique, bytes=10)
    conn.put_object(segments, "1", b"x" * 5)
    conn.put_object(segments, "2", b"x" * 5)
    conn.head_container(segments)
    assert refused(conn.put_object, segments, "3", b"x")[0] == 413
    manifests = quota_container(conn, unique, count=1)
    manifest = json.dumps([{"path": "/%s/%d" % (segments, i)} for i in (1, 2)])
    conn.put_object(manifests, "slo", manifest, query_string="multipart-manifest=put")
    assert conn.head_object(manifests, "slo")["content-length"] == "10"
    conn.head_container(manifests)
    assert refused(conn.put_object, manifests, "slo2", manifest,
                   query_string="multipart-manifest=put")[0] == 413


def test_slo_manifest_counts_its_own_bytes(conn, unique):
    segments = unique("segs")
    conn.put_container(segments)
    conn.put_object(segments, "1", b"x" * 100)
    manifest = json.dumps([{"path": "/%s/1" % segments}])
    tight = quota_container(conn, unique, bytes=len(manifest) - 1)
    assert refused(conn.put_object, tight, "slo", manifest,
                   query_string="multipart-manifest=put")[0] == 413
    roomy = quota_container(conn, unique, bytes=len(manifest) + 10)
    conn.put_object(roomy, "slo", manifest, query_string="multipart-manifest=put")
    assert conn.head_object(roomy, "slo")["content-length"] == "100"


def test_dlo_segments_and_manifest_count_one_by_one(conn, unique):
    container = quota_container(conn, unique, count=3, bytes=8)
    conn.put_object(container, "seg/1", b"x" * 4)
    conn.put_object(container, "seg/2", b"x" * 4)
    conn.head_container(container)
    assert refused(conn.put_object, container, "seg/3", b"x")[0] == 413
    conn.put_object(container, "dlo", b"",
                    headers={"X-Object-Manifest": "%s/seg/" % container})
    assert conn.get_object(container, "dlo")[1] == b"x" * 8
    conn.head_container(container)
    assert refused(conn.put_object, container, "dlo2", b"",
                   headers={"X-Object-Manifest": "%s/seg/" % container})[0] == 413


def test_stranger_learns_nothing_from_a_full_container(conn, connect, unique):
    container = quota_container(conn, unique, bytes=0)
    url, _ = conn.get_auth()
    _, token3 = connect("test:tester3").get_auth()
    assert refused(swift_client.put_object, url, token3, container, "o", b"x")[0] == 403
    conn.post_container(container, {"X-Container-Write": "test:tester3"})
    assert refused(swift_client.put_object, url, token3, container, "o", b"x")[0] == 413


# -- account quotas ------------------------------------------------------------------

@pytest.fixture
def test2_account(cluster, connect):
    """test2's connection and the reseller's token; every quota removed afterwards."""
    owner, reseller = connect("test2:tester2"), connect("admin:admin")
    url, _ = owner.get_auth()
    _, reseller_token = reseller.get_auth()
    yield owner, url, reseller_token
    swift_client.post_account(url, reseller_token, {"X-Account-Meta-Quota-Bytes": "",
                                                    "X-Account-Quota-Count": "",
                                                    "X-Account-Quota-Bytes-Policy-silver": ""})


def test_only_the_reseller_sets_an_account_quota(swift, test2_account):
    owner, url, reseller_token = test2_account
    for header in ("X-Account-Meta-Quota-Bytes", "X-Account-Quota-Bytes"):
        assert refused(owner.post_account, {header: "100"})[0] == 403
    assert "x-account-meta-quota-bytes" not in owner.head_account()
    swift("--os-storage-url", url, "post", "-m", "quota-bytes:12345", user="admin:admin")
    headers = owner.head_account()
    assert headers["x-account-meta-quota-bytes"] == "12345"
    assert headers["x-account-quota-bytes"] == "12345"
    assert refused(swift_client.post_account, url, reseller_token,
                   {"X-Account-Quota-Bytes": "lots"})[0] == 400


def test_account_bytes_quota_refuses_puts_and_copies(test2_account, unique, settle_usage):
    owner, url, reseller_token = test2_account
    container = unique("aq")
    owner.put_container(container)
    owner.put_object(container, "src", b"x" * 20)
    settle_usage()  # the account learns its totals
    used = int(owner.head_account()["x-account-bytes-used"])
    swift_client.post_account(url, reseller_token, {"X-Account-Meta-Quota-Bytes": str(used + 10)})
    status, body = refused(owner.put_object, container, "big", b"x" * 11)
    assert status == 413 and body == b"Upload exceeds quota."
    assert refused(owner.copy_object, container, "src", "/%s/copy" % container)[0] == 413
    assert refused(owner.put_object, container, "copy", b"",
                   headers={"X-Copy-From": "/%s/src" % container})[0] == 413
    owner.put_object(container, "fits", b"x" * 10)
    # the reseller's own uploads are not limited
    swift_client.put_object(url, reseller_token, container, "reseller", b"x" * 50)
    swift_client.post_account(url, reseller_token, {"X-Account-Meta-Quota-Bytes": ""})
    owner.put_object(container, "big", b"x" * 11)


def test_account_count_quota(test2_account, unique, settle_usage):
    owner, url, reseller_token = test2_account
    container = unique("aq")
    owner.put_container(container)
    owner.put_object(container, "one", b"")
    settle_usage()
    count = int(owner.head_account()["x-account-object-count"])
    swift_client.post_account(url, reseller_token, {"X-Account-Quota-Count": str(count)})
    assert owner.head_account()["x-account-quota-count"] == str(count)
    assert refused(owner.put_object, container, "two", b"")[0] == 413


def test_per_policy_quota_counts_only_that_policy(test2_account, unique, settle_usage):
    owner, url, reseller_token = test2_account
    silver, gold = unique("silver"), unique("gold")
    owner.put_container(silver, headers={"X-Storage-Policy": "silver"})
    owner.put_container(gold)
    owner.put_object(silver, "one", b"x" * 10)
    settle_usage()
    used = int(owner.head_account().get("x-account-storage-policy-silver-bytes-used", 0))
    assert used >= 10
    assert refused(owner.post_account, {"X-Account-Quota-Bytes-Policy-silver": "1"})[0] == 403
    swift_client.post_account(url, reseller_token,
                              {"X-Account-Quota-Bytes-Policy-silver": str(used + 5)})
    assert owner.head_account()["x-account-quota-bytes-policy-silver"] == str(used + 5)
    assert refused(owner.put_object, silver, "two", b"x" * 6)[0] == 413
    owner.put_object(silver, "two", b"x" * 5)
    owner.put_object(gold, "big", b"x" * 100)  # gold has no quota


def test_quota_middlewares_are_in_info(conn):
    info = conn.get_capabilities()
    assert "container_quotas" in info and "account_quotas" in info
