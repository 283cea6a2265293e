"""Large-object details clients rely on: part numbers, heartbeats, listings, manifest reads,
cross-account manifest copies and DLO multi-range reads, over HTTP on a real cluster."""
import hashlib
import json
import os

import pytest
from swiftclient.exceptions import ClientException

SIZES = (1000, 2000, 500)


@pytest.fixture
def slo(conn, unique):
    """(container, name, segment bodies): a three-segment SLO with a text/x-big type."""
    container = unique("slo")
    conn.put_container(container)
    parts = [os.urandom(size) for size in SIZES]
    manifest = []
    for index, data in enumerate(parts):
        conn.put_object(container, "seg/%d" % index, data)
        manifest.append({"path": "/%s/seg/%d" % (container, index),
                         "etag": hashlib.md5(data).hexdigest(), "size_bytes": len(data)})
    conn.put_object(container, "big", json.dumps(manifest), content_type="text/x-big",
                    query_string="multipart-manifest=put")
    return container, "big", parts


def slo_etag(parts):
    return hashlib.md5("".join(hashlib.md5(p).hexdigest() for p in parts).encode()).hexdigest()


def test_part_number_get_and_head(http_as, slo):
    container, name, parts = slo
    client = http_as()
    status, headers, body = client.request("GET", "/%s/%s?part-number=2" % (container, name))
    assert status == 206 and body == parts[1]
    assert headers["x-parts-count"] == "3"
    assert headers["content-range"] == "bytes 1000-2999/3500"
    assert headers["etag"] == '"%s"' % slo_etag(parts)
    status, headers, body = client.request("HEAD", "/%s/%s?part-number=3" % (container, name))
    assert status == 206 and body == b""
    assert headers["content-length"] == "500"
    assert headers["content-range"] == "bytes 3000-3499/3500"
    assert headers["x-parts-count"] == "3"
    status, headers, body = client.request("GET", "/%s/%s?part-number=4" % (container, name))
    assert status == 416 and headers["content-range"] == "bytes */3500"
    assert headers["x-parts-count"] == "3"
    status, _headers, _body = client.request("HEAD", "/%s/%s?part-number=4" % (container, name))
    assert status == 416
    for bad in ("0", "-1", "x"):
        status, _headers, body = client.request("GET", "/%s/%s?part-number=%s"
                                                % (container, name, bad))
        assert (status, body) == (400, b"Part number must be an integer greater than 0")
    status, _headers, body = client.request("GET", "/%s/%s?part-number=1" % (container, name),
                                            headers={"Range": "bytes=0-1"})
    assert status == 400 and b"Range requests are not supported" in body


def test_part_number_is_ignored_on_manifest_delete(http_as, conn, slo):
    container, name, _parts = slo
    status, _headers, body = http_as().request(
        "DELETE", "/%s/%s?multipart-manifest=delete&part-number=9" % (container, name),
        headers={"Accept": "application/json"})
    assert status == 200
    report = json.loads(body)
    assert report["Number Deleted"] == 4 and report["Response Status"] == "200 OK"
    assert conn.get_container(container)[1] == []


def test_heartbeat_manifest_put(http_as, conn, slo):
    container, _name, parts = slo
    manifest = [{"path": "/%s/seg/%d" % (container, i)} for i in range(3)]
    status, headers, body = http_as().request(
        "PUT", "/%s/beat?multipart-manifest=put&heartbeat=on" % container,
        json.dumps(manifest).encode(), {"Accept": "application/json"})
    assert status == 202
    assert headers["content-type"].startswith("application/json")
    assert body.startswith(b" ")
    head, separator, report = body.partition(b"\r\n\r\n")
    assert head.strip() == b"" and separator
    report = json.loads(report)
    assert report["Response Status"] == "201 Created"
    assert report["Etag"] == '"%s"' % slo_etag(parts)
    assert report["Last Modified"] and report["Errors"] == []
    assert conn.get_object(container, "beat")[1] == b"".join(parts)
    # a segment is named as the manifest spelled it, here without a leading slash
    bad = manifest + [{"path": "%s/seg/missing" % container}]
    status, _headers, body = http_as().request(
        "PUT", "/%s/beat2?multipart-manifest=put&heartbeat=on" % container,
        json.dumps(bad).encode())
    assert status == 202
    lines = body.decode().split("\n")
    assert "Response Status: 400 Bad Request" in lines
    assert "Response Body: Bad Request" in lines
    assert lines[-3:] == ["Errors:", "%s/seg/missing, 404 Not Found" % container, ""]
    with pytest.raises(ClientException):
        conn.head_object(container, "beat2")


def test_listing_shows_slo_etag_and_total_size(conn, slo):
    container, name, parts = slo
    _headers, listing = conn.get_container(container, prefix=name)
    entry = listing[0]
    _h, stored = conn.get_object(container, name, query_string="multipart-manifest=get")
    assert entry["hash"] == hashlib.md5(stored).hexdigest()
    assert entry["slo_etag"] == '"%s"' % slo_etag(parts)
    assert entry["bytes"] == sum(SIZES)
    assert entry["content_type"] == "text/x-big"
    # plain objects are listed as before
    plain = [e for e in conn.get_container(container, prefix="seg/")[1]]
    assert all("slo_etag" not in e for e in plain)


def test_a_post_to_the_manifest_keeps_its_listing_row(conn, slo):
    """An object POST updates the listing row; the SLO's figures must survive it."""
    container, name, parts = slo
    before = conn.get_container(container, prefix=name)[1][0]
    conn.post_object(container, name, {"X-Object-Meta-Color": "blue",
                                       "Content-Type": "text/x-bigger"})
    after = conn.get_container(container, prefix=name)[1][0]
    assert after["content_type"] == "text/x-bigger"
    assert after["last_modified"] > before["last_modified"]
    assert (after["hash"], after["bytes"]) == (before["hash"], sum(SIZES))
    assert after["slo_etag"] == '"%s"' % slo_etag(parts)
    # a later POST without a type keeps the one just set, on the object and its row
    conn.post_object(container, name, {"X-Object-Meta-Color": "red"})
    assert conn.head_object(container, name)["content-type"] == "text/x-bigger"
    again = conn.get_container(container, prefix=name)[1][0]
    assert again["content_type"] == "text/x-bigger" and again["bytes"] == sum(SIZES)


@pytest.mark.parametrize("method", ["COPY", "PUT"])
def test_copy_with_part_number_copies_that_part(http_as, conn, slo, method):
    container, name, parts = slo
    if method == "COPY":
        status, _h, _b = http_as().request(
            "COPY", "/%s/%s?part-number=2" % (container, name),
            headers={"Destination": "%s/part2" % container})
    else:
        status, _h, _b = http_as().request(
            "PUT", "/%s/part2?part-number=2" % container,
            headers={"X-Copy-From": "%s/%s" % (container, name), "Content-Length": "0"})
    assert status == 201
    headers, body = conn.get_object(container, "part2")
    assert body == parts[1] and "x-static-large-object" not in headers


def test_manifest_get_and_head(conn, slo):
    container, name, _parts = slo
    headers, stored = conn.get_object(container, name, query_string="multipart-manifest=get")
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["etag"].strip('"') == hashlib.md5(stored).hexdigest()
    assert headers["content-length"] == str(len(stored))
    head = conn.head_object(container, name, query_string="multipart-manifest=get")
    assert head["content-type"] == "application/json; charset=utf-8"
    assert head["etag"] == headers["etag"]
    headers, raw = conn.get_object(container, name,
                                   query_string="multipart-manifest=get&format=raw")
    assert headers["content-type"] == "text/x-big"
    assert headers["etag"].strip('"') == hashlib.md5(raw).hexdigest()
    assert [item["size_bytes"] for item in json.loads(raw)] == list(SIZES)
    head = conn.head_object(container, name, query_string="multipart-manifest=get&format=raw")
    assert head["content-type"] == "text/x-big"
    assert head["content-length"] == str(len(raw))
    assert "swift_bytes" not in conn.head_object(container, name)["content-type"]


def test_cross_account_manifest_copy_lists_unreadable_segments(http_as, connect, slo, unique):
    container, name, parts = slo
    other = connect("test2:tester2")
    destination = unique("dest")
    other.put_container(destination, headers={"X-Container-Write": "test:tester"})
    other_account = other.get_auth()[0].rstrip("/").rsplit("/", 1)[1]

    def copy_manifest():
        return http_as().request(
            "COPY", "/%s/%s?multipart-manifest=get" % (container, name),
            headers={"Destination": "/%s/copy" % destination,
                     "Destination-Account": other_account})

    # the manifest names /<container>/seg/N, which the other account cannot offer
    status, _headers, body = copy_manifest()
    assert status == 400 and body.decode().count("403 Forbidden") == 3
    other.put_container(container, headers={"X-Container-Read": "test:tester"})
    status, _headers, body = copy_manifest()
    assert status == 400 and body.decode().count("404 Not Found") == 3
    for index, data in enumerate(parts):
        other.put_object(container, "seg/%d" % index, data)
    status, _headers, _body = copy_manifest()
    assert status == 201
    assert other.get_object(destination, "copy")[1] == b"".join(parts)


def test_dlo_with_several_ranges_answers_the_whole_object(http_as, conn, unique):
    container = unique("dlor")
    conn.put_container(container)
    for index, letter in enumerate(b"abcde"):
        conn.put_object(container, "seg/%02d" % index, bytes([letter]) * 10)
    conn.put_object(container, "man", b"", headers={"X-Object-Manifest": container + "/seg/"})
    client = http_as()
    status, headers, body = client.request("GET", "/%s/man" % container,
                                           headers={"Range": "bytes=0-4,10-14"})
    assert status == 200 and "content-range" not in headers
    assert body == b"aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeee"
    status, _headers, body = client.request("GET", "/%s/man" % container,
                                            headers={"Range": "bytes=8-11"})
    assert status == 206 and body == b"aabb"


def test_a_missing_first_segment_answers_the_standard_conflict_page(http_as, conn, slo):
    """Clients compare this body byte for byte (Swift's own tests do)."""
    container, name, parts = slo
    conn.delete_object(container, "seg/0")
    status, headers, body = http_as().request("GET", "/%s/%s" % (container, name))
    assert status == 409
    assert headers["content-type"] == "text/html; charset=UTF-8"
    assert body == (b"<html><h1>Conflict</h1><p>There was a conflict when trying to complete"
                    b" your request.</p></html>")
    # bytes after the missing segment are still served
    status, _headers, body = http_as().request("GET", "/%s/%s" % (container, name),
                                               headers={"Range": "bytes=1000-1099"})
    assert (status, body) == (206, parts[1][:100])
