"""Object versioning (X-Versions-Location / X-History-Location) over HTTP."""
import json

import pytest
from swiftclient.exceptions import ClientException

DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"


@pytest.fixture
def containers(conn, unique):
    """(current, archive) names, both created by the test that asks."""
    return unique("current"), unique("archive")


def archive_names(conn, archive, prefix="009my_object"):
    return [item["name"] for item in conn.get_container(archive, prefix=prefix)[1]]


def test_user_guide_walkthrough_x_versions_location(http_as, conn, containers):
    """The user guide's curl session, request for request."""
    current, archive = containers
    curl = http_as().request
    conn.put_container(archive)
    status, _headers, _body = curl("PUT", "/" + current, b"",
                                   {"X-Versions-Location": archive})
    assert status == 201
    assert conn.head_container(current)["x-versions-location"] == archive

    assert curl("PUT", "/%s/my_object" % current, b"1")[0] == 201
    first = conn.head_object(current, "my_object")["x-timestamp"]
    assert archive_names(conn, archive) == []
    assert curl("PUT", "/%s/my_object" % current, b"2")[0] == 201
    assert curl("GET", "/%s/my_object" % current)[2] == b"2"
    status, headers, body = curl("GET", "/%s?prefix=009my_object" % archive)
    assert status == 200
    assert headers["x-container-object-count"] == "1"
    assert body == b"009my_object/%s\n" % first.encode()
    assert conn.get_object(archive, "009my_object/" + first)[1] == b"1"

    assert curl("POST", "/%s/my_object" % current, b"",
                {"X-Object-Meta-Note": "no new version"})[0] == 202
    assert len(archive_names(conn, archive)) == 1

    assert curl("DELETE", "/%s/my_object" % current)[0] == 204
    status, headers, body = curl("GET", "/%s?prefix=009my_object" % archive)
    assert (status, headers["x-container-object-count"], body) == (204, "0", b"")
    assert curl("GET", "/%s/my_object" % current)[2] == b"1"
    assert curl("DELETE", "/%s/my_object" % current)[0] == 204
    assert curl("GET", "/%s/my_object" % current)[0] == 404

    # a COPY onto a versioned object is a write like any other
    conn.put_object(current, "my_object", b"before copy")
    conn.put_object(current, "source", b"copied")
    conn.copy_object(current, "source", "/%s/my_object" % current)
    assert conn.get_object(current, "my_object")[1] == b"copied"
    assert [conn.get_object(archive, name)[1] for name in archive_names(conn, archive)] == \
        [b"before copy"]


def test_user_guide_walkthrough_x_history_location(conn, containers):
    current, archive = containers
    conn.put_container(archive)
    conn.put_container(current, headers={"X-History-Location": archive})
    headers = conn.head_container(current)
    assert headers["x-history-location"] == archive
    assert "x-versions-location" not in headers
    conn.put_object(current, "my_object", b"1")
    conn.put_object(current, "my_object", b"2")
    response = {}
    conn.delete_object(current, "my_object", response_dict=response)
    assert response["status"] == 204
    with pytest.raises(ClientException) as err:
        conn.get_object(current, "my_object")
    assert err.value.http_status == 404
    listing = conn.get_container(archive, prefix="009my_object")[1]
    assert len(listing) == 3
    assert [conn.get_object(archive, item["name"])[1] for item in listing[:2]] == [b"1", b"2"]
    assert listing[2]["content_type"] == DELETE_MARKER and listing[2]["bytes"] == 0


def test_both_locations_at_once_is_400(conn, unique):
    name = unique("both")
    with pytest.raises(ClientException) as err:
        conn.put_container(name, headers={"X-Versions-Location": "a",
                                          "X-History-Location": "b"})
    assert err.value.http_status == 400
    assert name not in [c["name"] for c in conn.get_account()[1]]
    conn.put_container(name)
    with pytest.raises(ClientException) as err:
        conn.post_container(name, headers={"X-Versions-Location": "a",
                                           "X-History-Location": "b"})
    assert err.value.http_status == 400
    with pytest.raises(ClientException) as err:
        conn.post_container(name, headers={"X-Versions-Location": "a%2Fb"})
    assert err.value.http_status == 412


def test_empty_header_disables_versioning(conn, containers):
    current, archive = containers
    conn.put_container(archive)
    conn.put_container(current, headers={"X-Versions-Location": archive})
    conn.put_object(current, "my_object", b"1")
    conn.put_object(current, "my_object", b"2")
    response = {}
    conn.put_container(current, headers={"X-Versions-Location": ""}, response_dict=response)
    assert response["status"] == 202
    assert "x-versions-location" not in conn.head_container(current)
    conn.put_object(current, "my_object", b"3")
    assert len(archive_names(conn, archive)) == 1
    conn.delete_object(current, "my_object")
    with pytest.raises(ClientException):
        conn.get_object(current, "my_object")


def test_missing_archive_refuses_the_overwrite(conn, containers):
    current, archive = containers
    conn.put_container(current, headers={"X-Versions-Location": archive})
    conn.put_object(current, "o", b"1")
    with pytest.raises(ClientException) as err:
        conn.put_object(current, "o", b"2")
    assert err.value.http_status == 412
    assert conn.get_object(current, "o")[1] == b"1"


def test_a_writer_of_the_container_versions_into_an_archive_it_cannot_touch(
        connect, conn, containers):
    """Write access to the versioned container is enough to keep its history;
    the archive itself stays closed to that writer."""
    current, archive = containers
    conn.put_container(archive)
    conn.put_container(current, headers={"X-Versions-Location": archive,
                                         "X-Container-Write": "test:tester3",
                                         "X-Container-Read": "test:tester3"})
    other = connect("test:tester3")
    with pytest.raises(ClientException) as err:
        other.put_object(archive, "direct", b"x")
    assert err.value.http_status == 403
    other.put_object(current, "o", b"1")
    other.put_object(current, "o", b"2")
    names = archive_names(conn, archive, "001o")
    assert [conn.get_object(archive, n)[1] for n in names] == [b"1"]
    for attempt in (other.get_object, other.delete_object):
        with pytest.raises(ClientException) as err:
            attempt(archive, names[0])
        assert err.value.http_status == 403
    # a user who may not write the versioned container changes nothing
    stranger = connect("test2:tester2")
    stranger.get_auth()
    stranger.url = conn.get_auth()[0]        # the versioned container's account
    with pytest.raises(ClientException) as err:
        stranger.delete_object(current, "o")
    assert err.value.http_status == 403
    assert archive_names(conn, archive, "001o") == names
    other.delete_object(current, "o")     # restores "1" from the archive
    assert conn.get_object(current, "o")[1] == b"1"
    assert archive_names(conn, archive, "001o") == []


def test_dlo_manifests_are_versioned_as_manifests(conn, containers, unique):
    current, archive = containers
    conn.put_container(archive)
    conn.put_container(current, headers={"X-Versions-Location": archive})
    for index in (1, 2, 3):
        conn.put_object(current, "seg/%d" % index, str(index) * 2)
    conn.put_object(current, "dlo", b"old content")
    conn.put_object(current, "dlo", b"", headers={"X-Object-Manifest": "%s/seg/" % current})
    assert conn.get_object(current, "dlo")[1] == b"112233"
    assert [conn.get_object(archive, n)[1] for n in archive_names(conn, archive, "003dlo")] \
        == [b"old content"]
    conn.put_object(current, "dlo", b"new content")
    newest = archive_names(conn, archive, "003dlo")[-1]
    headers, body = conn.get_object(archive, newest)
    assert body == b"112233" and headers["x-object-manifest"] == "%s/seg/" % current
    conn.delete_object(current, "dlo")
    headers, body = conn.get_object(current, "dlo")
    assert body == b"112233" and "x-object-manifest" in headers
    conn.delete_object(current, "dlo")
    assert conn.get_object(current, "dlo")[1] == b"old content"


def test_slo_manifests_are_versioned_as_manifests(conn, containers, unique):
    current, archive = containers
    segments = unique("segs")
    conn.put_container(archive)
    conn.put_container(segments)
    conn.put_container(current, headers={"X-Versions-Location": archive})
    parts = [b"a" * 1024 * 1024, b"b" * 10]
    manifest = []
    for index, part in enumerate(parts):
        etag = conn.put_object(segments, "p%d" % index, part)
        manifest.append({"path": "/%s/p%d" % (segments, index), "etag": etag,
                         "size_bytes": len(part)})
    conn.put_object(current, "big", json.dumps(manifest),
                    query_string="multipart-manifest=put")
    conn.put_object(current, "big", b"small")
    names = archive_names(conn, archive, "003big")
    assert len(names) == 1
    headers = conn.head_object(archive, names[0], query_string="multipart-manifest=get")
    assert headers["x-static-large-object"] == "True"
    listed = conn.get_container(archive)[1][0]
    assert listed["bytes"] == sum(len(p) for p in parts)
    assert conn.get_object(archive, names[0])[1] == b"".join(parts)
    conn.delete_object(current, "big")
    headers, body = conn.get_object(current, "big")
    assert body == b"".join(parts)
    assert headers["x-static-large-object"] == "True"


def test_info_lists_versioned_writes(conn):
    assert conn.get_capabilities()["versioned_writes"] == {
        "allowed_flags": ["X-Versions-Location", "X-History-Location"]}
