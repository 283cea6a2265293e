"""s3api versioning and ACL pieces in process, against fake Swift apps."""
import json
import xml.etree.ElementTree as ElementTree

import pytest
import webob

from objstore.common.capabilities import Capabilities
from objstore.middleware.s3api import S3ApiMiddleware, acl, versioning, versions_listing
from objstore.middleware.s3api.auth import AuthDetails
from objstore.middleware.s3api.canned_acl import canned_read_acl, check_object_acl
from objstore.middleware.s3api.config import S3ApiConfig
from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.errors import S3Error
from objstore.middleware.s3api.object_versions import requested_marker, requested_version

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
OWNER_GRANT = ('<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
               'xsi:type="CanonicalUser"><ID>test:tester</ID></Grantee>'
               '<Permission>FULL_CONTROL</Permission></Grant>')
PUBLIC_GRANT = ('<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                'xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>'
                '</Grantee><Permission>READ</Permission></Grant>')


class FakeSwift:
    """Records each sub-request; answers with ``responder(method, path, query)``."""

    def __init__(self, responder):
        self.responder = responder
        self.calls = []

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        self.calls.append((req.method, req.path_info, environ["QUERY_STRING"],
                           dict(req.headers)))
        return self.responder(req.method, req.path_info, environ["QUERY_STRING"])(
            environ, start_response)


def s3_request(app, bucket="bkt", key=None, query=None, headers=None, body=b"",
               method="GET"):
    details = AuthDetails(access_key="test:tester", signature="s", string_to_sign=b"",
                          version=4)
    environ = webob.Request.blank("/", method=method, body=body, headers=headers or {}).environ
    return S3Request(app, environ, S3ApiConfig.of({}), details, bucket, key, query or {}, "tx")


def ok(method, path, query):
    return webob.Response(status=204)


def code_of(call):
    with pytest.raises(S3Error) as err:
        call()
    return err.value.code


# -- canned ACLs ---------------------------------------------------------------------

@pytest.mark.parametrize("canned, read_acl", [
    ("private", ""), ("public-read", ".r:*,.rlistings"), ("bucket-owner-full-control", "")])
def test_canned_acls_are_read_acls(canned, read_acl):
    assert canned_read_acl(s3_request(ok, headers={"x-amz-acl": canned})) == read_acl


def test_canned_acls_swift_cannot_express_are_refused():
    assert canned_read_acl(s3_request(ok)) is None
    for canned, code in (("public-read-write", "NotImplemented"),
                         ("authenticated-read", "NotImplemented"),
                         ("everyone", "InvalidArgument")):
        assert code_of(lambda: canned_read_acl(s3_request(
            ok, headers={"x-amz-acl": canned}))) == code
    check_object_acl(s3_request(ok, key="k", headers={"x-amz-acl": "private"}))
    assert code_of(lambda: check_object_acl(s3_request(
        ok, key="k", headers={"x-amz-acl": "public-read"}))) == "NotImplemented"


def policy(*grants):
    return ("<AccessControlPolicy><Owner><ID>test:tester</ID></Owner><AccessControlList>"
            "%s</AccessControlList></AccessControlPolicy>" % "".join(grants)).encode()


def test_put_bucket_acl_policy_sets_the_read_acl():
    for body, read_acl in ((policy(OWNER_GRANT), ""),
                           (policy(OWNER_GRANT, PUBLIC_GRANT), ".r:*,.rlistings")):
        swift = FakeSwift(ok)
        resp = acl.put_bucket_acl(s3_request(swift, body=body, method="PUT"))
        assert resp.status_int == 200
        assert [(m, p, h["X-Container-Read"]) for m, p, _q, h in swift.calls] == \
            [("POST", "/v1/test:tester/bkt", read_acl)]


@pytest.mark.parametrize("body", [
    b"not xml", policy(), b"<Other/>",
    policy(OWNER_GRANT.replace("test:tester", "test:tester3")),
    policy(OWNER_GRANT, PUBLIC_GRANT.replace("READ<", "WRITE<"))])
def test_put_bucket_acl_refuses_what_it_cannot_express(body):
    swift = FakeSwift(ok)
    assert code_of(lambda: acl.put_bucket_acl(s3_request(swift, body=body, method="PUT"))) \
        == "MalformedACLError"
    assert swift.calls == []


def test_get_acl_reads_the_container_acls():
    def bucket(method, path, query):
        return webob.Response(status=204, headers={"X-Container-Read": ".r:*,.rlistings"})
    root = ElementTree.fromstring(acl.get_acl(s3_request(FakeSwift(bucket))).body)
    grants = root.findall("%sAccessControlList/%sGrant" % (NS, NS))
    assert [g.find(NS + "Permission").text for g in grants] == ["FULL_CONTROL", "READ"]
    xsi_type = "{http://www.w3.org/2001/XMLSchema-instance}type"
    assert [g.find(NS + "Grantee").get(xsi_type) for g in grants] == ["CanonicalUser", "Group"]


# -- versioning configuration ----------------------------------------------------------

def test_put_versioning_posts_the_flag():
    for status, flag in (("Enabled", "true"), ("Suspended", "false")):
        swift = FakeSwift(ok)
        body = ("<VersioningConfiguration><Status>%s</Status></VersioningConfiguration>"
                % status).encode()
        assert versioning.put_versioning(s3_request(swift, body=body, method="PUT"),
                                         True).status_int == 200
        assert [(m, h["X-Versions-Enabled"]) for m, _p, _q, h in swift.calls] == \
            [("POST", flag)]


def test_put_versioning_without_object_versioning_is_not_implemented():
    swift = FakeSwift(ok)
    body = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
    assert code_of(lambda: versioning.put_versioning(
        s3_request(swift, body=body, method="PUT"), False)) == "NotImplemented"
    assert swift.calls == []


def test_get_versioning_reads_the_flag():
    for flag, status in (("True", "Enabled"), ("False", "Suspended"), (None, None)):
        headers = {"X-Versions-Enabled": flag} if flag else {}
        swift = FakeSwift(lambda m, p, q: webob.Response(status=204, headers=headers))
        root = ElementTree.fromstring(versioning.get_versioning(s3_request(swift)).body)
        found = root.find(NS + "Status")
        assert (found.text if found is not None else None) == status


def test_versioning_installed_follows_the_pipeline_capabilities():
    conf = S3ApiConfig.of({})
    assert not S3ApiMiddleware(ok, conf).versioning_installed
    capabilities = Capabilities()
    filtered = S3ApiMiddleware(ok, conf, capabilities=capabilities)
    assert not filtered.versioning_installed
    capabilities.register("object_versioning")
    assert filtered.versioning_installed


# -- version ids and the versions listing ----------------------------------------------

def test_version_ids_are_checked():
    assert requested_version(s3_request(ok, query={})) is None
    assert requested_version(s3_request(ok, query={"versionId": "null"})) == "null"
    assert requested_version(s3_request(ok, query={"versionId": "1764556800.12345"})) == \
        "1764556800.12345"
    assert code_of(lambda: requested_version(s3_request(ok, query={"versionId": "x"}))) == \
        "InvalidArgument"
    assert code_of(lambda: requested_marker(s3_request(ok, query={
        "version-id-marker": "null"}))) == "InvalidArgument"


def test_list_versions_builds_versions_markers_and_prefixes():
    rows = [{"name": "a", "version_id": "1764556802.00000", "is_latest": True, "bytes": 2,
             "hash": "h2", "content_type": "text/plain",
             "last_modified": "2026-12-01T00:00:02.000000"},
            {"name": "a", "version_id": "1764556801.00000", "is_latest": False, "bytes": 0,
             "hash": "d41d8cd98f00b204e9800998ecf8427e",
             "content_type": "application/x-deleted;swift_versions_deleted=1",
             "last_modified": "2026-12-01T00:00:01.000000"},
            {"subdir": "d/"}]
    swift = FakeSwift(lambda m, p, q: webob.Response(
        body=json.dumps(rows).encode(), content_type="application/json"))
    resp = versions_listing.list_versions(s3_request(swift, query={
        "versions": "", "max-keys": "2", "delimiter": "/", "key-marker": "0",
        "version-id-marker": "null"}))
    (_m, _p, query, _h), = swift.calls
    assert "limit=3" in query and "version_marker=null" in query and "marker=0" in query
    root = ElementTree.fromstring(resp.body)
    assert root.find(NS + "IsTruncated").text == "true"
    assert (root.find(NS + "NextKeyMarker").text,
            root.find(NS + "NextVersionIdMarker").text) == ("a", "1764556801.00000")
    assert [child.tag[len(NS):] for child in root if child.tag.endswith(
        ("Version", "DeleteMarker", "CommonPrefixes"))] == ["Version", "DeleteMarker"]
    assert root.find(NS + "Version/" + NS + "ETag").text == '"h2"'
    assert root.find(NS + "DeleteMarker/" + NS + "IsLatest").text == "false"
