"""The tempurl middleware against a stand-in proxy that knows one account's keys."""
import base64
import hashlib
import hmac
import time

import pytest
from webob import Request, Response

from objstore.common.config import ConfigError
from objstore.middleware import tempurl

NOW = 1_900_000_000
OBJ = "/v1/AUTH_a/c/o.txt"


class KeyedProxy:
    """Answers account/container HEADs with temp URL keys; objects with 200 and their headers."""

    def __init__(self):
        self.account_meta = {"Temp-URL-Key": "akey"}
        self.container_meta = {"Temp-URL-Key-2": "ckey"}
        self.seen = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        parts = environ["PATH_INFO"].split("/", 4)
        if len(parts) == 3:
            resp = Response(status=204, headers={
                "X-Account-Meta-" + k: v for k, v in self.account_meta.items()})
        elif len(parts) == 4:
            resp = Response(status=204, headers={
                "X-Container-Meta-" + k: v for k, v in self.container_meta.items()})
        else:
            self.seen.append(dict(environ))
            denied = environ.get("swift.authorize", lambda r: None)(req)
            if denied is not None:
                return denied(environ, start_response)
            resp = Response(status=200, body=b"data", headers={
                "X-Object-Meta-Secret": "s", "X-Object-Meta-Public-Name": "p",
                "Content-Type": "text/plain"})
        return resp(environ, start_response)


@pytest.fixture
def proxy():
    return KeyedProxy()


def make(proxy, **conf):
    conf_obj = tempurl.TempURLConfig.from_section(conf)
    return tempurl.TempURL(proxy, conf_obj, clock=lambda: NOW)


def sig(key, method, expires, path, digest="sha256", ip=None):
    message = "%s%s\n%s\n%s" % ("ip=%s\n" % ip if ip else "", method, expires, path)
    return hmac.new(key.encode(), message.encode(), getattr(hashlib, digest)).hexdigest()


def call(app, path=OBJ, method="GET", query="", **kw):
    req = Request.blank(path + ("?" + query if query else ""), method=method, **kw)
    req.remote_addr = kw.pop("remote_addr", "127.0.0.1")
    return req.get_response(app)


def q(signature, expires=NOW + 60, **extra):
    parts = ["temp_url_sig=%s" % signature, "temp_url_expires=%s" % expires]
    parts += ["%s=%s" % (k, v) for k, v in extra.items()]
    return "&".join(parts)


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_hex_signature_of_each_digest_with_account_key(proxy, digest):
    app = make(proxy)
    resp = call(app, query=q(sig("akey", "GET", NOW + 60, OBJ, digest)))
    assert resp.status_int == 200 and resp.body == b"data"
    assert proxy.seen[-1]["REMOTE_USER"] == ".wsgi.tempurl"
    assert resp.headers["Content-Disposition"] == \
        "attachment; filename=\"o.txt\"; filename*=UTF-8''o.txt"
    assert resp.headers["Expires"] == "Sun, 17 Mar 2030 17:47:40 GMT"


@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
@pytest.mark.parametrize("urlsafe", [True, False])
def test_base64_form_with_container_key(proxy, digest, urlsafe):
    raw = bytes.fromhex(sig("ckey", "GET", NOW + 60, OBJ, digest))
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()
    encoded = encoded.rstrip("=")
    resp = call(make(proxy), query=q("%s:%s" % (digest, encoded.replace("+", "%2B"))))
    assert resp.status_int == 200


def test_iso8601_expiry_is_signed_as_unix_time(proxy):
    expires = NOW + 3600
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires))
    resp = call(make(proxy), query=q(sig("akey", "GET", expires, OBJ), expires=iso))
    assert resp.status_int == 200


@pytest.mark.parametrize("query", [
    q(sig("akey", "GET", NOW - 1, OBJ), expires=NOW - 1),          # expired
    q(sig("akey", "GET", NOW + 60, OBJ), expires=NOW + 61),        # expiry changed
    q(sig("wrong", "GET", NOW + 60, OBJ)),                          # wrong key
    q(sig("akey", "PUT", NOW + 60, OBJ)),                           # other method
    q(sig("akey", "GET", NOW + 60, "/v1/AUTH_a/c/other")),          # other path
    q("abc"),                                                       # not a signature
    q("md5:AAAA"),                                                  # unknown digest
    q("sha256:!!!!"),                                               # bad base64
    "temp_url_sig=" + sig("akey", "GET", NOW + 60, OBJ),            # no expiry
    "temp_url_expires=%d" % (NOW + 60),                             # no signature
    q(sig("akey", "GET", NOW + 60, OBJ), expires="tomorrow"),       # unreadable expiry
])
def test_anything_wrong_is_401(proxy, query):
    resp = call(make(proxy), query=query)
    assert resp.status_int == 401
    assert resp.body == b"401 Unauthorized: Temp URL invalid\n"
    assert proxy.seen == []


def test_digest_not_allowed_is_401(proxy):
    app = make(proxy, allowed_digests="sha256 sha512")
    assert call(app, query=q(sig("akey", "GET", NOW + 60, OBJ, "sha1"))).status_int == 401


def test_method_not_configured_is_401(proxy):
    app = make(proxy, methods="GET HEAD")
    resp = call(app, method="DELETE", query=q(sig("akey", "DELETE", NOW + 60, OBJ)))
    assert resp.status_int == 401


def test_container_and_account_paths_are_refused(proxy):
    for path in ("/v1/AUTH_a/c", "/v1/AUTH_a", "/v1/AUTH_a/c/"):
        resp = call(make(proxy), path=path, query=q(sig("akey", "GET", NOW + 60, path)))
        assert resp.status_int == 401


def test_no_keys_is_401(proxy):
    proxy.account_meta = {}
    proxy.container_meta = {}
    assert call(make(proxy), query=q(sig("", "GET", NOW + 60, OBJ))).status_int == 401


def test_head_accepts_get_put_and_post_signatures(proxy):
    for method in ("GET", "PUT", "POST", "HEAD"):
        resp = call(make(proxy), method="HEAD", query=q(sig("akey", method, NOW + 60, OBJ)))
        assert resp.status_int == 200, method
    resp = call(make(proxy), method="HEAD", query=q(sig("akey", "DELETE", NOW + 60, OBJ)))
    assert resp.status_int == 401 and resp.body == b""


def test_prefix_link_covers_objects_under_the_prefix_only(proxy):
    signed = sig("akey", "GET", NOW + 60, "prefix:/v1/AUTH_a/c/dir/")
    assert call(make(proxy), path="/v1/AUTH_a/c/dir/x",
                query=q(signed, temp_url_prefix="dir/")).status_int == 200
    assert call(make(proxy), path="/v1/AUTH_a/c/other",
                query=q(signed, temp_url_prefix="dir/")).status_int == 401


def test_ip_range(proxy):
    signed = sig("akey", "GET", NOW + 60, OBJ, ip="10.0.0.0/8")
    query = q(signed, temp_url_ip_range="10.0.0.0/8")
    req = Request.blank(OBJ + "?" + query, remote_addr="10.1.2.3")
    assert req.get_response(make(proxy)).status_int == 200
    req = Request.blank(OBJ + "?" + query, remote_addr="192.168.0.1")
    assert req.get_response(make(proxy)).status_int == 401
    # the range is part of what was signed
    req = Request.blank(OBJ + "?" + q(signed, temp_url_ip_range="0.0.0.0/0"),
                        remote_addr="10.1.2.3")
    assert req.get_response(make(proxy)).status_int == 401


def test_inline_and_filename(proxy):
    signed = sig("akey", "GET", NOW + 60, OBJ)
    resp = call(make(proxy), query=q(signed, inline=""))
    assert resp.headers["Content-Disposition"] == "inline"
    resp = call(make(proxy), query=q(signed, inline="", filename="r%C3%A9sum%C3%A9.pdf"))
    assert resp.headers["Content-Disposition"] == \
        "inline; filename=\"r%C3%A9sum%C3%A9.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    resp = call(make(proxy), query=q(signed, filename="a%22b.txt"))
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="a%22b.txt"')


def test_outgoing_headers_stripped_except_public(proxy):
    resp = call(make(proxy), query=q(sig("akey", "GET", NOW + 60, OBJ)))
    assert "X-Object-Meta-Secret" not in resp.headers
    assert resp.headers["X-Object-Meta-Public-Name"] == "p"


def test_incoming_headers_and_query_cleaned(proxy):
    signed = sig("akey", "PUT", NOW + 60, OBJ)
    resp = call(make(proxy), method="PUT", body=b"x",
                query=q(signed, **{"multipart-manifest": "delete"}),
                headers={"X-Timestamp": "1.0", "X-Object-Meta-A": "b"})
    assert resp.status_int == 200
    env = proxy.seen[-1]
    assert "HTTP_X_TIMESTAMP" not in env and env["HTTP_X_OBJECT_META_A"] == "b"
    assert "multipart-manifest" not in env["QUERY_STRING"]


@pytest.mark.parametrize("header", ["X-Object-Manifest", "X-Symlink-Target", "X-Copy-From"])
def test_upload_pointing_elsewhere_is_refused(proxy, header):
    signed = sig("akey", "PUT", NOW + 60, OBJ)
    resp = call(make(proxy), method="PUT", body=b"x", query=q(signed),
                headers={header: "c/other"})
    assert resp.status_int == 400 and header.lower() in resp.text
    assert proxy.seen == []


def test_scope_of_the_key_limits_sub_requests(proxy):
    account_scoped = tempurl.scoped_authorize("AUTH_a", None)
    container_scoped = tempurl.scoped_authorize("AUTH_a", "c")
    assert account_scoped(Request.blank("/v1/AUTH_a/other/o")) is None
    assert account_scoped(Request.blank("/v1/AUTH_b/c/o")).status_int == 401
    assert container_scoped(Request.blank("/v1/AUTH_a/c/o2")) is None
    assert container_scoped(Request.blank("/v1/AUTH_a/other/o")).status_int == 401
    # a container key's link installs the container scope
    signed = sig("ckey", "GET", NOW + 60, OBJ)
    call(make(proxy), query=q(signed))
    hook = proxy.seen[-1]["swift.authorize"]
    assert hook(Request.blank("/v1/AUTH_a/other/o")).status_int == 401


def test_requests_without_temp_url_pass_untouched(proxy):
    resp = call(make(proxy))
    assert resp.status_int == 200 and "REMOTE_USER" not in proxy.seen[-1]


def test_capabilities_and_config(cluster):
    tempurl.filter_factory(cluster, {}, methods="GET PUT", allowed_digests="sha512 sha256")
    info = cluster.capabilities.as_info()["tempurl"]
    assert info["methods"] == ["GET", "PUT"]
    assert info["allowed_digests"] == ["sha256", "sha512"]
    assert info["outgoing_allow_headers"] == ["x-object-meta-public-*"]
    with pytest.raises(ConfigError):
        tempurl.filter_factory(cluster, {}, allowed_digests="md5")
