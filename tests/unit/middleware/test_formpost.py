"""formpost: the streaming multipart reader and the middleware against a stand-in proxy."""
import hashlib
import hmac
import io

import pytest
from webob import Request, Response

from objstore.middleware import formpost
from objstore.middleware.formpost_multipart import MultipartError, MultipartReader, read_field

NOW = 1_900_000_000
PATH = "/v1/AUTH_a/c/up/"
BOUNDARY = "XyZzy-boundary"


def multipart(fields, files, boundary=BOUNDARY):
    out = []
    for name, value in fields:
        out.append(b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                   % (boundary.encode(), name.encode(), value.encode()))
    for filename, data, ctype in files:
        out.append(b"--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                   b"filename=\"%s\"\r\nContent-Type: %s\r\n\r\n%s\r\n"
                   % (boundary.encode(), filename.encode(), ctype.encode(), data))
    out.append(b"--%s--\r\n" % boundary.encode())
    return b"".join(out)


class TrickleInput(io.BytesIO):
    """Hands out at most ``step`` bytes per read, so delimiters arrive split."""

    def __init__(self, data, step=7):
        super().__init__(data)
        self.step = step

    def read(self, size=-1):
        return super().read(min(self.step, size if size >= 0 else self.step))


@pytest.mark.parametrize("step", [1, 5, 64, 100000])
def test_reader_yields_parts_at_any_read_size(step):
    body = multipart([("a", "1")], [("f.txt", b"x\r\n--Xy not a boundary" * 20, "text/plain")])
    reader = MultipartReader(TrickleInput(b"preamble\r\n" + body, step), BOUNDARY, chunk_size=3)
    parts = list()
    for part in reader.parts():
        parts.append((part.disposition(), part.headers.get("content-type"), read_field(
            part, 10000)))
    assert parts[0] == (("form-data", {"name": "a"}), None, "1")
    assert parts[1][0] == ("form-data", {"name": "file", "filename": "f.txt"})
    assert parts[1][2] == "x\r\n--Xy not a boundary" * 20


@pytest.mark.parametrize("body,reason", [
    (b"no boundary here", "invalid starting boundary"),
    (b"--XyZzy-boundary\r\nContent-Disposition: form-data; name=a\r\n\r\nunfinished",
     "body ended before the closing boundary"),
    (b"--XyZzy-boundary\r\n" + b"H" * 20000, "part headers too long"),
    (b"--XyZzy-boundary\r\nno colon\r\n\r\nx\r\n--XyZzy-boundary--", "malformed part header"),
])
def test_reader_rejects_malformed_bodies(body, reason):
    with pytest.raises(MultipartError, match=reason):
        for part in MultipartReader(io.BytesIO(body), BOUNDARY).parts():
            part.drain()


class StoreProxy:
    """Account/container HEADs with keys; PUTs stored after reading the whole body."""

    def __init__(self):
        self.stored = {}
        self.puts = []

    def __call__(self, environ, start_response):
        req = Request(environ)
        parts = environ["PATH_INFO"].split("/", 4)
        if len(parts) == 3:
            return Response(status=204, headers={"X-Account-Meta-Temp-URL-Key": "akey"})(
                environ, start_response)
        if len(parts) == 4:
            return Response(status=204, headers={"X-Container-Meta-Temp-URL-Key": "ckey"})(
                environ, start_response)
        denied = environ["swift.authorize"](req)
        if denied is not None:
            return denied(environ, start_response)
        self.puts.append(dict(environ))
        data = b""
        try:
            while True:
                chunk = environ["wsgi.input"].read(4)
                if not chunk:
                    break
                data += chunk
        except ValueError:
            return Response(status=499)(environ, start_response)
        self.stored[environ["PATH_INFO"]] = (data, environ.get("CONTENT_TYPE"))
        return Response(status=201)(environ, start_response)


@pytest.fixture
def proxy():
    return StoreProxy()


def sign(key="akey", path=PATH, redirect="", size="100", count="2", expires=str(NOW + 60),
         digest="sha256"):
    message = "%s\n%s\n%s\n%s\n%s" % (path, redirect, size, count, expires)
    return hmac.new(key.encode(), message.encode(), getattr(hashlib, digest)).hexdigest()


def post(proxy, fields, files, path=PATH, **conf):
    app = formpost.FormPost(proxy, formpost.FormPostConfig.from_section(conf),
                            clock=lambda: NOW)
    req = Request.blank(path, method="POST", body=multipart(fields, files),
                        content_type="multipart/form-data; boundary=" + BOUNDARY)
    return req.get_response(app)


def form(signature=None, redirect="", size="100", count="2", expires=str(NOW + 60)):
    signature = signature or sign(redirect=redirect, size=size, count=count, expires=expires)
    return [("redirect", redirect), ("max_file_size", size), ("max_file_count", count),
            ("expires", expires), ("signature", signature)]


def test_files_stored_under_the_prefix_with_their_types(proxy):
    resp = post(proxy, form(), [("a.txt", b"alpha", "text/plain"),
                                ("b.png", b"\x89PNG", "image/png")])
    assert resp.status_int == 201, resp.body
    assert proxy.stored["/v1/AUTH_a/c/up/a.txt"] == (b"alpha", "text/plain")
    assert proxy.stored["/v1/AUTH_a/c/up/b.png"] == (b"\x89PNG", "image/png")
    assert proxy.puts[0]["HTTP_TRANSFER_ENCODING"] == "chunked"


@pytest.mark.parametrize("key", ["akey", "ckey"])
@pytest.mark.parametrize("digest", ["sha1", "sha256", "sha512"])
def test_account_and_container_keys_each_digest(proxy, key, digest):
    resp = post(proxy, form(signature=sign(key=key, digest=digest)), [("a", b"1", "x/y")])
    assert resp.status_int == 201


def test_redirect_carries_status_and_message(proxy):
    resp = post(proxy, form(redirect="https://example.com/done?x=1"), [("a", b"1", "x/y")])
    assert resp.status_int == 303
    assert resp.location == "https://example.com/done?x=1&status=201&message="
    resp = post(proxy, form(redirect="https://example.com/done", size="3"),
                [("big", b"1234", "x/y")])
    assert resp.location == \
        "https://example.com/done?status=400&message=max_file_size%20exceeded"
    assert "/v1/AUTH_a/c/up/big" not in proxy.stored


@pytest.mark.parametrize("fields,files,status,message", [
    (form(size="3"), [("a", b"1234", "x/y")], 400, b"FormPost: max_file_size exceeded"),
    (form(count="1"), [("a", b"1", "x/y"), ("b", b"2", "x/y")], 400,
     b"FormPost: max file count exceeded"),
    (form(expires=str(NOW - 1)), [("a", b"1", "x/y")], 401, b"FormPost: Form Expired"),
    (form(signature="0" * 64), [("a", b"1", "x/y")], 401, b"FormPost: Invalid Signature"),
    (form(signature="bogus"), [("a", b"1", "x/y")], 401, b"FormPost: Invalid Signature"),
    (form(), [], 400, b"FormPost: no files to process"),
    (form(size="lots"), [("a", b"1", "x/y")], 400, b"FormPost: max_file_size not an integer"),
    ([("redirect", "x" * 5000)], [("a", b"1", "x/y")], 400, b"longer than 4096"),
])
def test_every_limit_has_its_message(proxy, fields, files, status, message):
    resp = post(proxy, fields, files)
    assert resp.status_int == status
    assert message in resp.body


def test_a_second_file_over_the_limit_keeps_the_first(proxy):
    resp = post(proxy, form(count="1"), [("a", b"1", "x/y"), ("b", b"2", "x/y")])
    assert resp.status_int == 400
    assert list(proxy.stored) == ["/v1/AUTH_a/c/up/a"]


def test_signature_covers_the_path(proxy):
    resp = post(proxy, form(), [("a", b"1", "x/y")], path="/v1/AUTH_a/c/elsewhere/")
    assert resp.status_int == 401 and proxy.stored == {}


def test_digest_not_allowed(proxy):
    resp = post(proxy, form(signature=sign(digest="sha1")), [("a", b"1", "x/y")],
                allowed_digests="sha256")
    assert resp.status_int == 401


def test_other_posts_pass_through(proxy):
    app = formpost.FormPost(proxy, formpost.FormPostConfig())
    req = Request.blank("/v1/AUTH_a", method="POST", body=b"x",
                        content_type="application/x-www-form-urlencoded")
    assert req.get_response(app).status_int == 204


def test_capped_body_refuses_more_than_its_limit():
    part = type("P", (), {"read": lambda self, size=-1: b"12345"})()
    body = formpost.CappedBody(part, 4)
    with pytest.raises(formpost.FileTooLarge):
        body.read(5)
    assert body.exceeded


def test_relative_redirect_is_relative_to_the_posted_address(proxy):
    resp = post(proxy, form(redirect="done.html"), [("a", b"1", "x/y")])
    assert resp.headers["Location"] == \
        "http://localhost:80/v1/AUTH_a/c/up/done.html?status=201&message="
