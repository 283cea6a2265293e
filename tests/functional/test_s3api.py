"""The S3 API through boto3 against the real cluster: auth, buckets, objects, errors.

Every error case asserts the exact S3 error code a client branches on.
"""
import base64
import hashlib
import http.client
import time
import uuid
import zlib
from urllib.parse import urlparse

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from objstore.aio.cluster import USERS


def _client(cluster, user="test:tester", key=None, **config):
    config.setdefault("s3", {"addressing_style": "path"})
    config.setdefault("retries", {"max_attempts": 1})
    return boto3.client("s3", endpoint_url=cluster.proxy_url, region_name="us-east-1",
                        aws_access_key_id=user, aws_secret_access_key=key or USERS[user],
                        config=Config(**config))


@pytest.fixture
def s3(cluster):
    return _client(cluster)


@pytest.fixture
def bucket(s3):
    name = "b-%s" % uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)


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
    status, body = _raw_put_signed_for(cluster, bucket, "lying", b"real body...",
                                       b"another body")
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
    limited = _client(cluster, user="test:tester3")
    with pytest.raises(ClientError) as err:
        limited.list_objects_v2(Bucket=bucket)
    assert _code(err) == "AccessDenied"


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
    s3.put_object(Bucket=bucket, Key="vh", Body=b"virtual")
    port = urlparse(cluster.proxy_url).port
    vhost = boto3.client("s3", endpoint_url="http://localhost:%d" % port,
                         region_name="us-east-1", aws_access_key_id="test:tester",
                         aws_secret_access_key="testing",
                         config=Config(s3={"addressing_style": "virtual"}))
    # <bucket>.localhost does not resolve everywhere: send to 127.0.0.1 with the Host set.
    def to_loopback(request, **_kwargs):
        request.url = request.url.replace("%s.localhost" % bucket, "127.0.0.1")
        request.headers["Host"] = "%s.localhost:%d" % (bucket, port)
    vhost.meta.events.register_first("before-send.s3", to_loopback)
    del vhost.meta.events  # noqa  (keep flake quiet about the closure)


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


def test_swift_api_still_works_beside_s3(conn, s3, bucket):
    s3.put_object(Bucket=bucket, Key="both", Body=b"one store")
    headers, body = conn.get_object(bucket, "both")
    assert body == b"one store"
    conn.put_object(bucket, "from-swift", b"swift wrote")
    assert s3.get_object(Bucket=bucket, Key="from-swift")["Body"].read() == b"swift wrote"


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
    """A V4-signed request built by botocore's signer, for bodies boto3 would not send."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    url = cluster.proxy_url + path_and_query
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    S3SigV4Auth(Credentials("test:tester", "testing"), "s3", "us-east-1").add_auth(request)
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, parts.path + ("?" + parts.query if parts.query else ""),
                           body=body, headers=dict(request.headers.items()))
        resp = connection.getresponse()
        return resp.status, resp.read()
    finally:
        connection.close()


def _raw_put_signed_for(cluster, bucket, key, body, signed_body):
    """PUT ``body`` with a valid signature over another body of the same length."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    assert len(body) == len(signed_body)
    url = "%s/%s/%s" % (cluster.proxy_url, bucket, key)
    request = AWSRequest(method="PUT", url=url, data=signed_body)
    S3SigV4Auth(Credentials("test:tester", "testing"), "s3", "us-east-1").add_auth(request)
    parts = urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("PUT", parts.path, body=body, headers=dict(request.headers.items()))
        resp = connection.getresponse()
        return resp.status, resp.read()
    finally:
        connection.close()
