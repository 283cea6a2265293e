"""S3 canned ACLs through boto3 against the real cluster.

``public-read`` is the container read ACL ``.r:*,.rlistings`` (so the
bucket's objects and listing are readable without credentials at their
Swift URL), ``private`` no read ACL; every other ACL is refused with the
exact S3 code a client branches on.
"""
import uuid
from urllib.parse import urlparse

import pytest
from botocore.exceptions import ClientError

from tests.functional import s3_clients

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
OWNER = {"ID": "test:tester", "DisplayName": "test:tester", "Type": "CanonicalUser"}


def _code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def _status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _grants(acl):
    return [(grant["Grantee"].get("ID") or grant["Grantee"].get("URI"),
             grant["Grantee"]["Type"], grant["Permission"]) for grant in acl["Grants"]]


PRIVATE = [("test:tester", "CanonicalUser", "FULL_CONTROL")]
PUBLIC_READ = PRIVATE + [(ALL_USERS, "Group", "READ")]


@pytest.fixture
def swift_path(cluster, conn):
    storage = urlparse(conn.get_auth()[0]).path
    return lambda bucket, key="": "%s/%s/%s" % (storage, bucket, key)


def test_public_read_bucket_at_creation(s3, conn, anonymous, swift_path):
    name = "acl-%s" % uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name, ACL="public-read")
    try:
        assert conn.head_container(name)["x-container-read"] == ".r:*,.rlistings"
        acl = s3.get_bucket_acl(Bucket=name)
        assert acl["Owner"] == {"ID": "test:tester", "DisplayName": "test:tester"}
        assert _grants(acl) == PUBLIC_READ
        s3.put_object(Bucket=name, Key="page.html", Body=b"<p>hi</p>")
        assert _grants(s3.get_object_acl(Bucket=name, Key="page.html")) == PUBLIC_READ
        status, _headers, body = anonymous("GET", swift_path(name, "page.html"))
        assert (status, body) == (200, b"<p>hi</p>")
        status, _headers, body = anonymous("GET", swift_path(name))
        assert status == 200 and b"page.html" in body
    finally:
        s3_clients.empty_and_delete(s3, name)


def test_put_bucket_acl_switches_public_and_private(s3, bucket, conn, anonymous, swift_path):
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    assert _grants(s3.get_bucket_acl(Bucket=bucket)) == PRIVATE
    assert anonymous("GET", swift_path(bucket, "k"))[0] == 401
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert _grants(s3.get_bucket_acl(Bucket=bucket)) == PUBLIC_READ
    assert anonymous("GET", swift_path(bucket, "k"))[:3:2] == (200, b"data")
    # ... and at the bucket's own host name (domain_remap), as a browser would ask
    site = {"Host": "%s.auth-test.localhost" % bucket}
    assert anonymous("GET", "/k", headers=site)[:3:2] == (200, b"data")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    assert "x-container-read" not in conn.head_container(bucket)
    assert _grants(s3.get_bucket_acl(Bucket=bucket)) == PRIVATE
    assert _grants(s3.get_object_acl(Bucket=bucket, Key="k")) == PRIVATE
    assert anonymous("GET", swift_path(bucket, "k"))[0] == 401
    assert anonymous("GET", "/k", headers=site)[0] == 401


def test_put_bucket_acl_with_a_policy_body(s3, bucket, conn):
    owner_grant = {"Grantee": OWNER, "Permission": "FULL_CONTROL"}
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={
        "Owner": {"ID": "test:tester"}, "Grants": [
            owner_grant, {"Grantee": {"Type": "Group", "URI": ALL_USERS},
                          "Permission": "READ"}]})
    assert conn.head_container(bucket)["x-container-read"] == ".r:*,.rlistings"
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={
        "Owner": {"ID": "test:tester"}, "Grants": [owner_grant]})
    assert _grants(s3.get_bucket_acl(Bucket=bucket)) == PRIVATE
    for grant in ({"Grantee": {"Type": "AmazonCustomerByEmail",
                               "EmailAddress": "someone@example.com"}, "Permission": "READ"},
                  {"Grantee": {"Type": "CanonicalUser", "ID": "test:tester3"},
                   "Permission": "FULL_CONTROL"},
                  {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "WRITE"}):
        with pytest.raises(ClientError) as err:
            s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={
                "Owner": {"ID": "test:tester"}, "Grants": [owner_grant, grant]})
        assert (_code(err), _status(err)) == ("MalformedACLError", 400)
    assert _grants(s3.get_bucket_acl(Bucket=bucket)) == PRIVATE


def test_header_and_body_together_or_neither(s3, bucket):
    with pytest.raises(ClientError) as err:
        s3.put_bucket_acl(Bucket=bucket, ACL="public-read", AccessControlPolicy={
            "Owner": {"ID": "test:tester"},
            "Grants": [{"Grantee": OWNER, "Permission": "FULL_CONTROL"}]})
    assert (_code(err), _status(err)) == ("UnexpectedContent", 400)
    with pytest.raises(ClientError) as err:
        s3.put_bucket_acl(Bucket=bucket)
    assert (_code(err), _status(err)) == ("MissingSecurityHeader", 400)


@pytest.mark.parametrize("canned", ["public-read-write", "authenticated-read",
                                    "log-delivery-write"])
def test_acls_swift_cannot_express_are_not_implemented(s3, bucket, canned):
    with pytest.raises(ClientError) as err:
        s3.put_bucket_acl(Bucket=bucket, ACL=canned)
    assert (_code(err), _status(err)) == ("NotImplemented", 501)
    name = "acl-%s" % uuid.uuid4().hex[:12]
    with pytest.raises(ClientError) as err:
        s3.create_bucket(Bucket=name, ACL=canned)
    assert _code(err) == "NotImplemented"
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert _grants(s3.get_bucket_acl(Bucket=bucket)) == PRIVATE


def test_unknown_canned_acl_is_invalid_argument(s3, bucket):
    def set_acl(request, **_kwargs):
        request.headers["x-amz-acl"] = "world-readable"
    s3.meta.events.register("before-sign.s3.PutBucketAcl", set_acl)
    try:
        with pytest.raises(ClientError) as err:
            s3.put_bucket_acl(Bucket=bucket, ACL="private")
    finally:
        s3.meta.events.unregister("before-sign.s3.PutBucketAcl", set_acl)
    assert (_code(err), _status(err)) == ("InvalidArgument", 400)


def test_grants_and_object_acls_are_refused(s3, bucket):
    with pytest.raises(ClientError) as err:
        s3.put_bucket_acl(Bucket=bucket, GrantRead='uri="%s"' % ALL_USERS)
    assert (_code(err), _status(err)) == ("NotImplemented", 501)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as err:
        s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    assert (_code(err), _status(err)) == ("NotImplemented", 501)
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="k2", Body=b"x", ACL="public-read")
    assert (_code(err), _status(err)) == ("NotImplemented", 501)
    # owner-only canned ACLs are what every object has already
    s3.put_object(Bucket=bucket, Key="k3", Body=b"x", ACL="bucket-owner-full-control")
    assert _grants(s3.get_object_acl(Bucket=bucket, Key="k3")) == PRIVATE


def test_acl_errors(cluster, s3, bucket):
    for call in (lambda: s3.get_bucket_acl(Bucket="no-such-bucket-acl"),
                 lambda: s3.put_bucket_acl(Bucket="no-such-bucket-acl", ACL="public-read"),
                 lambda: s3.get_object_acl(Bucket="no-such-bucket-acl", Key="k")):
        with pytest.raises(ClientError) as err:
            call()
        assert (_code(err), _status(err)) == ("NoSuchBucket", 404)
    with pytest.raises(ClientError) as err:
        s3.get_object_acl(Bucket=bucket, Key="nothing")
    assert (_code(err), _status(err)) == ("NoSuchKey", 404)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    reader = s3_clients.s3_client(cluster, user="test:tester3")
    for call in (lambda: reader.get_bucket_acl(Bucket=bucket),
                 lambda: reader.put_bucket_acl(Bucket=bucket, ACL="public-read"),
                 lambda: reader.get_object_acl(Bucket=bucket, Key="k")):
        with pytest.raises(ClientError) as err:
            call()
        assert (_code(err), _status(err)) == ("AccessDenied", 403)
    assert _grants(s3.get_bucket_acl(Bucket=bucket)) == PRIVATE
