"""Object versioning, Swift's current mode (X-Versions-Enabled), over HTTP.

Every behaviour is checked through the public API (python-swiftclient, raw
HTTP, the swift CLI); the hidden container is only ever seen as clients see
it: not at all.
"""
import hashlib
import json
import time
from xml.etree import ElementTree

import pytest
from swiftclient.exceptions import ClientException

DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"
MD5_EMPTY = hashlib.md5(b"").hexdigest()


@pytest.fixture
def versioned(conn, unique):
    name = unique("ver")
    conn.put_container(name, headers={"X-Versions-Enabled": "true"})
    return name


def versions(conn, container, **params):
    return conn.get_container(container, query_string="versions", **params)[1]


def put(conn, container, name, body, **headers):
    resp = {}
    conn.put_object(container, name, body, headers=headers or None, response_dict=resp)
    return resp["headers"]["x-object-version-id"]


def status_of(call, *args, **kwargs):
    with pytest.raises(ClientException) as caught:
        call(*args, **kwargs)
    return caught.value.http_status


# -- enabling ---------------------------------------------------------------------------
def test_enable_disable_and_show(conn, unique):
    name = unique("ver")
    conn.put_container(name)
    assert "x-versions-enabled" not in conn.head_container(name)
    conn.post_container(name, {"X-Versions-Enabled": "true"})
    assert conn.head_container(name)["x-versions-enabled"] == "True"
    conn.post_container(name, {"X-Versions-Enabled": "false"})
    assert conn.head_container(name)["x-versions-enabled"] == "False"
    # the hidden container never shows in the account listing
    assert [c["name"] for c in conn.get_account(prefix=name)[1]] == [name]


def test_enable_with_legacy_headers_is_refused(conn, unique):
    name = unique("ver")
    for header in ("X-Versions-Location", "X-History-Location"):
        assert status_of(conn.put_container, name, headers={
            "X-Versions-Enabled": "true", header: unique("archive")}) == 400
    legacy = unique("legacy")
    conn.put_container(legacy, headers={"X-Versions-Location": unique("archive")})
    assert status_of(conn.post_container, legacy, {"X-Versions-Enabled": "true"}) == 400


def test_only_owners_may_enable(connect, conn, unique):
    name = unique("ver")
    conn.put_container(name, headers={"X-Container-Write": "test:tester3",
                                      "X-Container-Read": "test:tester3"})
    other = connect("test:tester3")
    assert status_of(other.post_container, name, {"X-Versions-Enabled": "true"}) == 403
    assert "x-versions-enabled" not in conn.head_container(name)


def test_info_lists_object_versioning(conn):
    assert "object_versioning" in conn.get_capabilities()


# -- writes -----------------------------------------------------------------------------
def test_every_write_keeps_a_version(conn, versioned):
    first = put(conn, versioned, "obj", b"one", **{"Content-Type": "text/one"})
    second = put(conn, versioned, "obj", b"two", **{"Content-Type": "text/two"})
    assert first != second
    headers, body = conn.get_object(versioned, "obj")
    assert body == b"two" and headers["x-object-version-id"] == second
    assert headers["content-type"] == "text/two"
    assert headers["content-location"].endswith("/obj?version-id=%s" % second)
    headers, body = conn.get_object(versioned, "obj", query_string="version-id=" + first)
    assert (body, headers["content-type"], headers["x-object-version-id"]) == (
        b"one", "text/one", first)
    # the container listing shows the current version's size and ETag, not the link's
    row, = conn.get_container(versioned)[1]
    assert (row["name"], row["bytes"], row["hash"]) == (
        "obj", 3, hashlib.md5(b"two").hexdigest())
    assert conn.head_container(versioned)["x-container-bytes-used"] == "6"


def test_delete_leaves_a_marker(conn, versioned):
    first = put(conn, versioned, "obj", b"one")
    resp = {}
    conn.delete_object(versioned, "obj", response_dict=resp)
    marker = resp["headers"]["x-object-version-id"]
    assert status_of(conn.get_object, versioned, "obj") == 404
    assert status_of(conn.delete_object, versioned, "obj") == 404
    rows = versions(conn, versioned)
    assert [(r["content_type"], r["is_latest"]) for r in rows] == [
        (DELETE_MARKER, True), (DELETE_MARKER, False), ("application/octet-stream", False)]
    assert rows[1]["version_id"] == marker and rows[2]["version_id"] == first
    assert (rows[0]["bytes"], rows[0]["hash"]) == (0, MD5_EMPTY)
    # a delete marker cannot be read
    assert status_of(conn.get_object, versioned, "obj",
                     query_string="version-id=" + marker) == 404
    assert conn.get_container(versioned)[1] == []


def test_post_changes_metadata_without_a_version(conn, versioned):
    put(conn, versioned, "obj", b"one")
    conn.post_object(versioned, "obj", {"X-Object-Meta-Color": "blue"})
    assert conn.head_object(versioned, "obj")["x-object-meta-color"] == "blue"
    assert len(versions(conn, versioned)) == 1


def test_put_with_version_id_restores_it(conn, versioned):
    first = put(conn, versioned, "obj", b"one")
    put(conn, versioned, "obj", b"two")
    resp = {}
    conn.put_object(versioned, "obj", b"", query_string="version-id=" + first,
                    response_dict=resp)
    assert resp["status"] == 201
    assert resp["headers"]["x-object-version-id"] == first
    assert conn.get_object(versioned, "obj")[1] == b"one"
    assert len(versions(conn, versioned)) == 2
    assert status_of(conn.put_object, versioned, "obj", b"body",
                     query_string="version-id=" + first) == 400
    assert status_of(conn.put_object, versioned, "obj", b"",
                     query_string="version-id=1234567890.12345") == 404
    assert status_of(conn.put_object, versioned, "obj", b"",
                     query_string="version-id=bogus") == 400


def test_copy_of_an_old_version_makes_a_new_one(http_as, conn, versioned):
    first = put(conn, versioned, "obj", b"one", **{"Content-Type": "text/one"})
    put(conn, versioned, "obj", b"two")
    status, headers, _body = http_as().request(
        "COPY", "/%s/obj?version-id=%s" % (versioned, first), None,
        {"Destination": "%s/obj" % versioned})
    assert status == 201
    third = headers["x-object-version-id"]
    assert third != first
    headers, body = conn.get_object(versioned, "obj")
    assert (body, headers["content-type"], headers["x-object-version-id"]) == (
        b"one", "text/one", third)
    assert len(versions(conn, versioned)) == 3


def test_slo_manifests_are_versioned_as_manifests(conn, versioned, unique):
    segments = unique("segs")
    conn.put_container(segments)
    ids = []
    for letter in (b"a", b"b"):
        etag = conn.put_object(segments, letter.decode(), letter * 1000)
        manifest = json.dumps([{"path": "/%s/%s" % (segments, letter.decode()),
                                "etag": etag, "size_bytes": 1000}])
        resp = {}
        conn.put_object(versioned, "big", manifest, query_string="multipart-manifest=put",
                        response_dict=resp)
        ids.append(resp["headers"]["x-object-version-id"])
    assert conn.get_object(versioned, "big")[1] == b"b" * 1000
    headers, body = conn.get_object(versioned, "big", query_string="version-id=" + ids[0])
    assert body == b"a" * 1000 and headers["x-object-version-id"] == ids[0]
    headers, body = conn.get_object(versioned, "big", query_string=(
        "multipart-manifest=get&version-id=" + ids[0]))
    assert json.loads(body)[0]["name"] == "/%s/a" % segments
    row, = conn.get_container(versioned)[1]
    assert row["bytes"] == 1000


def test_multipart_delete_of_one_manifest_version(http_as, conn, versioned, unique):
    """``multipart-manifest=delete&version-id=`` removes that version and its segments only."""
    segments = unique("segs")
    conn.put_container(segments)
    ids = []
    for letter in ("a", "b"):
        etag = conn.put_object(segments, letter, letter.encode() * 1000)
        manifest = json.dumps([{"path": "/%s/%s" % (segments, letter), "etag": etag,
                                "size_bytes": 1000}])
        resp = {}
        conn.put_object(versioned, "big", manifest, query_string="multipart-manifest=put",
                        response_dict=resp)
        ids.append(resp["headers"]["x-object-version-id"])
    status, _headers, body = http_as().request(
        "DELETE", "/%s/big?multipart-manifest=delete&version-id=%s" % (versioned, ids[0]),
        headers={"Accept": "application/json"})
    assert status == 200
    result = json.loads(body)
    assert (result["Response Status"], result["Number Deleted"], result["Errors"]) == (
        "200 OK", 2, [])
    # the old version and its segment are gone; the current one is whole
    assert [r["version_id"] for r in versions(conn, versioned)] == [ids[1]]
    assert [r["name"] for r in conn.get_container(segments)[1]] == ["b"]
    headers, body = conn.get_object(versioned, "big")
    assert body == b"b" * 1000 and headers["x-object-version-id"] == ids[1]
    assert status_of(conn.get_object, versioned, "big",
                     query_string="version-id=" + ids[0]) == 404


def test_symlinks_are_versioned_as_links(http_as, conn, versioned):
    put(conn, versioned, "target", b"target data", **{"Content-Type": "text/jibberish01"})
    curl = http_as().request
    status, headers, _body = curl("PUT", "/%s/link" % versioned, b"", {
        "X-Symlink-Target": "%s/target" % versioned, "Content-Type": "application/symlink"})
    assert status == 201
    link_id = headers["x-object-version-id"]
    assert curl("GET", "/%s/link" % versioned)[2] == b"target data"
    put(conn, versioned, "link", b"not a link")
    assert curl("GET", "/%s/link" % versioned)[2] == b"not a link"
    # the old version is still a link: followed, or seen itself with symlink=get
    old = "/%s/link?version-id=%s" % (versioned, link_id)
    status, headers, body = curl("GET", old)
    assert (status, body) == (200, b"target data")
    assert headers["content-type"] == "text/jibberish01"
    status, headers, _body = curl("HEAD", old + "&symlink=get")
    assert (status, headers["content-type"]) == (200, "application/symlink")
    assert headers["x-symlink-target"] == "%s/target" % versioned
    # copying that version (as a link) over the current object restores the link
    assert curl("COPY", old + "&symlink=get",
                headers={"Destination": "%s/link" % versioned})[0] == 201
    status, _headers, body = curl("GET", "/%s/link" % versioned)
    assert (status, body) == (200, b"target data")
    assert len(versions(conn, versioned, prefix="link")) == 3


def test_version_id_errors(http_as, conn, versioned, unique):
    put(conn, versioned, "obj", b"one")
    assert status_of(conn.get_object, versioned, "obj", query_string="version-id=x") == 400
    curl = http_as().request
    assert curl("POST", "/%s/obj?version-id=null" % versioned, b"")[0] == 400
    plain = unique("plain")
    conn.put_container(plain)
    conn.put_object(plain, "obj", b"data")
    assert status_of(conn.get_object, plain, "obj",
                     query_string="version-id=1234567890.12345") == 400
    headers, body = conn.get_object(plain, "obj", query_string="version-id=null")
    assert body == b"data" and headers["x-object-version-id"] == "null"
    # a versioned object has no null version
    assert status_of(conn.get_object, versioned, "obj", query_string="version-id=null") == 404


def test_delete_one_version(conn, versioned):
    first = put(conn, versioned, "obj", b"one")
    second = put(conn, versioned, "obj", b"two")
    resp = {}
    conn.delete_object(versioned, "obj", query_string="version-id=" + first,
                       response_dict=resp)
    assert resp["headers"]["x-object-current-version-id"] == second
    assert [r["version_id"] for r in versions(conn, versioned)] == [second]
    # deleting the current version removes the link too: nothing is left
    conn.delete_object(versioned, "obj", query_string="version-id=" + second)
    assert status_of(conn.get_object, versioned, "obj") == 404
    assert versions(conn, versioned) == []


def test_versions_are_owner_only(connect, conn, versioned):
    conn.post_container(versioned, {"X-Container-Read": "test:tester3"})
    first = put(conn, versioned, "obj", b"one")
    reader = connect("test:tester3")
    assert reader.get_object(versioned, "obj")[1] == b"one"
    assert status_of(reader.get_object, versioned, "obj",
                     query_string="version-id=" + first) == 403


def test_unauthorized_writer_keeps_nothing(connect, conn, versioned):
    put(conn, versioned, "obj", b"one")
    stranger = connect("test:tester3")
    assert status_of(stranger.put_object, versioned, "obj", b"evil") == 403
    assert status_of(stranger.delete_object, versioned, "obj") == 403
    assert len(versions(conn, versioned)) == 1


# -- suspended versioning and null versions --------------------------------------------
def test_suspended_versioning_writes_null_versions(conn, unique):
    name = unique("ver")
    conn.put_container(name)
    conn.put_object(name, "obj", b"before")
    conn.post_container(name, {"X-Versions-Enabled": "true"})
    rows = versions(conn, name)
    assert [(r["version_id"], r["is_latest"]) for r in rows] == [("null", True)]
    # overwriting the null version keeps it as a real version
    second = put(conn, name, "obj", b"after")
    rows = versions(conn, name)
    assert len(rows) == 2 and rows[0]["version_id"] == second
    kept = rows[1]["version_id"]
    assert conn.get_object(name, "obj", query_string="version-id=" + kept)[1] == b"before"
    conn.post_container(name, {"X-Versions-Enabled": "false"})
    resp = {}
    conn.put_object(name, "obj", b"suspended", response_dict=resp)
    assert "x-object-version-id" not in resp["headers"]
    headers, body = conn.get_object(name, "obj")
    assert body == b"suspended" and headers["x-object-version-id"] == "null"
    # old versions stay readable while suspended
    assert conn.get_object(name, "obj", query_string="version-id=" + second)[1] == b"after"
    assert [r["version_id"] for r in versions(conn, name)] == ["null", second, kept]


# -- listings ---------------------------------------------------------------------------
def test_versions_listing_paging(conn, versioned):
    ids = [put(conn, versioned, "a", b"a%d" % i) for i in range(3)]
    ids_b = [put(conn, versioned, "b", b"b")]
    rows = versions(conn, versioned)
    assert [(r["name"], r["version_id"], r["is_latest"]) for r in rows] == [
        ("a", ids[2], True), ("a", ids[1], False), ("a", ids[0], False), ("b", ids_b[0], True)]
    page = versions(conn, versioned, limit=2)
    assert [r["version_id"] for r in page] == [ids[2], ids[1]]
    page = conn.get_container(
        versioned, query_string="versions&marker=a&version_marker=%s" % ids[1])[1]
    assert [r["version_id"] for r in page] == [ids[0], ids_b[0]]
    page = conn.get_container(versioned, query_string="versions&marker=a")[1]
    assert [r["name"] for r in page] == ["b"]
    page = conn.get_container(versioned, query_string="versions&prefix=b")[1]
    assert [r["name"] for r in page] == ["b"]
    reverse = conn.get_container(versioned, query_string="versions&reverse=on")[1]
    assert [r["name"] for r in reverse] == ["b", "a", "a", "a"]


def test_versions_listing_errors(http_as, conn, versioned):
    put(conn, versioned, "a", b"a")
    curl = http_as().request
    assert curl("GET", "/%s?versions&format=xml" % versioned)[0] == 406
    assert curl("GET", "/%s?versions&format=plain" % versioned)[0] == 406
    assert curl("GET", "/%s?versions" % versioned, headers={"Accept": "text/xml"})[0] == 406
    assert curl("GET", "/%s?versions&version_marker=1.0" % versioned)[0] == 400
    assert curl("GET", "/%s?versions&marker=a&version_marker=x" % versioned)[0] == 400
    assert curl("GET", "/%s?versions&delimiter=1" % versioned)[0] == 400
    status, headers, body = curl("GET", "/%s?versions" % versioned)
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert json.loads(body)[0]["name"] == "a"


# -- containers and the reserved namespace ----------------------------------------------
def test_current_listing_in_every_format_shows_the_versions_bytes(http_as, conn, versioned):
    """A versioned object's row is a link to its version; every format shows the version."""
    put(conn, versioned, "a", b"first")
    latest = put(conn, versioned, "a", b"second!")
    put(conn, versioned, "b", b"bee")
    curl = http_as().request
    etag = hashlib.md5(b"second!").hexdigest()
    rows = conn.get_container(versioned)[1]
    assert [(r["name"], r["bytes"], r["hash"]) for r in rows] == [
        ("a", 7, etag), ("b", 3, hashlib.md5(b"bee").hexdigest())]
    assert rows[0]["symlink_path"].endswith("/%s/a?version-id=%s" % (versioned, latest))
    for query, accept in (("?format=xml", None), ("", "application/xml"), ("", "text/xml")):
        status, headers, body = curl("GET", "/%s%s" % (versioned, query),
                                     headers={"Accept": accept} if accept else {})
        assert status == 200 and "xml" in headers["content-type"]
        assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        objects = ElementTree.fromstring(body).findall("object")
        assert [(o.findtext("name"), o.findtext("bytes"), o.findtext("hash"))
                for o in objects] == [("a", "7", etag),
                                      ("b", "3", hashlib.md5(b"bee").hexdigest())]
        assert objects[0].findtext("symlink_path").endswith("?version-id=%s" % latest)
        assert objects[0].find("symlink_bytes") is None
    for query, accept in (("?format=plain", None), ("", "text/plain"), ("", None)):
        status, _headers, body = curl("GET", "/%s%s" % (versioned, query),
                                      headers={"Accept": accept} if accept else {})
        assert (status, body) == (200, b"a\nb\n")


def test_container_with_versions_cannot_be_deleted(conn, versioned):
    version = put(conn, versioned, "obj", b"one")
    conn.delete_object(versioned, "obj")
    assert status_of(conn.delete_container, versioned) == 409
    for row in versions(conn, versioned):
        conn.delete_object(versioned, "obj", query_string="version-id=" + row["version_id"])
    assert version
    conn.delete_container(versioned)
    assert status_of(conn.head_container, versioned) == 404
    # made again, it starts without versions
    conn.put_container(versioned, headers={"X-Versions-Enabled": "true"})
    assert versions(conn, versioned) == []


def test_reserved_names_are_refused_from_clients(http_as, versioned):
    curl = http_as().request
    for path in ("/%00versions%00" + versioned, "/%00versions%00" + versioned + "/x",
                 "/" + versioned + "/%00x"):
        for method in ("GET", "PUT", "DELETE"):
            assert curl(method, path, b"" if method == "PUT" else None)[0] == 412
    # the internal header does not open the namespace to clients
    status = curl("GET", "/%00versions%00" + versioned, None,
                  {"X-Backend-Allow-Reserved-Names": "true"})[0]
    assert status == 412


def test_account_listing_counts_version_bytes(conn, versioned, settle_usage):
    put(conn, versioned, "obj", b"12345")
    put(conn, versioned, "obj", b"123")
    settle_usage()  # the container updaters report usage to the account
    row, = conn.get_account(prefix=versioned)[1]
    # one current object (a link, zero bytes itself) and both versions' bytes
    assert (row["count"], row["bytes"]) == (1, 8)
    assert conn.head_container(versioned)["x-container-bytes-used"] == "8"


def test_container_quota_counts_versions(conn, versioned):
    put(conn, versioned, "obj", b"aaaaa")
    put(conn, versioned, "obj", b"bbbbb")
    conn.post_container(versioned, {"X-Container-Meta-Quota-Bytes": "10"})
    assert status_of(conn.put_object, versioned, "obj", b"ccccc") == 413
    conn.post_container(versioned, {"X-Container-Meta-Quota-Bytes": ""})
    put(conn, versioned, "obj", b"ccccc")


def test_expiry_removes_the_link_and_keeps_the_version(conn, versioned, expire_due):
    first = put(conn, versioned, "obj", b"data", **{"X-Delete-After": "3",
                                                    "X-Object-Meta-Color": "blue"})
    delete_at = int(conn.head_object(versioned, "obj", query_string="symlink=get")[
        "x-delete-at"])
    # the version itself never expires
    assert "x-delete-at" not in conn.head_object(versioned, "obj",
                                                 query_string="version-id=" + first)
    while time.time() <= delete_at:
        time.sleep(0.2)
    expire_due()
    assert status_of(conn.get_object, versioned, "obj") == 404
    headers, body = conn.get_object(versioned, "obj", query_string="version-id=" + first)
    assert body == b"data" and headers["x-object-meta-color"] == "blue"
    assert [r["version_id"] for r in versions(conn, versioned)] == [first]


def test_bulk_delete_versions_each_object(http_as, conn, versioned):
    put(conn, versioned, "a", b"a")
    put(conn, versioned, "b", b"b")
    status, _headers, body = http_as().request(
        "POST", "?bulk-delete", ("/%s/a\n/%s/b\n" % (versioned, versioned)).encode(),
        {"Content-Type": "text/plain", "Accept": "application/json"})
    assert status == 200 and json.loads(body)["Number Deleted"] == 2
    rows = versions(conn, versioned)
    assert [(r["name"], r["content_type"], r["is_latest"]) for r in rows] == [
        ("a", DELETE_MARKER, True), ("a", "application/octet-stream", False),
        ("b", DELETE_MARKER, True), ("b", "application/octet-stream", False)]


# -- the swift CLI, as a user would type it ---------------------------------------------
def test_swift_cli_versions_flow(swift, tmp_path, unique):
    name = unique("cli")
    swift("post", name, "-H", "X-Versions-Enabled: true")
    uploads = []
    for i in range(3):
        data = ("upload number %d\n" % i).encode() * (i + 1)
        (tmp_path / "obj").write_bytes(data)
        swift("upload", name, "obj", cwd=str(tmp_path))
        uploads.append(data)
    # run as the issue writes it: `swift list c --versions` (long rows with the id)
    listed = swift("list", name, "--versions").stdout.splitlines()
    rows = [line.split() for line in listed if line.strip().endswith(" obj")]
    assert len(rows) == 3
    # newest first: sizes are those of the third, second and first upload
    assert [int(row[0]) for row in rows] == [len(data) for data in reversed(uploads)]
    first_id = rows[-1][3]
    out = tmp_path / "first"
    swift("download", name, "obj", "--version-id", first_id, "-o", str(out))
    assert out.read_bytes() == uploads[0]
    swift("delete", name, "obj", "--version-id", first_id)
    listed = swift("list", name, "--versions", "--long").stdout
    assert first_id not in listed and len(
        [line for line in listed.splitlines() if line.strip().endswith(" obj")]) == 2
