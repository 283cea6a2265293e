"""S3 details strict clients check: error bodies, names, conditions, expiry, XML order.

Each case here is a behaviour OpenStack Swift's own s3api tests hold a server
to (conformance/), asserted with boto3 or a raw signed request and the exact
S3 error code.
"""
import base64
import email.utils
import hashlib
import http.client
import time
import xml.etree.ElementTree as ElementTree
from urllib.parse import urlparse

import botocore.handlers
import pytest
from botocore.exceptions import ClientError

from tests.functional.s3_clients import s3_client, signed_exchange

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def _code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def _status(excinfo):
    return excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def _error(body):
    root = ElementTree.fromstring(body)
    return root.findtext("Code"), root.findtext("Message"), [child.tag for child in root]


def _lenient_client(cluster):
    """A client that sends bucket names boto3 itself would refuse."""
    s3 = s3_client(cluster)
    s3.meta.events.unregister("before-parameter-build.s3",
                              botocore.handlers.validate_bucket_name)
    return s3


def test_error_body_does_not_echo_the_request_path(cluster, unique):
    name = unique("xxe")
    body = (b'<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>'
            b"<CreateBucketConfiguration><LocationConstraint>&xxe;</LocationConstraint>"
            b"</CreateBucketConfiguration>")
    status, _headers, reply, _sent = signed_exchange(cluster, "PUT", "/" + name, body)
    code, _message, tags = _error(reply)
    assert (status, code) == (400, "MalformedXML")
    assert tags == ["Code", "Message", "RequestId"] and b"xxe" not in reply


def test_names_no_bucket_can_have_are_invalid_for_every_request(cluster):
    s3 = _lenient_client(cluster)
    for call in (s3.list_objects, s3.delete_bucket):
        with pytest.raises(ClientError) as err:
            call(Bucket="bucket+invalid")
        assert (_status(err), _code(err)) == (400, "InvalidBucketName")
    with pytest.raises(ClientError) as err:
        s3.head_bucket(Bucket="bucket+invalid")
    assert _status(err) == 400
    # The hidden segments containers are no buckets either.
    with pytest.raises(ClientError) as err:
        s3.list_objects(Bucket="photos+segments")
    assert _code(err) == "InvalidBucketName"


def test_object_lock_configuration_is_absent_and_cannot_be_set(s3, bucket):
    with pytest.raises(ClientError) as err:
        s3.get_object_lock_configuration(Bucket=bucket)
    assert (_status(err), _code(err)) == (404, "ObjectLockConfigurationNotFoundError")
    with pytest.raises(ClientError) as err:
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={})
    assert (_status(err), _code(err)) == (501, "NotImplemented")


def test_put_acts_on_if_none_match_star_and_refuses_other_conditions(cluster, s3, bucket):
    path = "/%s/cond" % bucket
    for header, value in (("If-Match", "*"), ("If-None-Match", "abc"),
                          ("If-Modified-Since", "Sat, 27 Jun 2015 00:00:00 GMT"),
                          ("If-Unmodified-Since", "Sat, 27 Jun 2015 00:00:00 GMT")):
        status, _h, body, _s = signed_exchange(cluster, "PUT", path, b"data",
                                               {header: value})
        assert (status, _error(body)[0]) == (501, "NotImplemented")
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=bucket, Key="cond")
    assert _status(err) == 404
    status, _h, _body, _s = signed_exchange(cluster, "PUT", path, b"first",
                                            {"If-None-Match": "*"})
    assert status == 200
    status, _h, body, _s = signed_exchange(cluster, "PUT", path, b"second",
                                           {"If-None-Match": "*"})
    assert (status, _error(body)[0]) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="cond")["Body"].read() == b"first"


def test_swift_expiry_headers_are_checked_and_reported(cluster, s3, bucket):
    path = "/%s/expiring" % bucket
    for headers, message in (({"X-Delete-At": str(int(time.time()) - 140)},
                              "X-Delete-At in past"),
                             ({"X-Delete-At": "test"}, "Non-integer X-Delete-At"),
                             ({"X-Delete-After": "test"}, "Non-integer X-Delete-After"),
                             ({"X-Delete-After": "-140"}, "X-Delete-After in past")):
        status, _h, body, _s = signed_exchange(cluster, "PUT", path, b"x", headers)
        assert (status, _error(body)[:2]) == (400, ("InvalidArgument", message))
    delete_at = int(time.time()) + 3600
    status, _h, _body, _s = signed_exchange(cluster, "PUT", path, b"x",
                                            {"X-Delete-At": str(delete_at)})
    assert status == 200
    expected = 'expiry-date="%s", rule-id="swift-object-expiration"' % \
        email.utils.formatdate(delete_at, usegmt=True)
    head = s3.head_object(Bucket=bucket, Key="expiring")
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-expiration"] == expected
    s3.put_object(Bucket=bucket, Key="lasting", Body=b"x")
    head = s3.head_object(Bucket=bucket, Key="lasting")
    assert "x-amz-expiration" not in head["ResponseMetadata"]["HTTPHeaders"]


def test_key_longer_than_the_name_limit_is_key_too_long(conn, s3, bucket):
    limit = conn.get_capabilities()["swift"]["max_object_name_length"]
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="x" * (limit + 1), Body=b"x")
    assert (_status(err), _code(err)) == (400, "KeyTooLongError")
    s3.put_object(Bucket=bucket, Key="x" * limit, Body=b"x")


def test_robots_tag_round_trips(cluster, bucket):
    path = "/%s/page" % bucket
    status, _h, _b, _s = signed_exchange(cluster, "PUT", path, b"<html/>",
                                         {"X-Robots-Tag": "googlebot: noarchive"})
    assert status == 200
    status, headers, _b, _s = signed_exchange(cluster, "HEAD", path)
    assert (status, headers["X-Robots-Tag"]) == (200, "googlebot: noarchive")


def test_head_with_a_range_describes_the_range(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="ten", Body=b"abcdefghij")
    for byte_range in ("bytes=1-5", "bytes=5-", "bytes=-5"):
        status, headers, body, _s = signed_exchange(cluster, "HEAD", "/%s/ten" % bucket,
                                                    headers={"Range": byte_range})
        assert (status, headers["Content-Length"], body) == (206, "5", b"")
        assert headers["Accept-Ranges"] == "bytes"


def test_copy_source_with_unknown_parameters_is_invalid_argument(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"content", Metadata={"test": "src"})
    path = "/%s/dst" % bucket
    for source in ("/%s/src?nonsense" % bucket, "/%s/src?versionId=null&nonsense" % bucket):
        status, _h, body, _s = signed_exchange(cluster, "PUT", path,
                                               headers={"X-Amz-Copy-Source": source})
        assert (status, _error(body)[0]) == (400, "InvalidArgument")
    status, _h, _b, _s = signed_exchange(cluster, "PUT", path, headers={
        "X-Amz-Copy-Source": "/%s/src?versionId=null" % bucket})
    assert status == 200
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert (got["Body"].read(), got["Metadata"]) == (b"content", {"test": "src"})


def test_multi_delete_of_an_empty_key_is_user_key_must_be_specified(cluster, bucket):
    body = b"<Delete><Object><Key></Key></Object></Delete>"
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    status, _h, reply, _s = signed_exchange(cluster, "POST", "/%s?delete" % bucket, body,
                                            {"Content-MD5": md5})
    assert (status, _error(reply)[0]) == (400, "UserKeyMustBeSpecified")


def test_presigned_expiry_limits(cluster):
    def code_and_message(url):
        parts = urlparse(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            connection.request("GET", parts.path + "?" + parts.query)
            resp = connection.getresponse()
            return (resp.status,) + _error(resp.read())[:2]
        finally:
            connection.close()

    v2 = s3_client(cluster, signature_version="s3")
    url = v2.generate_presigned_url("list_objects", Params={"Bucket": "bkt"},
                                    ExpiresIn=2 ** 32)
    status, code, message = code_and_message(url)
    assert (status, code) == (403, "AccessDenied")
    assert message.startswith("Invalid date (should be seconds since epoch)")
    v4 = s3_client(cluster, signature_version="s3v4")
    base = v4.generate_presigned_url("list_objects", Params={"Bucket": "bkt"}, ExpiresIn=60)
    for expires, message in (("-1", "X-Amz-Expires must be non-negative"),
                             ("604801", "X-Amz-Expires must be less than a week"),
                             ("foo", "X-Amz-Expires should be a number"),
                             (str(2 ** 63), "X-Amz-Expires should be a number")):
        status, code, text = code_and_message(base.replace("X-Amz-Expires=60",
                                                           "X-Amz-Expires=" + expires))
        assert (status, code) == (400, "AuthorizationQueryParametersError")
        assert text.startswith(message)


def test_listing_xml_follows_the_schema_order_and_head_times(cluster, s3, bucket):
    s3.put_object(Bucket=bucket, Key="a/one", Body=b"1")
    status, _h, body, _s = signed_exchange(cluster, "GET", "/%s?delimiter=%%2F&max-keys=5"
                                           % bucket)
    root = ElementTree.fromstring(body)
    assert status == 200, body
    assert [child.tag[len(NS):] for child in root] == [
        "Name", "Prefix", "Marker", "MaxKeys", "Delimiter", "IsTruncated", "CommonPrefixes"]
    listed = s3.list_objects(Bucket=bucket)["Contents"][0]
    status, _h, body, _s = signed_exchange(cluster, "GET", "/%s" % bucket)
    contents = ElementTree.fromstring(body).find(NS + "Contents")
    assert [child.tag[len(NS):] for child in contents] == [
        "Key", "LastModified", "ETag", "Size", "Owner", "StorageClass"]
    assert contents.findtext(NS + "LastModified").endswith(".000Z")
    head = s3.head_object(Bucket=bucket, Key="a/one")
    assert listed["LastModified"] == head["LastModified"]


def test_upload_listing_always_names_the_next_markers(cluster, s3, bucket):
    status, _h, body, _s = signed_exchange(cluster, "GET", "/%s?uploads" % bucket)
    tags = [child.tag[len(NS):] for child in ElementTree.fromstring(body)]
    assert status == 200 and tags == ["Bucket", "KeyMarker", "UploadIdMarker", "NextKeyMarker",
                                      "NextUploadIdMarker", "Prefix", "MaxUploads",
                                      "IsTruncated"]
    first = s3.create_multipart_upload(Bucket=bucket, Key="a")["UploadId"]
    second = s3.create_multipart_upload(Bucket=bucket, Key="b")["UploadId"]
    one = s3.list_multipart_uploads(Bucket=bucket, Prefix="a")
    assert (one["NextKeyMarker"], one["NextUploadIdMarker"]) == ("", "")
    both = s3.list_multipart_uploads(Bucket=bucket)
    assert (both["NextKeyMarker"], both["NextUploadIdMarker"]) == ("b", second)
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=1)
    assert page["IsTruncated"] and (page["NextKeyMarker"], page["NextUploadIdMarker"]) == \
        ("a", first)



def test_metadata_names_with_underscores_are_signed_stored_and_returned(cluster, s3, bucket):
    """WSGI reads "_" in a header name as "-": both names must survive, apart."""
    s3.put_object(Bucket=bucket, Key="meta", Body=b"x",
                  Metadata={"foo-bar": "baz", "foo_bar": "also baz"})
    assert s3.head_object(Bucket=bucket, Key="meta")["Metadata"] == {
        "foo-bar": "baz", "foo_bar": "also baz"}
    v2 = s3_client(cluster, signature_version="s3")
    v2.put_object(Bucket=bucket, Key="meta2", Body=b"x", Metadata={"a_b": "v2"})
    assert v2.get_object(Bucket=bucket, Key="meta2")["Metadata"] == {"a_b": "v2"}
