"""The versioned_writes middleware against an in-memory Swift."""
import json

import pytest
from webob import Request, Response

from objstore.common.cluster_config import ClusterConfig
from objstore.common.http_text import str_to_wsgi
from objstore.middleware import versioned_writes
from objstore.middleware.versioned_writes import (DELETE_MARKER_CONTENT_TYPE, SYSMETA_LOCATION,
                                                  SYSMETA_MODE, version_name_prefix)

A = "/v1/AUTH_a"


@pytest.fixture
def cluster():
    return ClusterConfig.build("test-prefix", "test-suffix")


@pytest.fixture
def app(memory_swift, cluster):
    return versioned_writes.filter_factory(cluster, {},
                                           allow_versioned_writes="true")(memory_swift)


def call(app, path, method="GET", body=None, environ=None, **headers):
    req = Request.blank(path, method=method, headers=headers, environ=environ or {})
    if body is not None:
        req.body = body
    resp = req.get_response(app)
    resp.body  # run lazy bodies
    return resp


def versioned(memory_swift, mode="stack", container="current", archive="archive"):
    memory_swift.containers[A + "/" + container] = {SYSMETA_LOCATION: archive,
                                                    SYSMETA_MODE: mode}
    memory_swift.containers[A + "/" + archive] = {}


def archived(memory_swift, archive="archive"):
    prefix = A + "/" + archive + "/"
    return sorted((p[len(prefix):], h.get("Content-Type"), b)
                  for p, (h, b) in memory_swift.objects.items() if p.startswith(prefix))


# -- container headers ------------------------------------------------------------------
@pytest.mark.parametrize("header,mode", [("X-Versions-Location", "stack"),
                                         ("X-History-Location", "history")])
def test_location_is_kept_as_sysmeta_and_shown_back(app, memory_swift, header, mode):
    assert call(app, A + "/current", "PUT", **{header: "arch%20ive"}).status_int == 201
    stored = memory_swift.containers[A + "/current"]
    assert stored == {SYSMETA_LOCATION: "arch%20ive", SYSMETA_MODE: mode}
    resp = call(app, A + "/current", "HEAD")
    assert resp.headers[header] == "arch%20ive"
    other = ({"X-Versions-Location", "X-History-Location"} - {header}).pop()
    assert other not in resp.headers


def test_both_headers_at_once_is_400_unless_one_is_empty(app, memory_swift):
    resp = call(app, A + "/c", "PUT", **{"X-Versions-Location": "a", "X-History-Location": "b"})
    assert resp.status_int == 400
    assert A + "/c" not in memory_swift.containers
    resp = call(app, A + "/c", "PUT", **{"X-Versions-Location": "", "X-History-Location": "b"})
    assert resp.status_int == 201
    assert memory_swift.containers[A + "/c"][SYSMETA_MODE] == "history"


@pytest.mark.parametrize("headers", [{"X-Versions-Location": ""},
                                     {"X-Remove-Versions-Location": "x"},
                                     {"X-History-Location": ""}])
def test_empty_or_remove_header_turns_versioning_off(app, memory_swift, headers):
    versioned(memory_swift)
    assert call(app, A + "/current", "POST", **headers).status_int == 204
    assert memory_swift.containers[A + "/current"] == {}
    assert "X-Versions-Location" not in call(app, A + "/current", "HEAD").headers


@pytest.mark.parametrize("remove", ["X-Remove-Versions-Location", "X-Remove-History-Location"])
def test_a_location_beats_a_remove_header_in_the_same_request(app, memory_swift, remove):
    memory_swift.containers[A + "/current"] = {}
    headers = {remove: "x", "X-Versions-Location": "archive"}
    assert call(app, A + "/current", "POST", **headers).status_int == 204
    assert call(app, A + "/current", "HEAD").headers["X-Versions-Location"] == "archive"


def test_a_utf8_location_keeps_every_byte(app, memory_swift):
    """A name ending in U+5605 ends in the byte \x85, which is no whitespace here."""
    location = str_to_wsgi("arch\u5605")
    memory_swift.containers[A + "/current"] = {}
    assert call(app, A + "/current", "POST",
                **{"X-Versions-Location": location}).status_int == 204
    assert memory_swift.containers[A + "/current"][SYSMETA_LOCATION] == location


def test_location_with_a_slash_is_refused(app, memory_swift):
    assert call(app, A + "/c", "PUT", **{"X-Versions-Location": "a%2Fb"}).status_int == 412
    assert A + "/c" not in memory_swift.containers


def test_disabled_filter_refuses_and_versions_nothing(memory_swift, cluster):
    app = versioned_writes.filter_factory(cluster, {})(memory_swift)
    assert "versioned_writes" not in cluster.capabilities.as_info()
    resp = call(app, A + "/c", "PUT", **{"X-Versions-Location": "archive"})
    assert resp.status_int == 412
    versioned(memory_swift)
    call(app, A + "/current/o", "PUT", body=b"1")
    call(app, A + "/current/o", "PUT", body=b"2")
    assert archived(memory_swift) == []


def test_info(app, cluster):
    assert cluster.capabilities.as_info()["versioned_writes"] == {
        "allowed_flags": ["X-Versions-Location", "X-History-Location"]}


# -- stack mode -------------------------------------------------------------------------
def test_version_names():
    assert version_name_prefix("my_object") == "009my_object/"
    assert version_name_prefix("é") == "002é/"
    assert version_name_prefix("x" * 300) == "12c" + "x" * 300 + "/"


def test_user_guide_walkthrough_stack(app, memory_swift):
    versioned(memory_swift)
    obj = A + "/current/my_object"
    assert call(app, obj, "PUT", body=b"1").status_int == 201
    assert archived(memory_swift) == []
    first_ts = memory_swift.objects[obj][0]["X-Timestamp"]
    assert call(app, obj, "PUT", body=b"2").status_int == 201
    assert archived(memory_swift) == [("009my_object/" + first_ts, "application/octet-stream",
                                       b"1")]
    assert call(app, obj).body == b"2"
    assert call(app, obj, "POST", **{"X-Object-Meta-Color": "red"}).status_int == 202
    assert len(archived(memory_swift)) == 1
    assert call(app, obj, "DELETE").status_int == 204
    assert call(app, obj).body == b"1"
    assert archived(memory_swift) == []
    assert call(app, obj, "DELETE").status_int == 204
    assert call(app, obj).status_int == 404


def test_stack_delete_restores_newest_first(app, memory_swift):
    versioned(memory_swift)
    obj = A + "/current/o"
    for body in (b"1", b"2", b"3", b"4"):
        call(app, obj, "PUT", body=body, **{"X-Object-Meta-V": body.decode()})
    for expected in (b"3", b"2", b"1"):
        call(app, obj, "DELETE")
        resp = call(app, obj)
        assert resp.body == expected
        assert resp.headers["X-Object-Meta-V"] == expected.decode()


def test_stack_delete_under_a_delete_marker_restores_what_came_before(app, memory_swift):
    versioned(memory_swift, mode="history")
    obj = A + "/current/o"
    call(app, obj, "PUT", body=b"1")
    call(app, obj, "PUT", body=b"2")
    call(app, obj, "DELETE")          # archive: 1, 2, marker; current: gone
    memory_swift.containers[A + "/current"][SYSMETA_MODE] = "stack"
    assert call(app, obj, "DELETE").status_int == 204
    assert call(app, obj).body == b"2"
    assert [entry[2] for entry in archived(memory_swift)] == [b"1"]


def test_missing_archive_is_412_and_nothing_changes(app, memory_swift):
    versioned(memory_swift)
    del memory_swift.containers[A + "/archive"]
    obj = A + "/current/o"
    call(app, obj, "PUT", body=b"1")
    assert call(app, obj, "PUT", body=b"2").status_int == 412
    assert call(app, obj).body == b"1"


def test_dlo_manifests_are_versioned_as_manifests(app, memory_swift):
    versioned(memory_swift)
    obj = A + "/current/o"
    call(app, obj, "PUT", body=b"plain")
    call(app, obj, "PUT", body=b"", **{"X-Object-Manifest": "segs/p"})
    call(app, obj, "PUT", body=b"", **{"X-Object-Manifest": "segs/q"})
    entries = archived(memory_swift)
    assert [body for _name, _ct, body in entries] == [b"plain", b""]
    kept = memory_swift.objects[A + "/archive/" + entries[1][0]][0]
    assert kept["X-Object-Manifest"] == "segs/p"
    assert call(app, obj, "DELETE").status_int == 204
    assert memory_swift.objects[obj][0]["X-Object-Manifest"] == "segs/p"


def test_slo_manifests_are_archived_as_manifests(app, memory_swift):
    versioned(memory_swift)
    obj = A + "/current/o"
    manifest = json.dumps([{"name": "/segs/1", "bytes": 5, "hash": "x"}]).encode()
    memory_swift.objects[obj] = ({"Content-Type": "text/plain;swift_bytes=5",
                                  "X-Static-Large-Object": "True",
                                  "X-Object-Sysmeta-Slo-Size": "5",
                                  "X-Object-Sysmeta-Slo-Etag": "abc",
                                  "X-Timestamp": "1700000000.00000"}, manifest)
    assert call(app, obj, "PUT", body=b"new").status_int == 201
    path = A + "/archive/001o/1700000000.00000"
    headers, body = memory_swift.objects[path]
    assert body == manifest
    assert headers["X-Static-Large-Object"] == "True"
    assert headers["X-Object-Sysmeta-Slo-Etag"] == "abc"
    assert headers["Content-Type"] == "text/plain;swift_bytes=5"
    gets = [c for c in memory_swift.calls if c[0] == "GET" and c[1] == obj]
    assert gets and all("multipart-manifest=get" in c[2] for c in gets)


# -- history mode -----------------------------------------------------------------------
def test_user_guide_walkthrough_history(app, memory_swift):
    versioned(memory_swift, mode="history")
    obj = A + "/current/my_object"
    call(app, obj, "PUT", body=b"1")
    call(app, obj, "PUT", body=b"2")
    assert call(app, obj, "DELETE").status_int == 204
    assert call(app, obj).status_int == 404
    entries = archived(memory_swift)
    assert [(ct, body) for _name, ct, body in entries] == [
        ("application/octet-stream", b"1"), ("application/octet-stream", b"2"),
        (DELETE_MARKER_CONTENT_TYPE, b"")]
    assert all(name.startswith("009my_object/") for name, _ct, _body in entries)


# -- authorization ------------------------------------------------------------------------
def authorizer(read_only_containers):
    def authorize(req):
        container = req.path_info.split("/")[3]
        if container in read_only_containers and "writer" not in (req.acl or ""):
            return Response(status=403, body=b"Forbidden")
        return None
    return authorize


def test_archive_needs_no_write_access_of_its_own(app, memory_swift):
    """Writing the versioned container is enough: the archive copies are the
    filter's own, so a writer the archive refuses still leaves a history."""
    versioned(memory_swift)
    obj = A + "/current/o"
    env = {"swift.authorize": authorizer({"archive"})}
    assert call(app, obj, "PUT", body=b"1", environ=dict(env)).status_int == 201
    assert call(app, obj, "PUT", body=b"2", environ=dict(env)).status_int == 201
    assert [body for _n, _ct, body in archived(memory_swift)] == [b"1"]
    assert call(app, obj, "DELETE", environ=dict(env)).status_int == 204
    assert call(app, obj).body == b"1" and archived(memory_swift) == []


def test_versioned_container_write_is_checked_before_anything(app, memory_swift):
    versioned(memory_swift)
    obj = A + "/current/o"
    call(app, obj, "PUT", body=b"1")
    memory_swift.calls.clear()
    env = {"swift.authorize": authorizer({"current"})}
    assert call(app, obj, "DELETE", environ=env).status_int == 403
    assert not [c for c in memory_swift.calls if c[1].startswith(A + "/archive")]
