"""Symlinks (the ``symlink`` filter) over HTTP, as Swift documents them."""
import hashlib
import json
import xml.etree.ElementTree as ET

import pytest

EMPTY_MD5 = hashlib.md5(b"").hexdigest()
BODY = b"the target's bytes"
BODY_MD5 = hashlib.md5(BODY).hexdigest()


@pytest.fixture
def curl(http_as):
    return http_as().request


@pytest.fixture
def place(curl, unique):
    """(link container, target container, target object), the target holding BODY."""
    links, targets, obj = unique("links"), unique("targets"), unique("obj")
    assert curl("PUT", "/" + links)[0] == 201
    assert curl("PUT", "/" + targets)[0] == 201
    assert curl("PUT", "/%s/%s" % (targets, obj), BODY,
                {"Content-Type": "application/target"})[0] == 201
    return links, targets, obj


def account_path(http_as):
    return http_as().url.path


def make_link(curl, links, name, target, **headers):
    headers = dict(headers, **{"X-Symlink-Target": target})
    return curl("PUT", "/%s/%s" % (links, name), b"", headers)


def test_put_get_head_and_symlink_get(curl, place, http_as):
    links, targets, obj = place
    status, headers, _ = make_link(curl, links, "ln", "%s/%s" % (targets, obj))
    assert status == 201
    assert headers["etag"] == EMPTY_MD5
    location = "%s/%s/%s" % (account_path(http_as), targets, obj)

    status, headers, body = curl("GET", "/%s/ln" % links)
    assert (status, body) == (200, BODY)
    assert headers["etag"] == BODY_MD5
    assert headers["content-type"] == "application/target"
    assert headers["content-location"] == location
    status, headers, body = curl("HEAD", "/%s/ln" % links)
    assert (status, headers["content-length"], body) == (200, str(len(BODY)), b"")
    assert headers["content-location"] == location

    for method in ("GET", "HEAD"):
        status, headers, body = curl(method, "/%s/ln?symlink=get" % links)
        assert (status, body) == (200, b"")
        assert headers["x-symlink-target"] == "%s/%s" % (targets, obj)
        assert headers["content-length"] == "0"
        assert headers["etag"] == EMPTY_MD5
        assert headers["content-type"] == "application/symlink"
        assert "content-location" not in headers
        assert not any(k.startswith("x-object-sysmeta") for k in headers)


def test_ranged_and_conditional_reads_apply_to_the_target(curl, place):
    links, targets, obj = place
    make_link(curl, links, "ln", "%s/%s" % (targets, obj))
    status, headers, body = curl("GET", "/%s/ln" % links, headers={"Range": "bytes=4-9"})
    assert (status, body) == (206, BODY[4:10])
    assert curl("GET", "/%s/ln" % links, headers={"If-Match": BODY_MD5})[0] == 200
    status, headers, _ = curl("GET", "/%s/ln" % links, headers={"If-Match": "bogus"})
    assert (status, headers["etag"]) == (412, BODY_MD5)
    status, headers, _ = curl("GET", "/%s/ln" % links, headers={"If-None-Match": BODY_MD5})
    assert (status, headers["etag"]) == (304, BODY_MD5)
    assert curl("HEAD", "/%s/ln" % links, headers={"If-None-Match": BODY_MD5})[0] == 304
    # with ?symlink=get the conditions are the link's
    assert curl("GET", "/%s/ln?symlink=get" % links,
                headers={"If-Match": EMPTY_MD5})[0] == 200
    assert curl("GET", "/%s/ln?symlink=get" % links,
                headers={"If-Match": BODY_MD5})[0] == 412


def test_missing_target_is_404_with_its_location(curl, place, http_as):
    links, targets, _obj = place
    assert make_link(curl, links, "ln", "%s/nowhere" % targets)[0] == 201
    for method in ("GET", "HEAD"):
        status, headers, _ = curl(method, "/%s/ln" % links)
        assert status == 404
        assert headers["content-location"] == "%s/%s/nowhere" % (account_path(http_as),
                                                                  targets)
    assert curl("HEAD", "/%s/ln?symlink=get" % links)[0] == 200
    curl("PUT", "/%s/nowhere" % targets, b"late")
    assert curl("GET", "/%s/ln" % links)[2] == b"late"


def test_chains_up_to_symloop_max(curl, place):
    links, targets, obj = place
    make_link(curl, links, "one", "%s/%s" % (targets, obj))
    make_link(curl, links, "two", "%s/one" % links)
    assert curl("GET", "/%s/two" % links)[2] == BODY
    make_link(curl, links, "three", "%s/two" % links)
    status, _, body = curl("GET", "/%s/three" % links)
    assert (status, body) == (409, b"Too many levels of symbolic links, maximum allowed is 2")
    assert curl("HEAD", "/%s/three" % links)[:3:2] == (409, b"")
    assert curl("GET", "/%s/three?symlink=get" % links)[0] == 200
    # links pointing at each other
    make_link(curl, links, "a", "%s/b" % links)
    make_link(curl, links, "b", "%s/a" % links)
    assert curl("GET", "/%s/a" % links)[0] == 409


def test_put_errors(curl, place):
    links, targets, obj = place
    form = b"X-Symlink-Target header must be of the form <container name>/<object name>"
    assert make_link(curl, links, "ln", obj)[::2] == (412, form)
    assert make_link(curl, links, "ln", "/%s/%s" % (targets, obj))[::2] == (412, form)
    assert make_link(curl, links, "ln", "%s/" % targets)[::2] == (412, form)
    status, _, body = curl("PUT", "/%s/ln" % links, b"data",
                           {"X-Symlink-Target": "%s/%s" % (targets, obj)})
    assert (status, body) == (400, b"Symlink requests require a zero byte body")
    assert make_link(curl, links, "ln", "%s/ln" % links)[::2] == \
        (400, b"Symlink cannot target itself")
    status, _, body = make_link(curl, links, "ln", "%s/%s" % (targets, obj),
                                **{"X-Symlink-Target-Account": "a/b"})
    assert (status, body) == (412, b"Account name cannot contain slashes")
    status, _, body = make_link(curl, links, "ln", "%s/%s" % (targets, obj),
                                **{"X-Symlink-Target-Etag": 'ab"c'})
    assert (status, body) == (400, b"Bad X-Symlink-Target-Etag format")
    status, _, body = make_link(curl, links, "ln", "%s/%s" % (targets, obj),
                                **{"X-Symlink-Target-Bytes": "5"})
    assert status == 400
    # nothing was written by any of them
    assert curl("HEAD", "/%s/ln?symlink=get" % links)[0] == 404


def test_encoded_target_names_are_normalised(curl, place, http_as):
    links, targets, _obj = place
    assert curl("PUT", "/%s/d%%2Fe%%20f/g.png" % targets, BODY)[0] == 201
    assert make_link(curl, links, "ln", "%s/d%%2Fe%%20f/g.png" % targets)[0] == 201
    status, headers, body = curl("GET", "/%s/ln" % links)
    assert (status, body) == (200, BODY)
    assert headers["content-location"] == "%s/%s/d/e%%20f/g.png" % (
        account_path(http_as), targets)
    assert curl("HEAD", "/%s/ln?symlink=get" % links)[1]["x-symlink-target"] == \
        "%s/d/e%%20f/g.png" % targets


def test_static_links(curl, place, http_as):
    links, targets, obj = place
    target = "%s/%s" % (targets, obj)
    status, _, body = make_link(curl, links, "st", target, **{"X-Symlink-Target-Etag": "wrong"})
    assert (status, body) == (409, b"Object Etag '%s' does not match X-Symlink-Target-Etag "
                                   b"header 'wrong'" % BODY_MD5.encode())
    status, _, body = make_link(curl, links, "st", "%s/nothing" % targets,
                                **{"X-Symlink-Target-Etag": BODY_MD5})
    assert (status, body) == (409, b"X-Symlink-Target does not exist")
    status, _, body = make_link(curl, links, "st", target, **{
        "X-Symlink-Target-Etag": BODY_MD5, "X-Symlink-Target-Bytes": "3"})
    assert status == 409 and b"X-Symlink-Target-Bytes" in body
    assert make_link(curl, links, "st", target, **{
        "X-Symlink-Target-Etag": '"%s"' % BODY_MD5,
        "X-Symlink-Target-Bytes": str(len(BODY))})[0] == 201

    status, headers, body = curl("GET", "/%s/st" % links)
    assert (status, body) == (200, BODY)
    status, headers, _ = curl("HEAD", "/%s/st?symlink=get" % links)
    assert headers["x-symlink-target-etag"] == BODY_MD5
    assert headers["x-symlink-target-bytes"] == str(len(BODY))
    # a static link takes its target's type unless told otherwise
    assert headers["content-type"] == "application/target"

    # the target changes: the static link refuses to serve the new bytes
    curl("PUT", "/%s/%s" % (targets, obj), b"new bytes")
    location = "%s/%s" % (account_path(http_as), target)
    for method in ("GET", "HEAD"):
        status, headers, _ = curl(method, "/%s/st" % links)
        assert (status, headers["content-location"]) == (409, location)
    curl("DELETE", "/%s/%s" % (targets, obj))
    assert curl("GET", "/%s/st" % links)[0] == 404


def test_links_to_an_slo_manifest(curl, place):
    """Dynamic and static links to a large object serve its content; a static link
    names the manifest's own ETag, and the listing shows the object's size."""
    links, targets, _obj = place
    parts = [b"a" * 1000, b"b" * 1000, b"c"]
    manifest = []
    for index, data in enumerate(parts):
        assert curl("PUT", "/%s/seg%d" % (targets, index), data)[0] == 201
        manifest.append({"path": "/%s/seg%d" % (targets, index),
                         "etag": hashlib.md5(data).hexdigest(), "size_bytes": len(data)})
    assert curl("PUT", "/%s/big?multipart-manifest=put" % targets,
                json.dumps(manifest).encode())[0] == 201
    target = "%s/big" % targets
    assert make_link(curl, links, "dyn", target)[0] == 201
    status, _headers, body = curl("GET", "/%s/dyn" % links)
    assert (status, body) == (200, b"".join(parts))
    manifest_etag = curl("HEAD", "/%s/big?multipart-manifest=get" % targets)[1]["etag"]
    slo_etag = curl("HEAD", "/%s/big" % targets)[1]["etag"].strip('"')
    # the large object's ETag is not the manifest's: a static link refuses it
    assert make_link(curl, links, "st", target, **{"X-Symlink-Target-Etag": slo_etag})[0] == 409
    assert make_link(curl, links, "st", target,
                     **{"X-Symlink-Target-Etag": manifest_etag})[0] == 201
    status, _headers, body = curl("GET", "/%s/st" % links)
    assert (status, body) == (200, b"".join(parts))
    status, _headers, body = curl("GET", "/%s/st?multipart-manifest=get" % links)
    assert [row["hash"] for row in json.loads(body)] == [m["etag"] for m in manifest]
    rows = {row["name"]: row for row in json.loads(curl("GET", "/%s?format=json" % links)[2])}
    assert (rows["st"]["symlink_etag"], rows["st"]["symlink_bytes"]) == (
        manifest_etag.strip('"'), 2001)
    assert rows["st"]["slo_etag"] == '"%s"' % slo_etag
    assert rows["st"]["bytes"] == 0, rows["st"]


def test_static_link_to_a_dynamic_link_names_the_link(curl, place):
    links, targets, obj = place
    make_link(curl, links, "dyn", "%s/%s" % (targets, obj))
    assert make_link(curl, links, "st", "%s/dyn" % links,
                     **{"X-Symlink-Target-Etag": BODY_MD5})[0] == 409
    assert make_link(curl, links, "st", "%s/dyn" % links,
                     **{"X-Symlink-Target-Etag": EMPTY_MD5})[0] == 201
    assert curl("GET", "/%s/st" % links)[2] == BODY


def test_listings(curl, place, http_as):
    links, targets, obj = place
    make_link(curl, links, "dyn", "%s/%s" % (targets, obj), **{"Content-Type": "text/mine"})
    make_link(curl, links, "st", "%s/%s" % (targets, obj), **{"X-Symlink-Target-Etag": BODY_MD5})
    curl("PUT", "/%s/plain" % links, b"x")
    status, _, body = curl("GET", "/%s?format=json" % links)
    rows = {row["name"]: row for row in json.loads(body)}
    location = "%s/%s/%s" % (account_path(http_as), targets, obj)
    assert rows["dyn"]["symlink_path"] == location
    assert rows["dyn"]["hash"] == EMPTY_MD5
    assert rows["dyn"]["content_type"] == "text/mine"
    assert rows["dyn"]["bytes"] == 0
    assert "symlink_etag" not in rows["dyn"]
    assert rows["st"]["symlink_path"] == location
    assert (rows["st"]["symlink_etag"], rows["st"]["symlink_bytes"]) == (BODY_MD5, len(BODY))
    assert rows["st"]["content_type"] == "application/target"
    assert "symlink_path" not in rows["plain"]
    status, _, body = curl("GET", "/%s" % links, headers={"Accept": "application/json"})
    assert json.loads(body)[0]["symlink_path"] == location
    status, _, body = curl("GET", "/%s?format=xml" % links)
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<container name=')
    items = {o.findtext("name"): o for o in ET.fromstring(body)}
    assert items["dyn"].findtext("hash") == items["st"].findtext("hash") == EMPTY_MD5
    assert items["dyn"].findtext("symlink_path") == location
    assert items["dyn"].find("symlink_etag") is None
    assert (items["st"].findtext("symlink_etag"), items["st"].findtext("symlink_bytes")) == \
        (BODY_MD5, str(len(BODY)))
    assert items["plain"].find("symlink_path") is None
    assert curl("GET", "/%s" % links)[2] == b"dyn\nplain\nst\n"


def test_post_applies_to_the_link_and_redirects(curl, place, http_as):
    links, targets, obj = place
    make_link(curl, links, "ln", "%s/%s" % (targets, obj))
    status, headers, body = curl("POST", "/%s/ln" % links, b"",
                                 {"X-Object-Meta-Color": "red", "Content-Type": "text/new"})
    assert status == 307
    assert headers["location"] == "%s/%s/%s" % (account_path(http_as), targets, obj)
    assert b"POST was applied to a symlink" in body
    assert not any(k.startswith("x-object-sysmeta") for k in headers)
    status, headers, _ = curl("HEAD", "/%s/ln?symlink=get" % links)
    assert headers["x-object-meta-color"] == "red"
    assert headers["x-symlink-target"] == "%s/%s" % (targets, obj)
    assert "x-object-meta-color" not in curl("HEAD", "/%s/ln" % links)[1]
    rows = json.loads(curl("GET", "/%s?format=json" % links)[2])
    assert rows[0]["content_type"] == "text/new" and "symlink_path" in rows[0]
    status, _, body = curl("POST", "/%s/%s" % (targets, obj), b"",
                           {"X-Symlink-Target": "%s/other" % targets})
    assert (status, body) == (400, b"A PUT request is required to set a symlink target")
    assert curl("POST", "/%s/%s" % (targets, obj), b"", {"X-Object-Meta-A": "b"})[0] == 202


def test_copy_follows_the_link_unless_symlink_get(curl, place, http_as):
    links, targets, obj = place
    make_link(curl, links, "ln", "%s/%s" % (targets, obj))
    assert curl("COPY", "/%s/ln" % links, b"",
                {"Destination": "%s/bytes" % links})[0] == 201
    status, headers, body = curl("GET", "/%s/bytes?symlink=get" % links)
    assert (body, "x-symlink-target" in headers) == (BODY, False)
    assert curl("COPY", "/%s/ln?symlink=get" % links, b"",
                {"Destination": "%s/ln2" % links})[0] == 201
    assert curl("PUT", "/%s/ln3?symlink=get" % links, b"",
                {"X-Copy-From": "%s/ln" % links})[0] == 201
    for name in ("ln2", "ln3"):
        status, headers, body = curl("GET", "/%s/%s?symlink=get" % (links, name))
        assert (body, headers["x-symlink-target"]) == (b"", "%s/%s" % (targets, obj))
        assert curl("GET", "/%s/%s" % (links, name))[2] == BODY
    rows = json.loads(curl("GET", "/%s?format=json" % links)[2])
    assert [r["name"] for r in rows if "symlink_path" in r] == ["ln", "ln2", "ln3"]
    assert {r["hash"] for r in rows if "symlink_path" in r} == {EMPTY_MD5}


def test_delete_removes_only_the_link(curl, place):
    links, targets, obj = place
    make_link(curl, links, "ln", "%s/%s" % (targets, obj))
    assert curl("DELETE", "/%s/ln" % links)[0] == 204
    assert curl("GET", "/%s/%s" % (targets, obj))[2] == BODY
    assert curl("HEAD", "/%s/ln?symlink=get" % links)[0] == 404


def test_target_container_acl_is_checked(http_as, place, unique):
    links, targets, obj = place
    owner = http_as().request
    other = http_as("test2:tester2")
    theirs = unique("theirs")
    assert other.request("PUT", "/" + theirs)[0] == 201
    mine = account_path(http_as).rsplit("/", 1)[1]
    status, _, _ = other.request("PUT", "/%s/ln" % theirs, b"", {
        "X-Symlink-Target": "%s/%s" % (targets, obj), "X-Symlink-Target-Account": mine})
    assert status == 201
    status, headers, _ = other.request("GET", "/%s/ln" % theirs)
    assert status == 403
    assert headers["content-location"] == "/v1/%s/%s/%s" % (mine, targets, obj)
    # a static link cannot even be made to what one cannot read
    assert other.request("PUT", "/%s/st" % theirs, b"", {
        "X-Symlink-Target": "%s/%s" % (targets, obj), "X-Symlink-Target-Account": mine,
        "X-Symlink-Target-Etag": BODY_MD5})[0] == 403
    owner("POST", "/" + targets, b"", {"X-Container-Read": "test2:tester2"})
    assert other.request("GET", "/%s/ln" % theirs)[2] == BODY
    # read access to the link's container is not enough either
    reader = http_as("test:tester3")
    owner("POST", "/" + links, b"", {"X-Container-Read": "test:tester3"})
    make_link(owner, links, "ln", "%s/%s" % (targets, obj))
    reader_url = reader.request
    assert reader_url("GET", "/%s/ln?symlink=get" % links)[0] == 200
    assert reader_url("GET", "/%s/ln" % links)[0] == 403


def test_info_lists_symlink(anonymous):
    status, _, body = anonymous("GET", "/info")
    assert json.loads(body)["symlink"] == {"symloop_max": 2, "static_links": True}


def test_versioned_writes_keep_the_link_itself(curl, place):
    links, targets, obj = place
    archive = links + "-archive"
    assert curl("PUT", "/" + archive)[0] == 201
    curl("POST", "/" + links, b"", {"X-Versions-Location": archive})
    make_link(curl, links, "ln", "%s/%s" % (targets, obj), **{"Content-Type": "text/link"})
    assert curl("PUT", "/%s/ln" % links, b"not a link")[0] == 201
    rows = json.loads(curl("GET", "/%s?format=json" % archive)[2])
    assert len(rows) == 1 and rows[0]["content_type"] == "text/link"
    assert "symlink_path" in rows[0]
    status, headers, _ = curl("HEAD", "/%s/%s?symlink=get" % (archive, rows[0]["name"]))
    assert headers["x-symlink-target"] == "%s/%s" % (targets, obj)
    # DELETE brings the link back
    assert curl("DELETE", "/%s/ln" % links)[0] == 204
    assert curl("GET", "/%s/ln" % links)[2] == BODY
    assert curl("HEAD", "/%s/ln?symlink=get" % links)[1]["content-type"] == "text/link"


def test_swift_cli_as_the_readme_shows(swift, unique, tmp_path):
    photos, links = unique("photos"), unique("links")
    (tmp_path / "cat.jpg").write_bytes(BODY)
    swift("upload", photos, "cat.jpg", cwd=str(tmp_path))
    swift("upload", links, "--object-name", "latest.jpg", "-H",
          "X-Symlink-Target: %s/cat.jpg" % photos, "-", stdin=open("/dev/null"))
    assert swift("download", links, "latest.jpg", "-o", "-").stdout == BODY.decode()
    rows = json.loads(swift("list", links, "--json").stdout)
    assert rows[0]["name"] == "latest.jpg"
    assert rows[0]["symlink_path"].endswith("/%s/cat.jpg" % photos)
