"""S3 signatures and checked bodies against AWS's published examples.

The vectors are AWS's own (Signature V4 for S3: "GET Object" and the
aws-chunked "PUT Object" example, secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY),
so the formulas are checked against an independent source, not themselves.
"""
import calendar
import hashlib
import io
import time

import pytest

from objstore.middleware.s3api.auth import AuthReader, parse_query
from objstore.middleware.s3api.body import AwsChunkedInput, BodyRefused
from objstore.middleware.s3api.checksums import Crc32c
from objstore.middleware.s3api.errors import S3Error

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
WHEN = calendar.timegm(time.strptime("20130524T000000Z", "%Y%m%dT%H%M%SZ"))
EMPTY_SHA = hashlib.sha256(b"").hexdigest()


def reader(offset=0.0):
    return AuthReader("us-east-1", clock=lambda: WHEN + offset)


def get_object_environ(signature="f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"):
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": "/test.txt", "QUERY_STRING": "",
        "HTTP_HOST": "examplebucket.s3.amazonaws.com", "HTTP_RANGE": "bytes=0-9",
        "HTTP_X_AMZ_CONTENT_SHA256": EMPTY_SHA, "HTTP_X_AMZ_DATE": "20130524T000000Z",
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
        "us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=" + signature}


def test_v4_header_signature_matches_aws_example():
    details = reader().read(get_object_environ(), [], b"")
    assert details.access_key == "AKIAIOSFODNN7EXAMPLE"
    assert details.check_signature(SECRET)
    assert not details.check_signature(SECRET + "x")


def test_v4_signature_changes_with_the_signed_headers():
    environ = get_object_environ()
    environ["HTTP_RANGE"] = "bytes=0-10"
    assert not reader().read(environ, [], b"").check_signature(SECRET)


def test_clock_skew_and_region_and_missing_payload_hash():
    with pytest.raises(S3Error) as err:
        reader(offset=16 * 60).read(get_object_environ(), [], b"")
    assert err.value.code == "RequestTimeTooSkewed"
    assert reader(offset=14 * 60).read(get_object_environ(), [], b"") is not None
    with pytest.raises(S3Error) as err:
        AuthReader("eu-west-1", clock=lambda: WHEN).read(get_object_environ(), [], b"")
    assert err.value.code == "AuthorizationHeaderMalformed"
    environ = get_object_environ()
    del environ["HTTP_X_AMZ_CONTENT_SHA256"]
    with pytest.raises(S3Error) as err:
        reader().read(environ, [], b"")
    assert err.value.code == "InvalidRequest"


def test_x_amz_date_must_be_a_real_time():
    for bad in ("20130230T000000Z", "20130524T240000Z", "20130524T000060Z", "2013052T0000000Z"):
        environ = get_object_environ()
        environ["HTTP_X_AMZ_DATE"] = bad
        with pytest.raises(S3Error) as err:
            reader().read(environ, [], b"")
        assert err.value.code == "AccessDenied", bad
    environ = get_object_environ()
    environ["HTTP_X_AMZ_DATE"] = "20130524T001459Z"   # 14 min 59 s after the clock
    assert reader().read(environ, [], b"") is not None
    environ["HTTP_X_AMZ_DATE"] = "20130524T001501Z"
    with pytest.raises(S3Error) as err:
        reader().read(environ, [], b"")
    assert err.value.code == "RequestTimeTooSkewed"


def test_presigned_v4_matches_aws_example():
    query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F"
             "20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&"
             "X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
             "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/test.txt", "QUERY_STRING": query,
               "HTTP_HOST": "examplebucket.s3.amazonaws.com"}
    details = reader(offset=60).read(environ, parse_query(query), b"")
    assert details.check_signature(SECRET)
    with pytest.raises(S3Error) as err:
        reader(offset=86401).read(environ, parse_query(query), b"")
    assert err.value.code == "AccessDenied"


def test_v2_signature_matches_aws_example():
    # AWS's REST authentication example (Signature V2): GET /photos/puppy.jpg.
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/photos/puppy.jpg", "QUERY_STRING": "",
               "HTTP_HOST": "awsexamplebucket1.us-west-1.s3.amazonaws.com",
               "HTTP_DATE": "Tue, 27 Mar 2007 19:36:42 +0000",
               "HTTP_AUTHORIZATION": "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="}
    now = calendar.timegm((2007, 3, 27, 19, 36, 42))
    details = AuthReader("us-east-1", clock=lambda: now).read(
        environ, [], b"/awsexamplebucket1/photos/puppy.jpg")
    assert details.check_signature(SECRET)


CHUNK_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGNATURES = ("ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                    "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                    "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")


def chunked_details():
    environ = {
        "REQUEST_METHOD": "PUT", "PATH_INFO": "/examplebucket/chunkObject.txt",
        "QUERY_STRING": "", "HTTP_HOST": "s3.amazonaws.com",
        "HTTP_X_AMZ_DATE": "20130524T000000Z", "HTTP_X_AMZ_STORAGE_CLASS": "REDUCED_REDUNDANCY",
        "HTTP_X_AMZ_CONTENT_SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "HTTP_CONTENT_ENCODING": "aws-chunked", "HTTP_X_AMZ_DECODED_CONTENT_LENGTH": "66560",
        "CONTENT_LENGTH": "66824",
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
        "us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;"
        "x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,"
        "Signature=" + CHUNK_SEED}
    details = reader().read(environ, [], b"")
    assert details.check_signature(SECRET)
    return details


def chunked_body(data_a=b"a" * 65536, data_b=b"a" * 1024):
    return b"".join(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(data), sig.encode(), data)
                    for data, sig in zip((data_a, data_b, b""), CHUNK_SIGNATURES))


def test_aws_chunked_example_body_is_accepted():
    body = chunked_body()
    assert len(body) == 66824
    stream = AwsChunkedInput(io.BytesIO(body), chunked_details(), 66560, signed=True)
    out = b""
    while len(out) < 66560:
        out += stream.read(10000)
    assert out == b"a" * 66560 and stream.done


def test_aws_chunked_tampered_chunk_is_refused_before_release():
    body = chunked_body(data_b=b"b" + b"a" * 1023)
    stream = AwsChunkedInput(io.BytesIO(body), chunked_details(), 66560, signed=True)
    assert stream.read(65536) == b"a" * 65536
    with pytest.raises(BodyRefused):
        stream.read(65536)
    assert stream.refused.code == "SignatureDoesNotMatch"


def test_aws_chunked_length_must_match_decoded_length():
    stream = AwsChunkedInput(io.BytesIO(chunked_body()), chunked_details(), 66000, signed=True)
    with pytest.raises(BodyRefused):
        while stream.read(65536):
            pass
    assert stream.refused.code == "IncompleteBody"


def test_crc32c_check_value():
    hasher = Crc32c()
    hasher.update(b"123456789")
    assert hasher.digest().hex() == "e3069283"
