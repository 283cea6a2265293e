"""Core Swift v1 behaviours a client relies on, over HTTP against the real cluster.

Each test states the behaviour documented for OpenStack Swift's API (paths,
conditional requests, listings, metadata, copy, responses) and checks it
with python-swiftclient, or a raw request where the client would hide it.
"""
import hashlib
import importlib.metadata
import json
import os
import pathlib
import urllib.parse
import uuid

import pytest
from swiftclient import client as swift_client
from swiftclient.exceptions import ClientException

SWIFT_CONTENT_TYPE = "text/html; charset=UTF-8"


@pytest.fixture
def request_as(conn):
    """request_as(method, path, headers=None, body=b"", as_token=None) -> (status, headers, body).

    ``path`` starting with ``/`` is sent as is; otherwise it is appended to
    the user's storage URL.  Nothing is quoted or retried for us.
    """
    url, token = conn.get_auth()
    storage_path = urllib.parse.urlsplit(url).path

    def _request(method, path, headers=None, body=b"", as_token=None):
        parsed, http_conn = swift_client.http_connection(url)
        full = path if path.startswith("/") else storage_path + "/" + path
        sent = {"X-Auth-Token": as_token or token}
        sent.update(headers or {})
        http_conn.request(method, full, body, sent)
        resp = http_conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    return _request


def http_error(call, *args, **kwargs):
    with pytest.raises(ClientException) as caught:
        call(*args, **kwargs)
    return caught.value


# -- paths -----------------------------------------------------------------------
def test_a_path_naming_no_account_is_412_bad_url(request_as):
    for path in ("/v1", "/v1/", "/info%20asdf", "/nonsense"):
        status, headers, body = request_as("GET", path)
        assert (status, body) == (412, b"Bad URL"), path
        assert headers["x-trans-id"].startswith("tx")
    assert request_as("PUT", "/v1")[0] == 412
    # an empty segment before the last names nothing that can exist
    for path in ("/v1/AUTH_test//o", "/v1//c/o", "/v1///o", "//v1/AUTH_test"):
        assert request_as("GET", path)[0] == 404, path


# -- conditional requests ------------------------------------------------------------
def test_412_and_416_tell_the_current_etag_and_date(conn, unique):
    container = unique()
    conn.put_container(container)
    etag = conn.put_object(container, "o", b"0123456789")
    stored = conn.head_object(container, "o")
    failed = http_error(conn.get_object, container, "o", headers={"If-Match": '"bogus"'})
    assert failed.http_status == 412
    assert failed.http_response_headers["etag"] == etag
    assert failed.http_response_headers["last-modified"] == stored["last-modified"]
    failed = http_error(conn.head_object, container, "o",
                        headers={"If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert failed.http_status == 412
    assert failed.http_response_headers["etag"] == etag
    # a matching ETag does not excuse a failed If-Unmodified-Since
    failed = http_error(conn.get_object, container, "o",
                        headers={"If-Match": etag,
                                 "If-Unmodified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})
    assert failed.http_status == 412
    assert conn.get_object(container, "o", headers={
        "If-Match": etag, "If-Unmodified-Since": stored["last-modified"]})[1] == b"0123456789"
    failed = http_error(conn.get_object, container, "o", headers={"Range": "bytes=100-200"})
    assert failed.http_status == 416
    assert failed.http_response_headers["etag"] == etag
    assert failed.http_response_headers["content-range"] == "bytes */10"


def test_put_if_none_match_accepts_only_star(conn, unique, request_as):
    container = unique()
    conn.put_container(container)
    for value in ('"abc"', "abc, def"):
        status, _headers, body = request_as("PUT", "%s/o" % container,
                                            {"If-None-Match": value}, b"x")
        assert (status, body) == (400, b"If-None-Match only supports *")
    assert http_error(conn.head_object, container, "o").http_status == 404
    # a manifest is an object too: the same rule applies
    status = request_as("PUT", "%s/m" % container,
                        {"If-None-Match": "x", "X-Object-Manifest": "%s/seg" % container})[0]
    assert status == 400
    conn.put_object(container, "o", b"first", headers={"If-None-Match": "*"})
    refused = http_error(conn.put_object, container, "o", b"second",
                         headers={"If-None-Match": "*"})
    assert refused.http_status == 412
    assert conn.get_object(container, "o")[1] == b"first"


# -- listings ----------------------------------------------------------------------
def test_multi_character_delimiter(conn, unique):
    container = unique()
    conn.put_container(container)
    for name in ("test", "test-bar", "test-&bar", "test-&baz", "other-&x"):
        conn.put_object(container, name, b"")
    _headers, rows = conn.get_container(container, delimiter="-&")
    assert [row.get("subdir", row.get("name")) for row in rows] == \
        ["other-&", "test", "test-&", "test-bar"]
    account = unique("acct")
    for name in (account + "-&a", account + "-&b", account + "x"):
        conn.put_container(name)
    _headers, rows = conn.get_account(prefix=account, delimiter="-&")
    assert [row.get("subdir", row.get("name")) for row in rows] == [account + "-&",
                                                                    account + "x"]


def test_a_limit_that_is_not_all_digits_is_ignored(conn, unique, request_as):
    container = unique()
    conn.put_container(container)
    for name in "abc":
        conn.put_object(container, name, b"")
    for limit in ("abc", "-1", "1.5", ""):
        status, _headers, body = request_as("GET", "%s?limit=%s" % (container, limit))
        assert (status, body) == (200, b"a\nb\nc\n"), limit
    assert request_as("GET", "%s?limit=2" % container)[2] == b"a\nb\n"
    assert request_as("GET", "%s?limit=10001" % container)[0] == 412
    status, _headers, body = request_as("GET", "?limit=abc&prefix=%s" % container)
    assert (status, body) == (200, container.encode() + b"\n")


def test_path_lists_a_directory_without_its_own_marker_object(conn, unique):
    container = unique()
    conn.put_container(container)
    for name in ("dir1/", "dir1/file1", "dir1/sub/", "dir1/sub/deep", "dir2/x"):
        conn.put_object(container, name, b"", content_type="application/directory")
    names = [row["name"] for row in conn.get_container(container, path="dir1")[1]]
    assert names == ["dir1/file1", "dir1/sub/"]
    # a walker that descends into every listed directory ends
    walked, pending = [], ["dir1"]
    while pending:
        directory = pending.pop()
        for row in conn.get_container(container, path=directory)[1]:
            walked.append(row["name"])
            if row["name"].endswith("/"):
                pending.append(row["name"])
    assert sorted(walked) == ["dir1/file1", "dir1/sub/", "dir1/sub/deep"]


def test_a_marker_ending_in_nul_is_an_inclusive_marker(conn, unique, request_as):
    """``marker=b%00`` sorts just after ``b``: clients page inclusively with it."""
    container = unique()
    conn.put_container(container)
    for name in ("a", "b", "c"):
        conn.put_object(container, name, b"x")
    status, _headers, body = request_as("GET", "%s?marker=a%%00" % container)
    assert (status, body) == (200, b"b\nc\n")
    status, _headers, body = request_as("GET", "%s?marker=b%%00&reverse=on" % container)
    assert (status, body) == (200, b"b\na\n")


# -- metadata ----------------------------------------------------------------------
def test_x_remove_headers_remove_metadata_and_acls(conn, unique):
    container = unique()
    conn.put_container(container, headers={"X-Container-Meta-Color": "blue",
                                            "X-Container-Meta-Keep": "yes",
                                            "X-Container-Read": "test2:tester2",
                                            "X-Container-Write": "test2:tester2"})
    conn.post_container(container, {"X-Remove-Container-Meta-Color": "x",
                                    "X-Remove-Container-Read": "x",
                                    "X-Remove-Container-Write": "x"})
    headers = conn.head_container(container)
    assert "x-container-meta-color" not in headers
    assert headers["x-container-meta-keep"] == "yes"
    assert "x-container-read" not in headers and "x-container-write" not in headers
    key = "Test-" + uuid.uuid4().hex[:8]
    conn.post_account({"X-Account-Meta-" + key: "v"})
    assert conn.head_account()["x-account-meta-" + key.lower()] == "v"
    conn.post_account({"X-Remove-Account-Meta-" + key: "x"})
    assert "x-account-meta-" + key.lower() not in conn.head_account()


def test_metadata_totals_count_what_is_already_stored(conn, unique):
    container = unique()
    conn.put_container(container)
    # 15 items of 4 + 256 bytes: 3900 of the 4096 bytes allowed
    conn.post_container(container, {"X-Container-Meta-%04d" % i: "k" * 256 for i in range(15)})
    conn.post_container(container, {"X-Container-Meta-last": "v" * (4096 - 3900 - 4)})
    failed = http_error(conn.post_container, container,
                        {"X-Container-Meta-more": "v" * 10})
    assert failed.http_status == 400
    assert "x-container-meta-more" not in conn.head_container(container)
    # removing an item makes room again
    conn.post_container(container, {"X-Remove-Container-Meta-0000": "x",
                                    "X-Container-Meta-more": "v" * 10})
    assert conn.head_container(container)["x-container-meta-more"] == "v" * 10


def test_value_length_counts_the_bytes_sent(conn, unique, request_as):
    container = unique()
    conn.put_container(container)
    value = "é" * 64 + "a"          # 129 bytes of UTF-8, under the 256-byte limit
    # (the client sends text headers as UTF-8)
    status = request_as("PUT", "%s/o" % container, {"X-Object-Meta-Word": value}, b"x")[0]
    assert status == 201
    assert conn.head_object(container, "o")["x-object-meta-word"] == value
    assert request_as("POST", container, {"X-Container-Meta-Word": value})[0] == 204
    assert request_as("POST", "", {"X-Account-Meta-Word-" + container: value})[0] == 204
    too_long = "é" * 129            # 258 bytes
    assert request_as("POST", container, {"X-Container-Meta-Word": too_long})[0] == 400
    assert request_as("POST", "%s/o" % container, {"X-Object-Meta-Word": too_long})[0] == 400


def test_object_post_updates_the_listing_row(conn, unique):
    container = unique()
    conn.put_container(container)
    etag = conn.put_object(container, "o", b"12345", content_type="text/foobar")
    before = conn.get_container(container)[1][0]
    conn.post_object(container, "o", {"Content-Type": "image/foobarbaz",
                                      "X-Object-Meta-Test": "blah"})
    after = conn.get_container(container)[1][0]
    assert after["content_type"] == "image/foobarbaz"
    assert (after["bytes"], after["hash"]) == (5, etag)
    assert after["last_modified"] > before["last_modified"]


def test_container_post_moves_its_put_timestamp(conn, unique):
    container = unique()
    conn.put_container(container)
    before = conn.head_container(container)
    conn.post_container(container, {"X-Container-Meta-Japan": "mitaka"})
    after = conn.head_container(container)
    assert float(after["x-put-timestamp"]) > float(before["x-put-timestamp"])
    assert after["last-modified"] >= before["last-modified"]
    # an object write does not change it
    conn.put_object(container, "o", b"x")
    assert conn.head_container(container)["x-put-timestamp"] == after["x-put-timestamp"]


def test_delete_at_far_in_the_future_is_capped(conn, unique):
    container = unique()
    conn.put_container(container)
    conn.put_object(container, "o", b"x", headers={"X-Delete-At": "1" * 100})
    assert conn.head_object(container, "o")["x-delete-at"] == "9999999999"
    conn.post_object(container, "o", {"X-Delete-At": "99999999999"})
    assert conn.head_object(container, "o")["x-delete-at"] == "9999999999"


def test_x_if_delete_at_must_be_a_number(conn, unique):
    container = unique()
    conn.put_container(container)
    conn.put_object(container, "o", b"x", headers={"X-Delete-At": "9999999990"})
    failed = http_error(conn.delete_object, container, "o",
                        headers={"X-If-Delete-At": "bad"})
    assert failed.http_status == 400
    failed = http_error(conn.delete_object, container, "o",
                        headers={"X-If-Delete-At": "9999999991"})
    assert failed.http_status == 412
    conn.delete_object(container, "o", headers={"X-If-Delete-At": "9999999990"})
    assert http_error(conn.head_object, container, "o").http_status == 404


# -- copy ----------------------------------------------------------------------------
def test_copy_with_range_copies_just_those_bytes(conn, unique, request_as):
    container = unique()
    conn.put_container(container)
    data = os.urandom(1024)
    conn.put_object(container, "src", data, content_type="application/test")
    part = data[100:201]
    conn.copy_object(container, "src", "/%s/by-copy" % container,
                     headers={"Range": "bytes=100-200"})
    conn.put_object(container, "by-put", b"", headers={"X-Copy-From": "%s/src" % container,
                                                       "Range": "bytes=100-200"})
    listing = {row["name"]: row for row in conn.get_container(container)[1]}
    for name in ("by-copy", "by-put"):
        headers, body = conn.get_object(container, name)
        assert body == part
        assert headers["etag"] == hashlib.md5(part).hexdigest()
        assert listing[name]["bytes"] == 101
    # a suffix range too
    conn.copy_object(container, "src", "/%s/tail" % container, headers={"Range": "bytes=-2"})
    assert conn.get_object(container, "tail")[1] == data[-2:]


# -- responses -------------------------------------------------------------------------
def test_error_and_delete_answers_have_swifts_content_type(conn, unique, request_as):
    container = unique()
    conn.put_container(container)
    conn.put_object(container, "o", b"x")
    status, headers, _body = request_as("DELETE", "%s/o" % container)
    assert (status, headers["content-type"]) == (204, SWIFT_CONTENT_TYPE)
    status, headers, _body = request_as("DELETE", "%s/o" % container)
    assert (status, headers["content-type"]) == (404, SWIFT_CONTENT_TYPE)
    status, headers, body = request_as("PUT", "X" * 2048)
    assert (status, headers["content-type"]) == (400, SWIFT_CONTENT_TYPE)
    assert b"longer than 256" in body


def test_an_account_never_written_reads_as_empty(connect, request_as):
    _url, token = connect("admin:admin").get_auth()      # the reseller admin
    fresh = "/v1/AUTH_never" + uuid.uuid4().hex[:10]
    for method in ("HEAD", "GET"):
        status, headers, body = request_as(method, fresh, as_token=token)
        assert (status, headers["content-length"], body) == (204, "0", b"")
        assert headers["x-account-container-count"] == "0"
    status, headers, body = request_as("GET", fresh + "?format=json", as_token=token)
    assert (status, body) == (200, b"[]")


def test_info_lists_only_what_is_installed(conn, request_as):
    status, _headers, body = request_as("GET", "/info")
    info = json.loads(body)
    assert status == 200
    assert info["swift"]["allow_account_management"] is False
    # cors is in the aio pipeline, so its mode is published; versioned_writes
    # and bulk say they are installed
    assert info["swift"]["strict_cors_mode"] is True
    assert "bulk_delete" in info and "versioned_writes" in info


# -- newcomer --------------------------------------------------------------------------
def test_the_readme_says_how_to_get_the_swift_command():
    """``pip install -e .`` alone brings no ``swift``; the README's extra does."""
    requires = importlib.metadata.requires("objstore") or []
    assert any(line.startswith("python-swiftclient") and 'extra == "client"' in line
               for line in requires), requires
    readme = pathlib.Path(__file__).resolve().parents[2] / "README.md"
    cli_section = readme.read_text(encoding="utf-8").split("## Try it with the swift CLI")[1]
    assert "pip install -e '.[client]'" in cli_section.split("```sh")[1]
