"""The s3api filter in process: routing, errors as S3 XML, XML refused with a DTD,
and tempauth's side of the signature interface."""
import json
import xml.etree.ElementTree as ElementTree
from urllib.parse import parse_qs

import webob

from objstore.middleware import tempauth
from objstore.middleware.s3api import S3ApiMiddleware, buckets
from objstore.middleware.s3api.auth import AUTH_DETAILS_KEY, AuthDetails
from objstore.middleware.s3api.config import S3ApiConfig
from objstore.middleware.s3api.context import S3Request
from objstore.middleware.s3api.routing import route
from objstore.middleware.s3api.s3xml import XmlRefused, parse_xml

import pytest


def test_routing_path_and_virtual_host():
    target = route({"PATH_INFO": "/bkt/a/b%20c", "RAW_PATH_INFO": "/bkt/a/b%2520c",
                    "HTTP_HOST": "127.0.0.1:8080"}, ["localhost"])
    assert (target.bucket, target.key) == ("bkt", "a/b%20c")
    target = route({"PATH_INFO": "/a/b", "HTTP_HOST": "bkt.localhost:8080"}, ["localhost"])
    assert (target.bucket, target.key, target.v2_resource) == ("bkt", "a/b", b"/bkt/a/b")
    assert route({"PATH_INFO": "/", "HTTP_HOST": "x"}, ["localhost"]).bucket is None


def test_xml_with_doctype_or_entity_is_refused():
    with pytest.raises(XmlRefused):
        parse_xml(b'<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')
    with pytest.raises(XmlRefused):
        parse_xml(b"<a><b></a>")
    assert parse_xml(b'<a xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><b/></a>') \
        .find("b") is not None


def passthrough(environ, start_response):
    return webob.Response(body=b"swift")(environ, start_response)


def test_non_s3_requests_pass_untouched():
    app = S3ApiMiddleware(passthrough, S3ApiConfig.of({"storage_domain": "localhost"}))
    resp = webob.Request.blank("/v1/AUTH_test", headers={"X-Auth-Token": "t"}
                               ).get_response(app)
    assert resp.body == b"swift"


def test_unsigned_requests_on_storage_domain_hosts_stay_swift():
    """domain_remap's sites (site.auth-test.localhost) share the storage domain."""
    app = S3ApiMiddleware(passthrough, S3ApiConfig.of({"storage_domain": "localhost"}))
    resp = webob.Request.blank("/page", headers={"Host": "site.auth-test.localhost"}
                               ).get_response(app)
    assert resp.body == b"swift"


def test_v2_signed_virtual_host_request_is_refused_without_echoing_its_path():
    app = S3ApiMiddleware(passthrough, S3ApiConfig.of({"storage_domain": "localhost"}))
    resp = webob.Request.blank("/key", headers={"Host": "bkt.localhost",
                                                "Authorization": "AWS nocolon"}
                               ).get_response(app)
    assert resp.status_int == 403
    assert b"<Code>AccessDenied</Code>" in resp.body and b"<RequestId>" in resp.body
    assert b"<Resource>" not in resp.body and b"bkt" not in resp.body


def test_virtual_host_names_the_bucket_and_v2_resource():
    target = route({"PATH_INFO": "/key", "HTTP_HOST": "bkt.localhost:8080"}, ["localhost"])
    assert (target.bucket, target.key, target.v2_resource) == ("bkt", "key", b"/bkt/key")


def test_malformed_v4_header_is_an_s3_error():
    app = S3ApiMiddleware(passthrough, S3ApiConfig.of({}))
    resp = webob.Request.blank("/bkt", headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=x"}).get_response(app)
    assert resp.status_int == 400
    assert b"<Code>AuthorizationHeaderMalformed</Code>" in resp.body


class Signed(AuthDetails):
    def __init__(self, access_key, good_key):
        super().__init__(access_key=access_key, signature="s", string_to_sign=b"",
                         version=4)
        self.good_key = good_key
        self.checks = 0

    def check_signature(self, secret):
        self.checks += 1
        return secret == self.good_key


def seen_by_proxy(environ, start_response):
    body = ("%s %s" % (environ["PATH_INFO"], environ.get("REMOTE_USER"))).encode()
    return webob.Response(body=body)(environ, start_response)


def make_tempauth():
    return tempauth.TempAuth(seen_by_proxy, {"user_test_tester": "testing .admin",
                                             "token_secret": "s" * 32})


def test_tempauth_checks_the_signature_once_and_maps_the_account():
    auth = make_tempauth()
    details = Signed("test:tester", "testing")
    for _ in range(2):
        req = webob.Request.blank("/v1/test:tester/bucket/key")
        req.environ[AUTH_DETAILS_KEY] = details
        resp = req.get_response(auth)
        assert resp.body.startswith(b"/v1/AUTH_test/bucket/key test,test:tester")
    assert details.checks == 1 and details.account == "AUTH_test"


def test_tempauth_refusals_name_the_s3_error():
    auth = make_tempauth()
    for details, code in ((Signed("test:nobody", "x"), "InvalidAccessKeyId"),
                          (Signed("test:tester", "wrong"), "SignatureDoesNotMatch")):
        req = webob.Request.blank("/v1/%s/bucket" % details.access_key)
        req.environ[AUTH_DETAILS_KEY] = details
        assert req.get_response(auth).status_int == 403
        assert details.error == code


def s3_request(app, bucket=None, key=None):
    details = AuthDetails(access_key="test:tester", signature="s", string_to_sign=b"",
                          version=4)
    environ = webob.Request.blank("/").environ
    return S3Request(app, environ, S3ApiConfig.of({}), details, bucket, key, {}, "tx1")


def test_list_buckets_shows_only_names_a_bucket_can_have():
    """Swift container names may hold "&", "_", "+segments" or control characters,
    which no bucket has (and no XML document may carry)."""
    names = ["good-bucket", "ctl\x01-name", "amp-&a", "under_score", "good-bucket+segments",
             "UPPER", "zz.top"]

    def account(environ, start_response):
        body = b"[]" if parse_qs(environ["QUERY_STRING"]).get("marker") else json.dumps(
            [{"name": name, "count": 0, "bytes": 0,
              "last_modified": "2026-11-30T10:00:00.000000"} for name in names]).encode()
        return webob.Response(body=body, content_type="application/json")(
            environ, start_response)

    resp = buckets.list_buckets(s3_request(account))
    root = ElementTree.fromstring(resp.body)
    listed = [element.text for element in root.iter(
        "{http://s3.amazonaws.com/doc/2006-03-01/}Name")]
    assert listed == ["good-bucket", "zz.top"]


@pytest.mark.parametrize("status, code, s3_status", [
    (406, "InvalidRequest", 400), (409, "OperationAborted", 409), (429, "SlowDown", 503),
    (410, "InvalidRequest", 400), (502, "InternalError", 500), (507, "ServiceUnavailable", 503)])
def test_swift_statuses_become_s3_errors_and_a_4xx_stays_a_4xx(status, code, s3_status):
    req = s3_request(passthrough, "bkt", "key")
    error = req.fail_for(webob.Response(status=status, body=b"why"))
    assert (error.code, error.status) == (code, s3_status)


def test_a_refused_upload_reads_a_small_body_first_and_leaves_a_large_one():
    """An SDK waiting on Expect: 100-continue sends the body after a second; the
    refusal must not race it (a large body is left for the protocol to close on)."""
    app = S3ApiMiddleware(passthrough, S3ApiConfig.of({}))
    for size, left in ((1000, b""), (2 * 1024 * 1024, b"x")):
        req = webob.Request.blank("/bkt/key", method="PUT", body=b"x" * size, headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=x"})
        assert req.get_response(app).status_int == 400
        assert req.environ["wsgi.input"].read(1) == left
