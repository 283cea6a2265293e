"""S3 versioning through boto3 against the real cluster: the bucket's
configuration, object versions and delete markers, ListObjectVersions.

Each error case asserts the exact S3 code and status a client branches on.
"""
import hashlib
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.functional import s3_clients

ENABLED = {"Status": "Enabled"}
SUSPENDED = {"Status": "Suspended"}


def _code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def _status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _headers(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]


def _delete_all_versions(s3, bucket):
    listed = s3.list_object_versions(Bucket=bucket)
    for item in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])


@pytest.fixture
def vbucket(s3):
    """A fresh bucket with versioning enabled, emptied of every version afterwards."""
    name = "v-%s" % uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=ENABLED)
    yield name
    _delete_all_versions(s3, name)
    s3_clients.empty_and_delete(s3, name)


# -- bucket configuration ------------------------------------------------------

def test_versioning_configuration_round_trip(s3, bucket, conn):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=ENABLED)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert conn.head_container(bucket)["x-versions-enabled"].lower() == "true"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=SUSPENDED)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    assert conn.head_container(bucket)["x-versions-enabled"].lower() == "false"


def test_suspending_a_bucket_never_versioned(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=SUSPENDED)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"


@pytest.mark.parametrize("body", [
    b"<foo><Status>Enabled</Status></foo>",
    b"<VersioningConfiguration><Status>...</Status></VersioningConfiguration>",
    b"<VersioningConfiguration><Status></Status></VersioningConfiguration>",
    b"<VersioningConfiguration/>",
    b"not xml",
    b"",
])
def test_bad_versioning_bodies_are_malformed_xml(s3, bucket, body):
    def replace_body(request, **_kwargs):
        request.data = body
        for name in list(request.headers.keys()):
            if name.lower() == "content-md5" or name.lower().startswith("x-amz-checksum-"):
                del request.headers[name]
    s3.meta.events.register("before-sign.s3.PutBucketVersioning", replace_body)
    try:
        with pytest.raises(ClientError) as err:
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=ENABLED)
    finally:
        s3.meta.events.unregister("before-sign.s3.PutBucketVersioning", replace_body)
    assert (_code(err), _status(err)) == ("MalformedXML", 400)
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)


def test_mfa_delete_is_not_implemented(s3, bucket):
    with pytest.raises(ClientError) as err:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={
            "Status": "Enabled", "MFADelete": "Enabled"}, MFA="serial 123456")
    assert (_code(err), _status(err)) == ("NotImplemented", 501)


def test_versioning_of_a_missing_bucket(s3):
    for call in (lambda: s3.get_bucket_versioning(Bucket="no-such-bucket-xyz"),
                 lambda: s3.put_bucket_versioning(Bucket="no-such-bucket-xyz",
                                                  VersioningConfiguration=ENABLED),
                 lambda: s3.list_object_versions(Bucket="no-such-bucket-xyz")):
        with pytest.raises(ClientError) as err:
            call()
        assert (_code(err), _status(err)) == ("NoSuchBucket", 404)


def test_only_the_owner_may_change_versioning(cluster, bucket):
    reader = s3_clients.s3_client(cluster, user="test:tester3")
    with pytest.raises(ClientError) as err:
        reader.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=ENABLED)
    assert (_code(err), _status(err)) == ("AccessDenied", 403)


# -- objects -------------------------------------------------------------------

def test_put_get_head_delete_by_version(s3, vbucket):
    first = s3.put_object(Bucket=vbucket, Key="doc", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=vbucket, Key="doc", Body=b"two")["VersionId"]
    assert first and second and first != second and "null" not in (first, second)
    current = s3.get_object(Bucket=vbucket, Key="doc")
    assert (current["Body"].read(), current["VersionId"]) == (b"two", second)
    old = s3.get_object(Bucket=vbucket, Key="doc", VersionId=first)
    assert (old["Body"].read(), old["VersionId"]) == (b"one", first)
    head = s3.head_object(Bucket=vbucket, Key="doc", VersionId=first)
    assert (head["ContentLength"], head["VersionId"]) == (3, first)
    # deleting the current version for good makes the previous one current again
    gone = s3.delete_object(Bucket=vbucket, Key="doc", VersionId=second)
    assert gone["VersionId"] == second and "DeleteMarker" not in gone
    again = s3.get_object(Bucket=vbucket, Key="doc")
    assert (again["Body"].read(), again["VersionId"]) == (b"one", first)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=vbucket, Key="doc", VersionId=second)
    assert (_code(err), _status(err)) == ("NoSuchVersion", 404)


def test_delete_writes_a_delete_marker(s3, vbucket):
    kept = s3.put_object(Bucket=vbucket, Key="k", Body=b"kept")["VersionId"]
    deleted = s3.delete_object(Bucket=vbucket, Key="k")
    marker = deleted["VersionId"]
    assert deleted["DeleteMarker"] is True and marker and marker != kept
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as err:
            call(Bucket=vbucket, Key="k")
        assert _status(err) == 404
        assert _headers(err)["x-amz-delete-marker"] == "true"
        assert _headers(err)["x-amz-version-id"] == marker
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=vbucket, Key="k")
    assert _code(err) == "NoSuchKey"
    # the marker itself cannot be read, only deleted
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=vbucket, Key="k", VersionId=marker)
    assert (_code(err), _status(err)) == ("MethodNotAllowed", 405)
    assert _headers(err)["x-amz-delete-marker"] == "true"
    assert s3.get_object(Bucket=vbucket, Key="k", VersionId=kept)["Body"].read() == b"kept"
    # deleting the marker brings the object back
    undone = s3.delete_object(Bucket=vbucket, Key="k", VersionId=marker)
    assert undone["DeleteMarker"] is True and undone["VersionId"] == marker
    back = s3.get_object(Bucket=vbucket, Key="k")
    assert (back["Body"].read(), back["VersionId"]) == (b"kept", kept)


def test_bad_and_unknown_version_ids(s3, vbucket, bucket):
    s3.put_object(Bucket=vbucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=vbucket, Key="k", VersionId="not-a-version")
    assert (_code(err), _status(err)) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=vbucket, Key="k", VersionId="1234567890.12345")
    assert (_code(err), _status(err)) == ("NoSuchVersion", 404)
    # a bucket never versioned has only null versions
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p")
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="plain", VersionId="1234567890.12345")
    assert (_code(err), _status(err)) == ("NoSuchVersion", 404)
    assert s3.get_object(Bucket=bucket, Key="plain", VersionId="null")["Body"].read() == b"p"
    gone = s3.delete_object(Bucket=bucket, Key="plain", VersionId="1234567890.12345")
    assert gone["VersionId"] == "1234567890.12345"
    assert s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"p"
    s3.delete_object(Bucket=bucket, Key="plain", VersionId="null")
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="plain")
    assert _status(err) == 404


def test_object_written_before_versioning_is_kept(s3, bucket):
    """Swift's object versioning keeps the object written before versioning was
    enabled as a version of its own (its id is the time it was written)."""
    s3.put_object(Bucket=bucket, Key="old", Body=b"before")
    assert "VersionId" not in s3.put_object(Bucket=bucket, Key="other", Body=b"o")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=ENABLED)
    assert s3.get_object(Bucket=bucket, Key="old")["VersionId"] == "null"
    new = s3.put_object(Bucket=bucket, Key="old", Body=b"after")["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="old")["VersionId"] == new
    listed = s3.list_object_versions(Bucket=bucket, Prefix="old")
    assert [v["IsLatest"] for v in listed["Versions"]] == [True, False]
    assert listed["Versions"][0]["VersionId"] == new
    kept = listed["Versions"][1]["VersionId"]
    assert kept < new and kept != "null"
    assert s3.get_object(Bucket=bucket, Key="old", VersionId=kept)["Body"].read() == b"before"
    _delete_all_versions(s3, bucket)


def test_suspended_bucket_overwrites_the_null_version(s3, vbucket):
    kept = s3.put_object(Bucket=vbucket, Key="s", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=vbucket, VersioningConfiguration=SUSPENDED)
    s3.put_object(Bucket=vbucket, Key="s", Body=b"null one")
    s3.put_object(Bucket=vbucket, Key="s", Body=b"null two")
    assert s3.get_object(Bucket=vbucket, Key="s")["Body"].read() == b"null two"
    listed = s3.list_object_versions(Bucket=vbucket, Prefix="s")["Versions"]
    assert [(v["VersionId"], v["IsLatest"], v["Size"]) for v in listed] == \
        [("null", True, 8), (kept, False, 9)]
    assert s3.get_object(Bucket=vbucket, Key="s", VersionId=kept)["Body"].read() == \
        b"versioned"


def test_a_versioned_bucket_is_deleted_only_without_versions(s3):
    name = "v-%s" % uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=ENABLED)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    s3.delete_object(Bucket=name, Key="k")
    with pytest.raises(ClientError) as err:
        s3.delete_bucket(Bucket=name)
    assert (_code(err), _status(err)) == ("BucketNotEmpty", 409)
    _delete_all_versions(s3, name)
    s3.delete_bucket(Bucket=name)
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_multipart_object_versions_keep_their_parts(s3, vbucket):
    part = b"p" * (5 * 1024 * 1024)
    upload = s3.create_multipart_upload(Bucket=vbucket, Key="big")["UploadId"]
    etags = [s3.upload_part(Bucket=vbucket, Key="big", UploadId=upload, PartNumber=n,
                            Body=part if n == 1 else b"tail")["ETag"] for n in (1, 2)]
    done = s3.complete_multipart_upload(
        Bucket=vbucket, Key="big", UploadId=upload, MultipartUpload={"Parts": [
            {"PartNumber": n, "ETag": etag} for n, etag in zip((1, 2), etags)]})
    version = done["VersionId"]
    s3.delete_object(Bucket=vbucket, Key="big")
    body = s3.get_object(Bucket=vbucket, Key="big", VersionId=version)["Body"].read()
    assert len(body) == len(part) + 4 and body.endswith(b"tail")


# -- ListObjectVersions ----------------------------------------------------------

def test_list_object_versions(s3, vbucket):
    a1 = s3.put_object(Bucket=vbucket, Key="a", Body=b"1")["VersionId"]
    a2 = s3.put_object(Bucket=vbucket, Key="a", Body=b"22")["VersionId"]
    b1 = s3.put_object(Bucket=vbucket, Key="dir/b", Body=b"333")["VersionId"]
    marker = s3.delete_object(Bucket=vbucket, Key="dir/b")["VersionId"]
    listed = s3.list_object_versions(Bucket=vbucket)
    assert [(v["Key"], v["VersionId"], v["IsLatest"], v["Size"])
            for v in listed["Versions"]] == [("a", a2, True, 2), ("a", a1, False, 1),
                                             ("dir/b", b1, False, 3)]
    assert [(m["Key"], m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]] == \
        [("dir/b", marker, True)]
    assert listed["Versions"][0]["ETag"] == '"%s"' % hashlib.md5(b"22").hexdigest()
    assert listed["Versions"][0]["Owner"]["ID"] == "test:tester"
    assert listed["IsTruncated"] is False
    folded = s3.list_object_versions(Bucket=vbucket, Delimiter="/")
    assert [p["Prefix"] for p in folded["CommonPrefixes"]] == ["dir/"]
    assert [v["Key"] for v in folded["Versions"]] == ["a", "a"]
    assert "DeleteMarkers" not in folded
    under = s3.list_object_versions(Bucket=vbucket, Prefix="dir/")
    assert [v["VersionId"] for v in under["Versions"]] == [b1]


def test_list_object_versions_pages(s3, vbucket):
    ids = [s3.put_object(Bucket=vbucket, Key="k%d" % (n // 2), Body=b"x")["VersionId"]
           for n in range(5)]
    first = s3.list_object_versions(Bucket=vbucket, MaxKeys=3)
    assert first["IsTruncated"] is True and first["MaxKeys"] == 3
    assert [(v["Key"], v["VersionId"]) for v in first["Versions"]] == \
        [("k0", ids[1]), ("k0", ids[0]), ("k1", ids[3])]
    assert (first["NextKeyMarker"], first["NextVersionIdMarker"]) == ("k1", ids[3])
    rest = s3.list_object_versions(Bucket=vbucket, KeyMarker="k1",
                                   VersionIdMarker=ids[3], MaxKeys=3)
    assert rest["IsTruncated"] is False and "NextKeyMarker" not in rest
    assert (rest["KeyMarker"], rest["VersionIdMarker"]) == ("k1", ids[3])
    assert [(v["Key"], v["VersionId"]) for v in rest["Versions"]] == \
        [("k1", ids[2]), ("k2", ids[4])]
    after_k1 = s3.list_object_versions(Bucket=vbucket, KeyMarker="k1")
    assert [v["Key"] for v in after_k1["Versions"]] == ["k2"]
    paginated = [v["VersionId"] for page in s3.get_paginator("list_object_versions")
                 .paginate(Bucket=vbucket, PaginationConfig={"PageSize": 2})
                 for v in page.get("Versions", [])]
    assert sorted(paginated) == sorted(ids)
    none = s3.list_object_versions(Bucket=vbucket, MaxKeys=0)
    assert "Versions" not in none and none["IsTruncated"] is False


def test_list_object_versions_encoding_and_errors(s3, vbucket):
    s3.put_object(Bucket=vbucket, Key="sp ace+é", Body=b"x")
    listed = s3.list_object_versions(Bucket=vbucket, EncodingType="url")
    assert listed["Versions"][0]["Key"] == "sp%20ace%2B%C3%A9"
    assert listed["EncodingType"] == "url"
    blank = s3.list_object_versions(Bucket=vbucket, Delimiter="", KeyMarker="", Prefix="")
    assert (blank["Delimiter"], blank["KeyMarker"], blank["Prefix"]) == ("", "", "")
    assert [v["Key"] for v in blank["Versions"]] == ["sp ace+é"]
    with pytest.raises(ClientError) as err:
        s3.list_object_versions(Bucket=vbucket, VersionIdMarker="1234567890.12345")
    assert (_code(err), _status(err)) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as err:
        s3.list_object_versions(Bucket=vbucket, KeyMarker="a", VersionIdMarker="bogus")
    assert (_code(err), _status(err)) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as err:
        s3.list_object_versions(Bucket=vbucket, MaxKeys=-1)
    assert _code(err) == "InvalidArgument"


def test_unversioned_bucket_lists_null_versions(s3, bucket):
    s3.put_object(Bucket=bucket, Key="n", Body=b"x")
    listed = s3.list_object_versions(Bucket=bucket)
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in listed["Versions"]] == \
        [("n", "null", True)]


def test_multi_object_delete_with_versions(s3, vbucket):
    one = s3.put_object(Bucket=vbucket, Key="m", Body=b"1")["VersionId"]
    two = s3.put_object(Bucket=vbucket, Key="m", Body=b"2")["VersionId"]
    s3.put_object(Bucket=vbucket, Key="n", Body=b"n")
    result = s3.delete_objects(Bucket=vbucket, Delete={"Objects": [
        {"Key": "m", "VersionId": two}, {"Key": "n"},
        {"Key": "m", "VersionId": "bogus"}]})
    deleted = {(d["Key"], d.get("VersionId")): d for d in result["Deleted"]}
    assert set(deleted) == {("m", two), ("n", None)}
    assert "DeleteMarker" not in deleted[("m", two)]
    assert deleted[("n", None)]["DeleteMarker"] is True
    marker = deleted[("n", None)]["DeleteMarkerVersionId"]
    assert [(e["Key"], e["VersionId"], e["Code"]) for e in result["Errors"]] == \
        [("m", "bogus", "InvalidArgument")]
    assert s3.get_object(Bucket=vbucket, Key="m")["VersionId"] == one
    undo = s3.delete_objects(Bucket=vbucket, Delete={"Objects": [
        {"Key": "n", "VersionId": marker}]})
    assert undo["Deleted"][0]["DeleteMarker"] is True
    assert s3.get_object(Bucket=vbucket, Key="n")["Body"].read() == b"n"


def test_copy_from_a_version(s3, vbucket, bucket):
    old = s3.put_object(Bucket=vbucket, Key="src", Body=b"old", Metadata={"v": "1"})["VersionId"]
    s3.put_object(Bucket=vbucket, Key="src", Body=b"new")
    copied = s3.copy_object(Bucket=vbucket, Key="dst", CopySource={
        "Bucket": vbucket, "Key": "src", "VersionId": old})
    assert copied["CopySourceVersionId"] == old and copied["VersionId"] not in (None, old)
    got = s3.get_object(Bucket=vbucket, Key="dst")
    assert (got["Body"].read(), got["Metadata"], got["VersionId"]) == \
        (b"old", {"v": "1"}, copied["VersionId"])
    # restoring an old version onto its own name is a copy to itself
    s3.copy_object(Bucket=vbucket, Key="src", CopySource={
        "Bucket": vbucket, "Key": "src", "VersionId": old},
        MetadataDirective="REPLACE", Metadata={"v": "2"})
    got = s3.get_object(Bucket=vbucket, Key="src")
    assert (got["Body"].read(), got["Metadata"]) == (b"old", {"v": "2"})
    s3.copy_object(Bucket=bucket, Key="elsewhere", CopySource={
        "Bucket": vbucket, "Key": "src", "VersionId": old})
    assert s3.get_object(Bucket=bucket, Key="elsewhere")["Body"].read() == b"old"


def test_copy_from_a_missing_version_or_a_delete_marker(s3, vbucket):
    s3.put_object(Bucket=vbucket, Key="src", Body=b"x")
    marker = s3.delete_object(Bucket=vbucket, Key="src")["VersionId"]
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=vbucket, Key="dst", CopySource={
            "Bucket": vbucket, "Key": "src", "VersionId": marker})
    assert (_code(err), _status(err)) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=vbucket, Key="dst", CopySource={
            "Bucket": vbucket, "Key": "src", "VersionId": "1234567890.12345"})
    assert (_code(err), _status(err)) == ("NoSuchVersion", 404)
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=vbucket, Key="dst", CopySource={
            "Bucket": vbucket, "Key": "src", "VersionId": "not-a-version"})
    assert (_code(err), _status(err)) == ("InvalidArgument", 400)

    def other_parameter(request, **_kwargs):
        request.headers["x-amz-copy-source"] = "/%s/src?partNumber=1" % vbucket
    s3.meta.events.register("before-sign.s3.CopyObject", other_parameter)
    try:
        with pytest.raises(ClientError) as err:
            s3.copy_object(Bucket=vbucket, Key="dst", CopySource={"Bucket": vbucket,
                                                                   "Key": "src"})
    finally:
        s3.meta.events.unregister("before-sign.s3.CopyObject", other_parameter)
    assert (_code(err), _status(err)) == ("InvalidArgument", 400)
