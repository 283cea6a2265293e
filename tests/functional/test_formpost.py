"""FormPost over HTTP: an HTML form's multipart POST lands files in the container."""
import hashlib
import hmac
import json
import os
import time

import pytest

BOUNDARY = "----objstoreFormBoundary7MA4YWxkTrZu0gW"


def form_body(fields, files):
    out = []
    for name, value in fields.items():
        out.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                    % (BOUNDARY, name, value)).encode())
    for filename, data, ctype in files:
        out.append(('--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
                    'Content-Type: %s\r\n\r\n' % (BOUNDARY, filename, ctype)).encode())
        out.append(data + b"\r\n")
    out.append(("--%s--\r\n" % BOUNDARY).encode())
    return b"".join(out)


def signed_fields(path, key, redirect="", size=1 << 20, count=5, expires=None,
                  digest="sha256"):
    expires = str(expires if expires is not None else int(time.time()) + 300)
    message = "%s\n%s\n%s\n%s\n%s" % (path, redirect, size, count, expires)
    signature = hmac.new(key.encode(), message.encode(), getattr(hashlib, digest)).hexdigest()
    return {"redirect": redirect, "max_file_size": str(size), "max_file_count": str(count),
            "expires": expires, "signature": signature}


@pytest.fixture
def submit(anonymous):
    """submit(path, body) -> (status, headers, body): an anonymous browser-style POST."""
    return lambda path, body: anonymous("POST", path, body, {
        "Content-Type": "multipart/form-data; boundary=" + BOUNDARY})


@pytest.fixture
def upload_container(conn, unique):
    container = unique("fp")
    key = "form-key-" + container
    conn.put_container(container, headers={"X-Container-Meta-Temp-URL-Key": key})
    return container, key


def test_form_uploads_files_and_redirects_with_status(conn, submit, upload_container):
    container, key = upload_container
    path = "/v1/AUTH_test/%s/uploads/" % container
    big = os.urandom(3 << 20)
    fields = signed_fields(path, key, redirect="http://example.com/done", size=4 << 20)
    status, headers, _body = submit(path, form_body(fields, [
        ("photo.png", b"\x89PNG fake", "image/png"), ("big.bin", big, "application/x-big")]))
    assert status == 303
    assert headers["location"] == "http://example.com/done?status=201&message="
    meta, data = conn.get_object(container, "uploads/photo.png")
    assert data == b"\x89PNG fake" and meta["content-type"] == "image/png"
    meta, data = conn.get_object(container, "uploads/big.bin")
    assert data == big and meta["content-type"] == "application/x-big"


def test_form_with_the_account_key_and_no_redirect(conn, submit, unique):
    container = unique("fpa")
    conn.put_container(container)
    conn.post_account({"X-Account-Meta-Temp-URL-Key": "formpost-account-key"})
    try:
        path = "/v1/AUTH_test/%s" % container
        status, _h, body = submit(path, form_body(
            signed_fields(path, "formpost-account-key", digest="sha512"),
            [("a.txt", b"a", "text/plain")]))
    finally:
        conn.post_account({"X-Account-Meta-Temp-URL-Key": ""})
    assert status == 201 and body.startswith(b"201 Created")
    assert conn.get_object(container, "a.txt")[1] == b"a"


@pytest.mark.parametrize("change,status,message", [
    ({"size": 5}, 400, b"max_file_size exceeded"),
    ({"count": 1}, 400, b"max file count exceeded"),
    ({"expires": 1000}, 401, b"Form Expired"),
    ({"key": "wrong"}, 401, b"Invalid Signature"),
])
def test_limits_and_signature(conn, submit, upload_container, change, status, message):
    container, key = upload_container
    path = "/v1/AUTH_test/%s/" % container
    kwargs = {k: v for k, v in change.items() if k != "key"}
    fields = signed_fields(path, change.get("key", key), **kwargs)
    got, _h, body = submit(path, form_body(fields, [
        ("one.txt", b"first file", "text/plain"), ("two.txt", b"second file", "text/plain")]))
    assert got == status and message in body
    names = [o["name"] for o in conn.get_container(container)[1]]
    if change.get("count") == 1:
        assert names == ["one.txt"]
    else:
        assert names == []


def test_malformed_body_is_400(submit, upload_container):
    container, key = upload_container
    status, _h, body = submit("/v1/AUTH_test/%s/" % container, b"not multipart at all")
    assert status == 400 and b"FormPost: invalid starting boundary" in body


def test_info_lists_formpost(anonymous):
    info = json.loads(anonymous("GET", "/info")[2])
    assert "formpost" in info and "staticweb" in info
