"""Temp URLs over HTTP: links made by the real ``swift tempurl`` command work, nothing more."""
import json
import time
from urllib.parse import quote

import pytest
from swiftclient.utils import generate_temp_url


@pytest.fixture
def keyed_container(conn, unique):
    """A container with a container-level temp URL key and one object."""
    container = unique("tu")
    conn.put_container(container, headers={"X-Container-Meta-Temp-URL-Key": "ckey-" + container})
    conn.put_object(container, "dir/hello.txt", b"hello", content_type="text/plain",
                    headers={"X-Object-Meta-Secret": "s", "X-Object-Meta-Public-Tag": "t"})
    return container, "ckey-" + container


def cli_tempurl(swift, method, seconds, path, key, *options):
    """The link the real ``swift tempurl`` command prints."""
    return swift("tempurl", *options, method, str(seconds), path, key).stdout.strip()


def tempurl(method, seconds, path, key, **options):
    """The same link from python-swiftclient's function (no CLI start-up per link)."""
    return generate_temp_url(path, seconds, key, method, **options)


@pytest.mark.parametrize("options", [(), ("--digest", "sha512"), ("--iso8601",)])
def test_swift_tempurl_get_link_works(swift, anonymous, keyed_container, options):
    container, key = keyed_container
    link = cli_tempurl(swift, "GET", 60, "/v1/AUTH_test/%s/dir/hello.txt" % container, key,
                       *options)
    status, headers, body = anonymous("GET", link)
    assert status == 200 and body == b"hello"
    assert headers["content-disposition"] == \
        "attachment; filename=\"hello.txt\"; filename*=UTF-8''hello.txt"
    assert "x-object-meta-secret" not in headers
    assert headers["x-object-meta-public-tag"] == "t"
    assert anonymous("HEAD", link)[0] == 200
    # the same link is no use for anything else
    assert anonymous("PUT", link, b"evil")[0] == 401
    assert anonymous("DELETE", link)[0] == 401
    assert anonymous("GET", link.replace("hello.txt", "other.txt", 1))[0] == 401


def test_swift_tempurl_put_then_get(swift, anonymous, conn, keyed_container):
    container, key = keyed_container
    path = "/v1/AUTH_test/%s/upload.bin" % container
    put_link = cli_tempurl(swift, "PUT", 60, path, key)
    status, _headers, _body = anonymous("PUT", put_link, b"uploaded",
                                        {"X-Object-Meta-Color": "red"})
    assert status == 201
    meta, data = conn.get_object(container, "upload.bin")
    assert data == b"uploaded" and meta["x-object-meta-color"] == "red"
    get_link = tempurl("GET", 60, path, key)
    assert anonymous("GET", get_link)[2] == b"uploaded"
    delete_link = tempurl("DELETE", 60, path, key)
    assert anonymous("DELETE", delete_link)[0] == 204


def test_prefix_link_inline_and_filename(swift, anonymous, keyed_container):
    container, key = keyed_container
    link = tempurl("GET", 60, "/v1/AUTH_test/%s/dir/" % container, key,
                   prefix=True)
    status, headers, body = anonymous("GET", link.replace("/dir/?", "/dir/hello.txt?", 1)
                                      + "&inline")
    assert status == 200 and body == b"hello"
    assert headers["content-disposition"] == "inline"
    status, headers, _ = anonymous("GET", link.replace("/dir/?", "/dir/hello.txt?", 1)
                                   + "&filename=greeting.txt")
    assert headers["content-disposition"].startswith('attachment; filename="greeting.txt"')
    # an object outside the prefix
    assert anonymous("GET", link.replace("/dir/?", "/hello.txt?", 1))[0] == 401


def test_ip_range(swift, anonymous, keyed_container):
    container, key = keyed_container
    path = "/v1/AUTH_test/%s/dir/hello.txt" % container
    assert anonymous("GET", tempurl("GET", 60, path, key,
                                    ip_range="127.0.0.0/8"))[0] == 200
    assert anonymous("GET", tempurl("GET", 60, path, key,
                                    ip_range="192.0.2.0/24"))[0] == 401


def test_expired_forged_and_other_account_links_are_401(swift, anonymous, keyed_container,
                                                        connect, unique):
    container, key = keyed_container
    path = "/v1/AUTH_test/%s/dir/hello.txt" % container
    expired = tempurl("GET", int(time.time()) - 10, path, key, absolute=True)
    status, _h, body = anonymous("GET", expired)
    assert status == 401 and body == b"401 Unauthorized: Temp URL invalid\n"
    forged = tempurl("GET", 60, path, "not-the-key")
    assert anonymous("GET", forged)[0] == 401
    # a link signed with test's key for test2's object
    other = connect("test2:tester2")
    other_container = unique("tu2")
    other.put_container(other_container)
    other.put_object(other_container, "o", b"private")
    for account_path in ("/v1/AUTH_test2/%s/o" % other_container,
                         "/v1/AUTH_test2/%s/o" % container):
        assert anonymous("GET", tempurl("GET", 60, account_path, key))[0] == 401


def test_account_key_reaches_every_container_of_that_account_only(
        swift, anonymous, conn, keyed_container, unique):
    container, _key = keyed_container
    conn.post_account({"X-Account-Meta-Temp-URL-Key-2": "account-key"})
    try:
        link = tempurl("GET", 60, "/v1/AUTH_test/%s/dir/hello.txt" % container,
                       "account-key")
        assert anonymous("GET", link)[0] == 200
    finally:
        conn.post_account({"X-Account-Meta-Temp-URL-Key-2": ""})
    assert anonymous("GET", link)[0] == 401


def test_upload_that_points_elsewhere_is_refused(swift, anonymous, conn, keyed_container):
    container, key = keyed_container
    path = "/v1/AUTH_test/%s/copy" % container
    link = tempurl("PUT", 60, path, key)
    for header in ("X-Object-Manifest", "X-Copy-From"):
        status, _h, body = anonymous("PUT", link, b"", {header: container + "/dir/hello.txt"})
        assert status == 400 and header.lower().encode() in body
    assert "copy" not in [o["name"] for o in conn.get_container(container)[1]]


def test_keys_are_hidden_from_the_link_holder_and_info_lists_tempurl(anonymous, connect,
                                                                     keyed_container):
    container, _key = keyed_container
    info = json.loads(anonymous("GET", "/info")[2])
    assert set(info["tempurl"]["methods"]) == {"GET", "HEAD", "PUT", "POST", "DELETE"}
    assert set(info["tempurl"]["allowed_digests"]) == {"sha1", "sha256", "sha512"}
    owner = connect("test:tester")
    assert owner.head_container(container)["x-container-meta-temp-url-key"]
    reader = connect("test:tester3")
    owner.post_container(container, {"X-Container-Read": "test:tester3"})
    assert "x-container-meta-temp-url-key" not in reader.head_container(container)


def test_non_ascii_key_and_path_sign_with_their_utf8_bytes(anonymous, conn, unique):
    """``swift tempurl`` signs the unquoted UTF-8 path with the key's UTF-8 bytes."""
    container = unique("tu-\u03a9\u8509")
    key = "cl\u00e9-\u2603"
    # A header value travels as bytes; the client sends the key's UTF-8 form.
    conn.put_container(container, headers={"X-Container-Meta-Temp-URL-Key": key.encode()})
    name = "\ud20f\u3704/\uf112.txt"
    conn.put_object(container, name, b"utf8 body")
    path = "/v1/AUTH_test/%s/%s" % (container, name)
    # The link names the path as text; a browser sends it percent-encoded.
    link_path, query = tempurl("GET", 60, path, key).split("?", 1)
    status, _headers, body = anonymous("GET", quote(link_path) + "?" + query)
    assert status == 200 and body == b"utf8 body"
    wrong_path, wrong_query = tempurl("GET", 60, path, "cl\u00e9").split("?", 1)
    assert anonymous("GET", quote(wrong_path) + "?" + wrong_query)[0] == 401


def test_container_key_does_not_reach_dlo_segments_in_another_container(
        anonymous, conn, unique):
    inside, outside = unique("tu-in"), unique("tu-out")
    conn.put_container(inside, headers={"X-Container-Meta-Temp-URL-Key": "in-key"})
    conn.put_container(outside)
    conn.put_object(outside, "seg-1", b"secret")
    conn.put_object(inside, "seg-1", b"public")
    conn.put_object(inside, "outside-dlo", b"",
                    headers={"X-Object-Manifest": "%s/seg-" % outside})
    conn.put_object(inside, "inside-dlo", b"",
                    headers={"X-Object-Manifest": "%s/seg-" % inside})
    for method in ("GET", "HEAD"):
        link = tempurl(method, 60, "/v1/AUTH_test/%s/outside-dlo" % inside, "in-key")
        status, _headers, body = anonymous(method, link)
        assert status == 401 and b"secret" not in body
        link = tempurl(method, 60, "/v1/AUTH_test/%s/inside-dlo" % inside, "in-key")
        assert anonymous(method, link)[0] == 200
    assert anonymous("GET", tempurl("GET", 60, "/v1/AUTH_test/%s/inside-dlo" % inside,
                                    "in-key"))[2] == b"public"
