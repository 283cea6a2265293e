"""Unsigned S3 requests, path-style, through boto3 (UNSIGNED) and raw HTTP.

A reader without credentials names only the bucket; the cluster-wide
bucket registry says whose it is.  A ``public-read`` bucket serves its
objects and listings, a private one answers AccessDenied, an unknown name
NoSuchBucket, and writes are refused.  Bucket names are global:
CreateBucket of a name another account holds is BucketAlreadyExists.
"""
import uuid
import xml.etree.ElementTree as ElementTree

import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from tests.functional import s3_clients


def _error(excinfo):
    response = excinfo.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def _xml_code(body):
    return ElementTree.fromstring(body).findtext("Code")


def _name(prefix="anon"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


@pytest.fixture
def unsigned(cluster):
    return s3_clients.s3_client(cluster, signature_version=UNSIGNED)


@pytest.fixture
def other_s3(cluster):
    return s3_clients.s3_client(cluster, user="test2:tester2")


@pytest.fixture
def public_bucket(s3):
    name = _name("pub")
    s3.create_bucket(Bucket=name, ACL="public-read")
    s3.put_object(Bucket=name, Key="dir/page.html", Body=b"<p>hi</p>",
                  ContentType="text/html", Metadata={"colour": "blue"})
    s3.put_object(Bucket=name, Key="top.txt", Body=b"0123456789")
    yield name
    s3_clients.empty_and_delete(s3, name)


def test_public_read_bucket_serves_objects_and_listings(unsigned, public_bucket):
    got = unsigned.get_object(Bucket=public_bucket, Key="dir/page.html")
    assert got["Body"].read() == b"<p>hi</p>"
    assert got["ContentType"] == "text/html" and got["Metadata"] == {"colour": "blue"}
    head = unsigned.head_object(Bucket=public_bucket, Key="top.txt")
    assert head["ContentLength"] == 10
    ranged = unsigned.get_object(Bucket=public_bucket, Key="top.txt", Range="bytes=2-4")
    assert ranged["Body"].read() == b"234"
    assert [item["Key"] for item in unsigned.list_objects(Bucket=public_bucket)["Contents"]] \
        == ["dir/page.html", "top.txt"]
    v2 = unsigned.list_objects_v2(Bucket=public_bucket, Delimiter="/")
    assert [item["Key"] for item in v2["Contents"]] == ["top.txt"]
    assert v2["CommonPrefixes"] == [{"Prefix": "dir/"}]
    unsigned.head_bucket(Bucket=public_bucket)
    with pytest.raises(ClientError) as excinfo:
        unsigned.get_object(Bucket=public_bucket, Key="missing")
    assert _error(excinfo) == (404, "NoSuchKey")


def test_anonymous_writes_and_owner_reads_are_denied(unsigned, s3, public_bucket, anonymous):
    with pytest.raises(ClientError) as excinfo:
        unsigned.put_object(Bucket=public_bucket, Key="new", Body=b"x")
    assert _error(excinfo) == (403, "AccessDenied")
    with pytest.raises(ClientError) as excinfo:
        unsigned.delete_object(Bucket=public_bucket, Key="top.txt")
    assert _error(excinfo) == (403, "AccessDenied")
    with pytest.raises(ClientError) as excinfo:
        unsigned.delete_objects(Bucket=public_bucket, Delete={"Objects": [{"Key": "top.txt"}]})
    assert _error(excinfo) == (403, "AccessDenied")
    with pytest.raises(ClientError) as excinfo:
        unsigned.get_bucket_acl(Bucket=public_bucket)
    assert _error(excinfo) == (403, "AccessDenied")
    with pytest.raises(ClientError) as excinfo:
        unsigned.delete_bucket(Bucket=public_bucket)
    assert _error(excinfo) == (403, "AccessDenied")
    assert s3.get_object(Bucket=public_bucket, Key="top.txt")["Body"].read() == b"0123456789"
    assert s3.list_objects_v2(Bucket=public_bucket)["KeyCount"] == 2
    status, _headers, body = anonymous("GET", "/%s?location" % public_bucket)
    assert (status, _xml_code(body)) == (403, "AccessDenied")
    status, _headers, body = anonymous(
        "GET", "/%s/top.txt?response-content-type=text/x-evil" % public_bucket)
    assert (status, _xml_code(body)) == (400, "InvalidRequest")


def test_private_bucket_is_access_denied(unsigned, s3, bucket, anonymous):
    s3.put_object(Bucket=bucket, Key="secret", Body=b"s")
    for call in (lambda: unsigned.get_object(Bucket=bucket, Key="secret"),
                 lambda: unsigned.get_object(Bucket=bucket, Key="missing"),
                 lambda: unsigned.list_objects_v2(Bucket=bucket)):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert _error(excinfo) == (403, "AccessDenied")
    status, headers, body = anonymous("GET", "/%s/secret" % bucket)
    assert (status, _xml_code(body)) == (403, "AccessDenied")
    assert headers["content-type"] == "application/xml" and "x-amz-request-id" in headers
    assert anonymous("HEAD", "/%s/secret" % bucket)[:3:2] == (403, b"")


def test_public_then_private_follows_the_bucket_acl(unsigned, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert unsigned.get_object(Bucket=bucket, Key="k")["Body"].read() == b"data"
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    with pytest.raises(ClientError) as excinfo:
        unsigned.get_object(Bucket=bucket, Key="k")
    assert _error(excinfo) == (403, "AccessDenied")


def test_unknown_bucket_is_no_such_bucket(unsigned, anonymous):
    name = _name("none")
    with pytest.raises(ClientError) as excinfo:
        unsigned.get_object(Bucket=name, Key="k")
    assert _error(excinfo) == (404, "NoSuchBucket")
    with pytest.raises(ClientError) as excinfo:
        unsigned.list_objects_v2(Bucket=name)
    assert _error(excinfo) == (404, "NoSuchBucket")
    status, _headers, body = anonymous("PUT", "/%s/k" % name, body=b"x")
    assert (status, _xml_code(body)) == (404, "NoSuchBucket")


def test_swift_paths_stay_swift(anonymous, cluster):
    status, headers, _body = anonymous("GET", "/info")
    assert status == 200 and headers["content-type"].startswith("application/json")
    # a Swift token makes a request Swift's whatever its path
    status, _headers, body = anonymous("GET", "/nobucket-here/k",
                                       headers={"X-Auth-Token": "AUTH_tk0"})
    assert b"<Error>" not in body


def test_bucket_names_are_global(s3, other_s3, unsigned):
    name = _name("global")
    s3.create_bucket(Bucket=name, ACL="public-read")
    s3.put_object(Bucket=name, Key="k", Body=b"first")
    try:
        with pytest.raises(ClientError) as excinfo:
            other_s3.create_bucket(Bucket=name)
        assert _error(excinfo) == (409, "BucketAlreadyExists")
        with pytest.raises(ClientError) as excinfo:
            s3.create_bucket(Bucket=name)
        assert _error(excinfo) == (409, "BucketAlreadyOwnedByYou")
    finally:
        s3_clients.empty_and_delete(s3, name)
    # once deleted, the name is free for anyone, and reads follow it
    other_s3.create_bucket(Bucket=name, ACL="public-read")
    try:
        other_s3.put_object(Bucket=name, Key="k", Body=b"second")
        assert unsigned.get_object(Bucket=name, Key="k")["Body"].read() == b"second"
        with pytest.raises(ClientError) as excinfo:
            s3.create_bucket(Bucket=name)
        assert _error(excinfo) == (409, "BucketAlreadyExists")
    finally:
        s3_clients.empty_and_delete(other_s3, name)


def test_bucket_deleted_through_swift_frees_its_name(s3, other_s3, unsigned, conn):
    name = _name("gone")
    s3.create_bucket(Bucket=name, ACL="public-read")
    conn.delete_container(name)
    with pytest.raises(ClientError) as excinfo:
        unsigned.list_objects_v2(Bucket=name)
    assert _error(excinfo) == (404, "NoSuchBucket")
    other_s3.create_bucket(Bucket=name)
    other_s3.delete_bucket(Bucket=name)


def test_acl_change_registers_a_container_made_through_swift(s3, unsigned, conn):
    name = _name("swift")
    conn.put_container(name)
    conn.put_object(name, "k", b"made by swift")
    try:
        with pytest.raises(ClientError) as excinfo:
            unsigned.get_object(Bucket=name, Key="k")
        assert _error(excinfo) == (404, "NoSuchBucket")
        s3.put_bucket_acl(Bucket=name, ACL="public-read")
        assert unsigned.get_object(Bucket=name, Key="k")["Body"].read() == b"made by swift"
    finally:
        s3_clients.empty_and_delete(s3, name)


def test_public_versioned_bucket_lists_versions_but_keeps_old_ones_private(
        s3, unsigned, public_bucket):
    """The listing is the bucket's (READ); an old version lives in the hidden
    versions container, which the bucket's read ACL does not open."""
    s3.put_bucket_versioning(Bucket=public_bucket,
                             VersioningConfiguration={"Status": "Enabled"})
    try:
        first = s3.put_object(Bucket=public_bucket, Key="v", Body=b"one")["VersionId"]
        s3.put_object(Bucket=public_bucket, Key="v", Body=b"two")
        listed = unsigned.list_object_versions(Bucket=public_bucket, Prefix="v")
        assert [item["Key"] for item in listed["Versions"]] == ["v", "v"]
        assert unsigned.get_object(Bucket=public_bucket, Key="v")["Body"].read() == b"two"
        with pytest.raises(ClientError) as excinfo:
            unsigned.get_object(Bucket=public_bucket, Key="v", VersionId=first)
        assert _error(excinfo) == (403, "AccessDenied")
    finally:
        for item in s3.list_object_versions(Bucket=public_bucket).get("Versions", []):
            s3.delete_object(Bucket=public_bucket, Key=item["Key"],
                             VersionId=item["VersionId"])
