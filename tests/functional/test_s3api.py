"""The S3 API through boto3 against the real cluster: auth, buckets, objects, errors.

Every error case asserts the exact S3 error code a client branches on.
"""
import base64
import hashlib
import hmac
import http.client
import time
import zlib
from urllib.parse import urlparse

import boto3
import botocore
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.functional.s3_clients import FixedPayloadAuth, s3_client
from tests.functional.s3_clients import signed_raw as _signed_raw


_client = s3_client


def _code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def _status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


# -- auth ---------------------------------------------------------------------

def test_wrong_secret_is_signature_does_not_match(cluster):
    s3 = _client(cluster, key="wrong")
    with pytest.raises(ClientError) as err:
        s3.list_buckets()
    assert _code(err) == "SignatureDoesNotMatch" and _status(err) == 403
    assert err.value.response["ResponseMetadata"]["RequestId"].startswith("tx")


def test_unknown_access_key_is_invalid_access_key_id(cluster):
    s3 = _client(cluster, user="test:nobody", key="x")
    with pytest.raises(ClientError) as err:
        s3.list_buckets()
    assert _code(err) == "InvalidAccessKeyId"


def test_sigv2_clients_work_and_are_checked(cluster, bucket):
    s3 = _client(cluster, signature_version="s3")
    s3.put_object(Bucket=bucket, Key="v2 key+x", Body=b"old client")
    assert s3.get_object(Bucket=bucket, Key="v2 key+x")["Body"].read() == b"old client"
    bad = _client(cluster, key="wrong", signature_version="s3")
    with pytest.raises(ClientError) as err:
        bad.get_object(Bucket=bucket, Key="v2 key+x")
    assert _code(err) == "SignatureDoesNotMatch"


def test_presigned_v4_and_v2_urls(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="shared.txt", Body=b"via a link")
    for client in (s3, _client(cluster, signature_version="s3")):
        url = client.generate_presigned_url("get_object", Params={
            "Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=60)
        status, body = _http_get(url)
        assert (status, body) == (200, b"via a link")
        tampered = url.replace("shared.txt", "other.txt")
        status, body = _http_get(tampered)
        assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body


def test_expired_presigned_url_is_access_denied(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"},
                                    ExpiresIn=1)
    time.sleep(2.1)
    status, body = _http_get(url)
    assert status == 403 and b"<Code>AccessDenied</Code>" in body


def test_clock_skew_beyond_15_minutes_is_refused(cluster, monkeypatch):
    s3 = _client(cluster)
    real = botocore.auth.datetime.datetime

    class Skewed(real):
        @classmethod
        def utcnow(cls):
            return real.utcnow() - botocore.auth.datetime.timedelta(minutes=16)

        @classmethod
        def now(cls, tz=None):
            return real.now(tz) - botocore.auth.datetime.timedelta(minutes=16)
    monkeypatch.setattr(botocore.auth.datetime, "datetime", Skewed)
    with pytest.raises(ClientError) as err:
        s3.list_buckets()
    assert _code(err) == "RequestTimeTooSkewed"


def test_wrong_region_is_authorization_header_malformed(cluster):
    s3 = boto3.client("s3", endpoint_url=cluster.proxy_url, region_name="eu-west-1",
                      aws_access_key_id="test:tester", aws_secret_access_key="testing",
                      config=Config(s3={"addressing_style": "path"},
                                    retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as err:
        s3.list_buckets()
    assert _code(err) == "AuthorizationHeaderMalformed"


def test_signed_payload_hash_is_verified(cluster, bucket):
    s3 = _client(cluster, s3={"addressing_style": "path", "payload_signing_enabled": True})
    s3.put_object(Bucket=bucket, Key="hashed", Body=b"payload signed")
    assert s3.get_object(Bucket=bucket, Key="hashed")["Body"].read() == b"payload signed"
    status, body, _headers = _signed_raw(cluster, "PUT", "/%s/lying" % bucket,
                                         b"real body...", signed_body=b"another body")
    assert status == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in body
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="lying")
    assert _status(err) == 404


def test_users_see_only_their_own_account(cluster, bucket):
    other = _client(cluster, user="test2:tester2")
    assert bucket not in [b["Name"] for b in other.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as err:
        other.head_bucket(Bucket=bucket)
    assert _status(err) == 404


# -- buckets ------------------------------------------------------------------

def test_bucket_lifecycle_and_errors(s3, unique):
    name = unique("bk")
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=name)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    with pytest.raises(ClientError) as err:
        s3.create_bucket(Bucket=name)
    assert _code(err) == "BucketAlreadyOwnedByYou"
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as err:
        s3.delete_bucket(Bucket=name)
    assert _code(err) == "BucketNotEmpty"
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as err:
        s3.head_bucket(Bucket=name)
    assert _status(err) == 404
    with pytest.raises(ClientError) as err:
        s3.list_objects(Bucket=name)
    assert _code(err) == "NoSuchBucket"
    with pytest.raises(ClientError) as err:
        s3.delete_bucket(Bucket=name)
    assert _code(err) == "NoSuchBucket"


def test_list_buckets_skips_containers_no_bucket_can_name(conn, s3, unique):
    """A Swift container named with a control character or "&" (other tests make
    such names in this account) is no bucket: ListBuckets stays valid XML."""
    odd = [unique("ctl\x01"), unique("amp-&"), unique("under_score")]
    plain = unique("plain")
    for name in odd + [plain]:
        conn.put_container(name)
    try:
        listed = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert plain in listed and not set(odd) & set(listed)
    finally:
        for name in odd + [plain]:
            conn.delete_container(name)


def test_bucket_names_and_location_constraint(s3, unique):
    with pytest.raises(ClientError) as err:
        s3.create_bucket(Bucket="Bad_Name")
    assert _code(err) == "InvalidBucketName"
    with pytest.raises(ClientError) as err:
        s3.create_bucket(Bucket=unique("loc"), CreateBucketConfiguration={
            "LocationConstraint": "eu-west-1"})
    assert _code(err) == "InvalidLocationConstraint"


def test_xml_with_a_dtd_is_refused(cluster, s3, unique):
    name = unique("xxe")
    body = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b'<CreateBucketConfiguration><LocationConstraint>&e;</LocationConstraint>'
            b'</CreateBucketConfiguration>')
    status, reply = _signed_request(cluster, "PUT", "/" + name, body)
    assert status == 400 and b"<Code>MalformedXML</Code>" in reply
    status, reply = _signed_request(cluster, "PUT", "/" + name, b"<not xml")
    assert status == 400 and b"<Code>MalformedXML</Code>" in reply


def test_list_objects_v1_and_v2_paging_prefix_delimiter(s3, bucket):
    keys = ["a/1", "a/2", "b/1", "c", "d e+f", "ü/x"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    listed = s3.list_objects_v2(Bucket=bucket)
    assert [c["Key"] for c in listed["Contents"]] == sorted(keys)
    assert listed["KeyCount"] == 6 and listed["IsTruncated"] is False
    assert listed["Contents"][0]["ETag"] == '"%s"' % hashlib.md5(b"a/1").hexdigest()
    assert "Owner" not in listed["Contents"][0]
    assert "Owner" in s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"][0]

    pages = list(s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    seen = [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]
    seen += [c["Key"] for page in pages for c in page.get("Contents", [])]
    assert sorted(seen) == ["a/", "b/", "c", "d e+f", "ü/"]

    v1 = list(s3.get_paginator("list_objects").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 4}))
    assert [c["Key"] for page in v1 for c in page["Contents"]] == sorted(keys)
    assert v1[0]["IsTruncated"] is True and v1[-1]["IsTruncated"] is False
    assert [c["Key"] for c in s3.list_objects(Bucket=bucket, Prefix="a/")["Contents"]] == \
        ["a/1", "a/2"]
    assert [c["Key"] for c in s3.list_objects(Bucket=bucket, Marker="c")["Contents"]] == \
        ["d e+f", "ü/x"]
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="b/1")
    assert [c["Key"] for c in after["Contents"]] == ["c", "d e+f", "ü/x"]
    assert s3.list_objects_v2(Bucket=bucket, MaxKeys=0)["KeyCount"] == 0
    with pytest.raises(ClientError) as err:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="!!!")
    assert _code(err) == "InvalidArgument"


def test_virtual_hosted_style_addressing(cluster, bucket, s3):
    s3.put_object(Bucket=bucket, Key="vh/key", Body=b"virtual")
    port = urlparse(cluster.proxy_url).port
    host = "%s.localhost:%d" % (bucket, port)
    status, body, _headers = _signed_raw(cluster, "GET", "/vh/key", host=host)
    assert (status, body) == (200, b"virtual"), body
    status, body, _headers = _signed_raw(cluster, "GET", "/?list-type=2", host=host)
    assert status == 200 and b"<Key>vh/key</Key>" in body
    status, body, _headers = _signed_raw(cluster, "GET", "/vh/key", host=host,
                                         secret="wrong")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body


# -- objects ------------------------------------------------------------------

def test_put_get_head_metadata_ranges_overrides(s3, bucket):
    data = bytes(range(256)) * 40
    put = s3.put_object(Bucket=bucket, Key="obj", Body=data, ContentType="text/x-demo",
                        Metadata={"Color": "blue"}, ContentMD5=base64.b64encode(
                            hashlib.md5(data).digest()).decode())
    etag = '"%s"' % hashlib.md5(data).hexdigest()
    assert put["ETag"] == etag
    got = s3.get_object(Bucket=bucket, Key="obj")
    assert got["Body"].read() == data and got["ContentType"] == "text/x-demo"
    assert got["Metadata"] == {"color": "blue"} and got["ETag"] == etag
    head = s3.head_object(Bucket=bucket, Key="obj")
    assert head["ContentLength"] == len(data) and head["Metadata"] == {"color": "blue"}
    part = s3.get_object(Bucket=bucket, Key="obj", Range="bytes=10-19")
    assert part["Body"].read() == data[10:20] and part["ContentRange"] == \
        "bytes 10-19/%d" % len(data)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="obj", Range="bytes=999999-")
    assert _code(err) == "InvalidRange" and _status(err) == 416
    over = s3.get_object(Bucket=bucket, Key="obj", ResponseContentType="image/png",
                         ResponseContentDisposition="attachment")
    assert over["ContentType"] == "image/png" and over["ContentDisposition"] == "attachment"


def test_unsupported_features_are_refused_not_ignored(s3, bucket, unique):
    for kwargs in ({"ACL": "public-read"}, {"Tagging": "a=b"},
                   {"ServerSideEncryption": "AES256"}):
        with pytest.raises(ClientError) as err:
            s3.put_object(Bucket=bucket, Key="feature", Body=b"x", **kwargs)
        assert _code(err) == "NotImplemented" and _status(err) == 501
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="feature", Body=b"x", StorageClass="GLACIER")
    assert _code(err) == "InvalidStorageClass"
    with pytest.raises(ClientError) as err:
        s3.create_multipart_upload(Bucket=bucket, Key="mpu", ACL="public-read")
    assert _code(err) == "NotImplemented"
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="feature")
    assert _status(err) == 404
    s3.put_object(Bucket=bucket, Key="private", Body=b"x", ACL="private")
    acl = s3.get_object_acl(Bucket=bucket, Key="private")
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]


def test_conditional_requests(s3, bucket):
    s3.put_object(Bucket=bucket, Key="c", Body=b"cond")
    etag = '"%s"' % hashlib.md5(b"cond").hexdigest()
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"cond"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"nope"')
    assert _code(err) == "PreconditionFailed" and _status(err) == 412
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert _status(err) == 304


def test_missing_objects_and_buckets(s3, bucket, unique):
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="absent")
    assert _code(err) == "NoSuchKey"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=unique("nob"), Key="absent")
    assert _code(err) == "NoSuchBucket"
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="absent")
    assert _status(err) == 404
    s3.delete_object(Bucket=bucket, Key="absent")  # S3 answers 204 for a missing key
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=unique("nob"), Key="k", Body=b"x")
    assert _code(err) == "NoSuchBucket"


def test_bad_content_md5(s3, bucket):
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="md5", Body=b"data", ContentMD5=base64.b64encode(
            hashlib.md5(b"other").digest()).decode())
    assert _code(err) == "BadDigest"
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="md5", Body=b"data", ContentMD5="not-md5")
    assert _code(err) == "InvalidDigest"
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="md5")
    assert _status(err) == 404


def test_copy_object_directives_and_conditions(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"source", Metadata={"a": "1"},
                  ContentType="text/plain")
    etag = '"%s"' % hashlib.md5(b"source").hexdigest()
    result = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket,
                                                                  "Key": "src"})
    assert result["CopyObjectResult"]["ETag"] == etag
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"source" and got["Metadata"] == {"a": "1"}
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource="%s/src" % bucket,
                   MetadataDirective="REPLACE", Metadata={"b": "2"},
                   ContentType="text/x-new")
    got = s3.head_object(Bucket=bucket, Key="dst2")
    assert got["Metadata"] == {"b": "2"} and got["ContentType"] == "text/x-new"
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=bucket, Key="dst3", CopySource="%s/src" % bucket,
                       CopySourceIfMatch='"other"')
    assert _code(err) == "PreconditionFailed"
    s3.copy_object(Bucket=bucket, Key="dst3", CopySource="%s/src" % bucket,
                   CopySourceIfMatch=etag)
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=bucket, Key="src", CopySource="%s/src" % bucket)
    assert _code(err) == "InvalidRequest"
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=bucket, Key="x", CopySource="%s/absent" % bucket)
    assert _code(err) == "NoSuchKey"


def test_multi_object_delete(s3, bucket):
    for key in ("m1", "m2", "m3"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "m1"}, {"Key": "m2"}, {"Key": "never-was"}]})
    assert sorted(d["Key"] for d in result["Deleted"]) == ["m1", "m2", "never-was"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "m3"}],
                                                     "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_multi_object_delete_checks_the_body(cluster, bucket):
    body = b"<Delete><Object><Key>k</Key></Object></Delete>"
    wrong_md5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    status, reply = _signed_request(cluster, "POST", "/%s?delete" % bucket, body,
                                    {"Content-MD5": wrong_md5})
    assert status == 400 and b"<Code>BadDigest</Code>" in reply
    status, reply = _signed_request(cluster, "POST", "/%s?delete" % bucket, body)
    assert status == 400 and b"<Code>InvalidRequest</Code>" in reply
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    status, reply = _signed_request(cluster, "POST", "/%s?delete" % bucket, body,
                                    {"x-amz-checksum-crc32": crc})
    assert status == 200 and b"<Deleted><Key>k</Key></Deleted>" in reply


def test_info_lists_s3api_and_its_limits(conn):
    info = conn.get_capabilities()["s3api"]
    assert info["max_bucket_listing"] == 1000 and info["location"] == "us-east-1"
    assert info["max_multi_delete_objects"] == 1000 and info["allow_multipart_uploads"] is True
    assert info["s3_acl"] is False and info["max_parts_listing"] == 1000
    assert info["min_segment_size"] == 5 * 1024 * 1024 and info["max_upload_part_num"] == 1000


def test_swift_api_still_works_beside_s3(conn, s3, bucket):
    s3.put_object(Bucket=bucket, Key="both", Body=b"one store")
    headers, body = conn.get_object(bucket, "both")
    assert body == b"one store"
    conn.put_object(bucket, "from-swift", b"swift wrote")
    assert s3.get_object(Bucket=bucket, Key="from-swift")["Body"].read() == b"swift wrote"


def _raw_header_names(url, headers=None):
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", parts.path + ("?" + parts.query if parts.query else ""),
                           headers=headers or {})
        resp = connection.getresponse()
        resp.read()
        return [name for name, _value in resp.getheaders()]
    finally:
        connection.close()


def test_header_names_go_out_as_s3_writes_them_only_for_s3(conn, s3, bucket):
    """S3 answers carry "ETag" and lower-case x-amz-meta-*; Swift answers keep "Etag"."""
    s3.put_object(Bucket=bucket, Key="cased", Body=b"x", Metadata={"colour": "blue"})
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "cased"})
    names = _raw_header_names(url)
    assert "ETag" in names and "x-amz-meta-colour" in names and "Etag" not in names
    storage_url, token = conn.get_auth()
    names = _raw_header_names("%s/%s/cased" % (storage_url, bucket), {"X-Auth-Token": token})
    assert "Etag" in names and "X-Object-Meta-Colour" in names and "ETag" not in names


def test_checksums_boto3_sends_are_verified_stored_and_returned(s3, bucket):
    put = s3.put_object(Bucket=bucket, Key="crc", Body=b"checked")
    crc = base64.b64encode(zlib.crc32(b"checked").to_bytes(4, "big")).decode()
    assert put["ChecksumCRC32"] == crc
    head = s3.head_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == crc
    assert "ChecksumCRC32" not in s3.head_object(Bucket=bucket, Key="crc")
    for algorithm in ("SHA1", "SHA256"):
        put = s3.put_object(Bucket=bucket, Key="sum-" + algorithm, Body=b"123456789",
                            ChecksumAlgorithm=algorithm)
        assert put["Checksum" + algorithm]
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="bad-crc", Body=b"checked",
                      ChecksumCRC32=base64.b64encode(b"\0\0\0\0").decode())
    assert _code(err) == "BadDigest"
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="bad-crc")
    assert _status(err) == 404


def test_crc32c_checksum(cluster, s3, bucket):
    """botocore needs its CRT extra for CRC32C, so the header is sent by hand."""
    good = base64.b64encode(bytes.fromhex("e3069283")).decode()  # the published check value
    status, _reply, _sent = _signed_raw(cluster, "PUT", "/%s/c32c" % bucket, b"123456789",
                                        {"x-amz-checksum-crc32c": good})
    assert status == 200
    head = s3.head_object(Bucket=bucket, Key="c32c", ChecksumMode="ENABLED")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-crc32c"] == good
    status, reply, _sent = _signed_raw(cluster, "PUT", "/%s/c32c-bad" % bucket, b"12345678X",
                                       {"x-amz-checksum-crc32c": good})
    assert status == 400 and b"<Code>BadDigest</Code>" in reply


def test_streaming_signed_aws_chunked_upload(cluster, s3, bucket):
    payload = bytes(range(256)) * 300  # 76800 bytes: two 64 KiB chunks and the end
    headers = {"Content-Encoding": "aws-chunked",
               "x-amz-decoded-content-length": str(len(payload))}
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"

    def upload(key, corrupt_chunk=None):
        # Sign the head first: its signature seeds the chain of chunk signatures.
        request = AWSRequest(method="PUT", url="%s/%s/%s" % (cluster.proxy_url, bucket, key),
                             headers=dict(headers))
        FixedPayloadAuth(Credentials("test:tester", "testing"), mode).add_auth(request)
        seed = request.headers["Authorization"].rsplit("Signature=", 1)[1]
        body = _aws_chunked(payload, 65536, seed, request.headers["X-Amz-Date"],
                            corrupt_chunk=corrupt_chunk)
        parts = urlparse(cluster.proxy_url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            sent = dict(request.headers.items())
            sent["Content-Length"] = str(len(body))
            connection.request("PUT", "/%s/%s" % (bucket, key), body=body, headers=sent)
            resp = connection.getresponse()
            return resp.status, resp.read()
        finally:
            connection.close()

    status, reply = upload("streamed")
    assert status == 200, reply
    got = s3.get_object(Bucket=bucket, Key="streamed")
    assert got["Body"].read() == payload and got.get("ContentEncoding") is None
    status, reply = upload("tampered", corrupt_chunk=1)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in reply
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="tampered")
    assert _status(err) == 404


def test_unsigned_payload_with_checksum_trailer(cluster, s3, bucket):
    payload = b"trailer checked payload"
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    mode = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

    def body_with(value):
        return b"%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % (
            len(payload), payload, value.encode())
    headers = {"Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
               "x-amz-decoded-content-length": str(len(payload)),
               "X-Amz-Content-SHA256": mode}
    status, reply, _sent = _signed_raw(cluster, "PUT", "/%s/trailed" % bucket,
                                       body_with(crc), headers, payload_mode=mode)
    assert status == 200, reply
    assert s3.get_object(Bucket=bucket, Key="trailed")["Body"].read() == payload
    status, reply, _sent = _signed_raw(cluster, "PUT", "/%s/trailed-bad" % bucket,
                                       body_with("AAAAAA=="), headers, payload_mode=mode)
    assert status == 400 and b"<Code>BadDigest</Code>" in reply
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="trailed-bad")
    assert _status(err) == 404


# -- helpers ------------------------------------------------------------------

def _http_get(url):
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", parts.path + ("?" + parts.query if parts.query else ""))
        resp = connection.getresponse()
        return resp.status, resp.read()
    finally:
        connection.close()


def _signed_request(cluster, method, path_and_query, body=b"", headers=None):
    headers = dict(headers or {})
    headers.setdefault("X-Amz-Content-SHA256", hashlib.sha256(body).hexdigest())
    status, reply, _headers = _signed_raw(cluster, method, path_and_query, body, headers)
    return status, reply


def _aws_chunked(payload, chunk_size, seed_signature, amz_date, secret="testing",
                 corrupt_chunk=None):
    """An aws-chunked body with chained chunk signatures (computed independently here)."""
    date = amz_date[:8]
    scope = "%s/us-east-1/s3/aws4_request" % date
    key = ("AWS4" + secret).encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    chunks = [payload[i:i + chunk_size] for i in range(0, len(payload), chunk_size)] + [b""]
    previous, out = seed_signature, b""
    empty = hashlib.sha256(b"").hexdigest()
    for index, chunk in enumerate(chunks):
        text = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, empty,
                          hashlib.sha256(chunk).hexdigest()])
        signature = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        sent = chunk
        if index == corrupt_chunk:
            sent = bytes([chunk[0] ^ 1]) + chunk[1:]
        out += b"%x;chunk-signature=%s\r\n%s\r\n" % (len(sent), signature.encode(), sent)
        previous = signature
    return out
