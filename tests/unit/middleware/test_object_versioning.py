"""object_versioning in process: naming, listing merges, and the container and
version-id requests against the in-memory Swift (MemorySwift)."""
import json

import pytest
from webob import Request

from objstore.common.timestamp import Timestamp
from objstore.middleware import object_versioning
from objstore.middleware import object_versioning_listing as listing
from objstore.middleware import object_versioning_names as names
from objstore.middleware.versioned_writes import DELETE_MARKER_CONTENT_TYPE

A = "/v1/AUTH_a"
HIDDEN = A + "/\x00versions\x00c"


@pytest.fixture
def app(memory_swift, cluster):
    return object_versioning.filter_factory(cluster, {})(memory_swift)


def call(app, path, method="GET", body=None, **headers):
    req = Request.blank(path, method=method, headers=headers)
    if body is not None:
        req.body = body
    resp = req.get_response(app)
    resp.body
    return resp


# -- names ------------------------------------------------------------------------------
def test_version_names_sort_newest_first_and_round_trip():
    old, new = Timestamp("1700000000.00001"), Timestamp("1700000001.5")
    assert names.version_object("o", new) < names.version_object("o", old)
    assert names.split_version_object(names.version_object("a/b", old)) == ("a/b", old)
    assert names.split_version_object("plain") == ("plain", None)
    assert names.parent_container(names.versions_container("c")) == "c"
    assert names.parent_container("c") is None
    assert names.inverted(names.inverted(new)) == new
    with pytest.raises(ValueError):
        names.parse_version_id("1700000000.00000_0000000000000001")
    with pytest.raises(ValueError):
        names.parse_version_id("bogus")


# -- listing pieces ---------------------------------------------------------------------
def test_hidden_query_for_markers():
    stamp = Timestamp("1700000000.12345")
    assert listing.hidden_listing_query({"marker": "o"})["marker"] == "\x00o\x00:"
    assert listing.hidden_listing_query({"marker": "o", "version_marker": "null"})[
        "marker"] == "\x00o\x00"
    assert listing.hidden_listing_query({"marker": "o", "version_marker": stamp.internal})[
        "marker"] == names.version_object("o", stamp)
    assert listing.hidden_listing_query({"prefix": "p"})["prefix"] == "\x00p"
    for params in ({"version_marker": "1.0"}, {"marker": "o", "version_marker": "x"},
                   {"delimiter": "5"}, {"delimiter": "."}):
        with pytest.raises(listing.ListingError) as caught:
            listing.hidden_listing_query(params)
        assert caught.value.response.status_int == 400


def _row(name, **extra):
    row = {"name": name, "bytes": 1, "hash": "h", "content_type": "text/plain",
           "last_modified": "2026-01-01T00:00:00.000000"}
    row.update(extra)
    return row


def test_merge_marks_latest_versions_and_markers():
    v1, v2 = Timestamp("1700000001"), Timestamp("1700000002")
    hidden = "\x00versions\x00c"
    link_path = "/v1/AUTH_a/%s/%s" % (hidden, names.version_object("o", v2))
    primary = [_row("n"), _row("o", version_symlink=True, symlink_path=link_path)]
    hidden_rows = [_row(names.version_object("o", v2)), _row(names.version_object("o", v1)),
                   _row(names.version_object("gone", v1), content_type=DELETE_MARKER_CONTENT_TYPE)]
    rows = listing.sorted_page(listing.merge_versions(primary, hidden_rows, "v1", "AUTH_a",
                                                      hidden), False, 100)
    assert [(r["name"], r["version_id"], r["is_latest"]) for r in rows] == [
        ("gone", v1.internal, True), ("n", "null", True), ("o", v2.internal, True),
        ("o", v1.internal, False)]
    assert listing.sorted_page(rows, True, 2)[0]["name"] == "o"


def test_version_links_show_their_versions_size_and_etag():
    v1 = Timestamp("1700000001")
    path = "/v1/AUTH_a/%%00versions%%00c/%%00o%%00%s" % names.inverted(v1).internal
    rows = [{"name": "o", "bytes": 0, "hash": "d41d8cd98f00b204e9800998ecf8427e",
             "symlink_path": path, "symlink_etag": "abc", "symlink_bytes": 7}]
    listing.show_version_links(rows, "v1", "AUTH_a", "c", "\x00versions\x00c", False)
    assert rows[0]["bytes"] == 7 and rows[0]["hash"] == "abc"
    assert rows[0]["symlink_path"] == "/v1/AUTH_a/c/o?version-id=%s" % v1.internal


def test_xml_version_links_show_their_versions_size_and_etag():
    v1 = Timestamp("1700000001")
    path = "/v1/AUTH_a/%%00versions%%00c/%%00o%%00%s" % names.inverted(v1).internal
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<container name="c">'
            "<object><name>o</name><hash>d41d8cd98f00b204e9800998ecf8427e</hash>"
            "<bytes>0</bytes><content_type>text/plain</content_type>"
            "<last_modified>2026-01-01T00:00:00.000000</last_modified>"
            "<symlink_path>%s</symlink_path><symlink_etag>abc</symlink_etag>"
            "<symlink_bytes>7</symlink_bytes></object>"
            "<object><name>plain</name><hash>h</hash><bytes>3</bytes>"
            "<content_type>text/plain</content_type>"
            "<last_modified>2026-01-01T00:00:00.000000</last_modified></object>"
            "</container>" % path).encode("utf-8")
    shown = listing.show_version_links_xml(body, "v1", "AUTH_a", "c", "\x00versions\x00c")
    assert shown.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<container name="c">')
    assert (b"<name>o</name><hash>abc</hash><bytes>7</bytes>" in shown
            and b"<symlink_path>/v1/AUTH_a/c/o?version-id=%s</symlink_path></object>"
            % v1.internal.encode() in shown)
    assert b"symlink_etag" not in shown and b"symlink_bytes" not in shown
    assert b"<name>plain</name><hash>h</hash><bytes>3</bytes>" in shown
    # a listing without links to versions comes back as it was
    plain = body.replace(b"%00versions%00c", b"elsewhere")
    assert listing.show_version_links_xml(plain, "v1", "AUTH_a", "c",
                                          "\x00versions\x00c") == plain


# -- containers ---------------------------------------------------------------------------
def test_enable_creates_the_hidden_container_and_shows_the_flag(app, memory_swift, cluster):
    assert call(app, A + "/c", "PUT", **{"X-Versions-Enabled": "true"}).status_int == 201
    assert HIDDEN in memory_swift.containers
    stored = memory_swift.containers[A + "/c"]
    assert stored[names.SYSMETA_VERSIONS_ENABLED] == "True"
    assert call(app, A + "/c", "HEAD").headers["X-Versions-Enabled"] == "True"
    assert call(app, A + "/c", "POST", **{"X-Versions-Enabled": "false"}).status_int == 204
    assert call(app, A + "/c", "HEAD").headers["X-Versions-Enabled"] == "False"
    assert "object_versioning" in cluster.capabilities.as_info()


def test_enable_next_to_legacy_versioning_is_refused(app, memory_swift):
    resp = call(app, A + "/c", "PUT", **{"X-Versions-Enabled": "true",
                                         "X-Versions-Location": "old"})
    assert resp.status_int == 400 and b"legacy" in resp.body
    memory_swift.containers[A + "/old"] = {"X-Container-Sysmeta-Versions-Location": "arch"}
    assert call(app, A + "/old", "POST", **{"X-Versions-Enabled": "true"}).status_int == 400
    assert HIDDEN not in memory_swift.containers


def test_delete_refused_while_versions_remain(app, memory_swift):
    call(app, A + "/c", "PUT", **{"X-Versions-Enabled": "true"})
    memory_swift.containers[HIDDEN]["X-Container-Object-Count"] = "1"
    assert call(app, A + "/c", "DELETE").status_int == 409
    memory_swift.containers[HIDDEN]["X-Container-Object-Count"] = "0"
    assert call(app, A + "/c", "DELETE").status_int == 204
    assert HIDDEN not in memory_swift.containers and A + "/c" not in memory_swift.containers


@pytest.mark.parametrize("method,query,status", [
    ("POST", "version-id=null", 400), ("GET", "version-id=bogus", 400),
    ("PUT", "version-id=null", 400), ("GET", "version-id=1700000000.00000_0000000000000001", 400)])
def test_version_id_refusals(app, memory_swift, method, query, status):
    call(app, A + "/c", "PUT", **{"X-Versions-Enabled": "true"})
    assert call(app, A + "/c/o?" + query, method, body=b"").status_int == status


def test_version_id_needs_a_versioned_container(app, memory_swift):
    memory_swift.containers[A + "/plain"] = {}
    assert call(app, A + "/plain/o?version-id=1700000000.00000").status_int == 400


def test_versions_listing_is_json_only(app, memory_swift):
    call(app, A + "/c", "PUT", **{"X-Versions-Enabled": "true"})
    assert call(app, A + "/c?versions&format=xml").status_int == 406
    assert call(app, A + "/c?versions", Accept="text/plain").status_int == 406
    resp = call(app, A + "/c?versions")
    assert resp.status_int == 200 and json.loads(resp.body) == []
