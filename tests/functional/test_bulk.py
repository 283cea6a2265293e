"""Extract archive and bulk delete over HTTP, with python-swiftclient and the swift CLI."""
import io
import json
import os
import shutil
import subprocess
import tarfile
import xml.etree.ElementTree as ElementTree
from urllib.parse import quote

import pytest
from swiftclient.exceptions import ClientException

from objstore.aio.cluster import USERS


def make_tar(members, mode="w:gz"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.PAX_FORMAT) as tar:
        for name, data, pax in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.pax_headers = pax
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tar.addfile(link)
    return buf.getvalue()


def listing(conn, container):
    return [item["name"] for item in conn.get_container(container)[1]]


def test_extract_archive_into_a_container(http_as, conn, unique):
    container = unique("ex")
    archive = make_tar([("a.txt", b"alpha", {"SCHILY.xattr.user.meta.color": "blue",
                                             "SCHILY.xattr.user.mime_type": "text/x-alpha"}),
                        ("dir/b.bin", os.urandom(70000), {}),
                        ("/absolute/c", b"c", {}),
                        ("../escape", b"e", {}),
                        ("d/" + "é" * 120, b"long", {})])
    status, headers, body = http_as().request(
        "PUT", "/%s/pre?extract-archive=tar.gz" % container, archive,
        {"Accept": "application/json"})
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    report = json.loads(body)
    escaped = "/v1/AUTH_test/%s/pre/../escape" % container
    assert report == {"Number Files Created": 4, "Response Status": "400 Bad Request",
                      "Response Body": "", "Errors": [[escaped, "400 Bad Request"]]}
    assert sorted(listing(conn, container)) == sorted(
        ["pre/a.txt", "pre/dir/b.bin", "pre/absolute/c", "pre/d/" + "é" * 120])
    meta, data = conn.get_object(container, "pre/a.txt")
    assert data == b"alpha"
    assert meta["x-object-meta-color"] == "blue"
    assert meta["content-type"] == "text/x-alpha"
    assert "escape" not in " ".join(c["name"] for c in conn.get_account()[1])


def test_extract_at_account_level_creates_containers(http_as, conn, unique):
    first, second = unique("exa"), unique("exb")
    archive = make_tar([("top-level-file", b"skipped", {}), ("%s/x" % first, b"1", {}),
                        ("%s/sub/y" % second, b"2", {})], mode="w:bz2")
    status, _headers, body = http_as().request("PUT", "?extract-archive=tar.bz2", archive)
    assert status == 200
    assert body.decode() == ("Number Files Created: 2\nResponse Body: \n"
                             "Response Status: 201 Created\nErrors:\n")
    assert listing(conn, first) == ["x"]
    assert listing(conn, second) == ["sub/y"]


def test_extract_with_swiftclient_sized_and_chunked(conn, unique):
    """The way scripts use extract-archive through python-swiftclient."""
    container = unique("exc")
    conn.put_container(container)
    archive = make_tar([("one", b"1" * 1000, {}), ("two", b"2" * 1000, {})], mode="w")
    conn.put_object(container, None, contents=io.BytesIO(archive),
                    content_length=len(archive), query_string="extract-archive=tar")
    assert listing(conn, container) == ["one", "two"]
    conn.put_object(container + "/again", None, contents=io.BytesIO(archive), chunk_size=777,
                    query_string="extract-archive=tar")
    assert listing(conn, container) == ["again/one", "again/two", "one", "two"]
    assert conn.get_object(container, "again/two")[1] == b"2" * 1000


def test_extract_errors(http_as, conn, unique):
    client = http_as()
    container = unique("exe")
    status, _headers, body = client.request("PUT", "/%s?extract-archive=zip" % container, b"x")
    assert status == 400 and b"Unsupported archive format" in body
    status, _headers, body = client.request("PUT", "/%s?extract-archive=tar" % container,
                                            make_tar([("a", b"a", {})]), {"Accept": "x/y"})
    # the 406 travels in the report, like every other outcome, and nothing is made
    assert status == 200 and b"Response Status: 406 Not Acceptable\n" in body
    with pytest.raises(ClientException):
        conn.head_object(container, "a")
    full = make_tar([("first", b"1" * 100, {}), ("second", os.urandom(20000), {})], mode="w")
    status, _headers, body = client.request("PUT", "/%s?extract-archive=tar" % container,
                                            full[:8000], {"Accept": "application/xml"})
    assert status == 200
    root = ElementTree.fromstring(body)
    assert root.find("number_files_created").text == "1"
    assert root.find("response_status").text == "400 Bad Request"
    assert root.find("response_body").text.startswith("Invalid Tar File")
    assert listing(conn, container) == ["first"]
    status, _headers, body = client.request("PUT", "/%s?extract-archive=tar.gz" % container,
                                            b"this is not gzip" * 10)
    assert b"Response Status: 400 Bad Request" in body
    assert b"Invalid Tar File" in body


def test_extract_archive_sub_requests_are_authorized(http_as, conn, unique):
    allowed, denied = unique("exw"), unique("exd")
    conn.put_container(allowed, headers={"X-Container-Write": "test:tester3"})
    conn.put_container(denied)
    archive = make_tar([("%s/ok" % allowed, b"1", {}), ("%s/no" % denied, b"2", {})])
    status, _headers, body = http_as("test:tester3").request(
        "PUT", "?extract-archive=tar.gz", archive, {"Accept": "application/json"})
    report = json.loads(body)
    assert report["Number Files Created"] == 1
    assert report["Errors"] == [["/v1/AUTH_test/%s" % denied, "403 Forbidden"],
                                ["/v1/AUTH_test/%s/no" % denied, "403 Forbidden"]]
    assert listing(conn, allowed) == ["ok"] and listing(conn, denied) == []
    status, _headers, body = http_as().request("PUT", "/%s?extract-archive=tar.gz" % allowed,
                                               archive, token=False)
    assert b"401 Unauthorized" in body
    assert listing(conn, allowed) == ["ok"]


def test_bulk_delete(http_as, conn, unique):
    container, keep = unique("bd"), unique("bdk")
    conn.put_container(container)
    conn.put_container(keep)
    names = ["plain", "with space", "é/ü", "deep/er/name"]
    for name in names:
        conn.put_object(container, name, b"x")
    conn.put_object(keep, "stays", b"x")
    empty = unique("bde")
    conn.put_container(empty)
    body = "\n".join([quote("%s/%s" % (container, n)) for n in names]
                     + ["/%s/not-there" % container, empty, keep, ""])
    status, headers, answer = http_as().request(
        "POST", "?bulk-delete", body.encode(), {"Content-Type": "text/plain",
                                                "Accept": "application/json"})
    assert status == 200
    assert headers.get("transfer-encoding") == "chunked"
    report = json.loads(answer)
    assert report == {"Number Deleted": 5, "Number Not Found": 1,
                      "Response Status": "400 Bad Request", "Response Body": "",
                      "Errors": [[keep, "409 Conflict"]]}
    assert listing(conn, container) == []
    assert listing(conn, keep) == ["stays"]
    status, _headers, answer = http_as().request(
        "DELETE", "?bulk-delete", ("%s\n%s/stays\n%s\n" % (container, keep, keep)).encode(),
        {"Accept": "text/xml"})
    root = ElementTree.fromstring(answer)
    assert root.tag == "delete"
    assert root.find("number_deleted").text == "3"
    assert root.find("response_status").text == "200 OK"
    assert unique not in [c["name"] for c in conn.get_account()[1]]


def test_bulk_delete_errors_and_acls(http_as, conn, unique):
    container = unique("bda")
    conn.put_container(container)
    conn.put_object(container, "o", b"x")
    too_many = "\n".join("%s/o%d" % (container, i) for i in range(10001)).encode()
    status, _headers, body = http_as().request("POST", "?bulk-delete", too_many)
    assert status == 200
    assert b"Response Status: 413 Request Entity Too Large\n" in body
    assert b"Response Body: Maximum Bulk Deletes: 10000 per request\n" in body
    status, _headers, body = http_as().request("POST", "?bulk-delete", b"x",
                                               {"Content-Type": "application/json"})
    assert status == 200 and b"Response Status: 406 Not Acceptable\n" in body
    status, _headers, body = http_as().request(
        "POST", "?bulk-delete", ("%s/%s" % (container, "n" * 5000)).encode(),
        {"Accept": "application/json"})
    assert status == 200
    report = json.loads(body)
    assert (report["Response Status"], report["Response Body"]) == \
        ("400 Bad Request", "Invalid File Name")
    status, _headers, body = http_as().request("POST", "?bulk-delete", b"x",
                                               {"Accept": "image/png"})
    assert status == 200 and b"Response Status: 406 Not Acceptable\n" in body
    status, _headers, body = http_as("test:tester3").request(
        "POST", "?bulk-delete", ("%s/o" % container).encode(), {"Accept": "application/json"})
    report = json.loads(body)
    assert report["Errors"] == [["%s/o" % container, "403 Forbidden"]]
    assert report["Number Deleted"] == 0
    status, _headers, body = http_as().request("POST", "?bulk-delete",
                                               ("%s/o" % container).encode(), token=False)
    assert b"401 Unauthorized" in body
    assert listing(conn, container) == ["o"]


def test_info_lists_bulk_with_limits(conn):
    info = conn.get_capabilities()
    assert info["bulk_delete"] == {"max_deletes_per_request": 10000, "max_failed_deletes": 1000}
    assert info["bulk_upload"] == {"max_containers_per_extraction": 10000,
                                   "max_failed_extractions": 1000}


def proxy_log_during(cluster, action):
    """What the proxy logged while ``action()`` ran."""
    with open(cluster.proxy_log, "rb") as log:
        log.seek(0, io.SEEK_END)
        start = log.tell()
    action()
    with open(cluster.proxy_log, "rb") as log:
        log.seek(start)
        return log.read()


def test_swift_delete_of_a_container_uses_bulk_delete(swift, conn, cluster, unique):
    container = unique("cli")
    conn.put_container(container)
    # swiftclient deletes one by one up to 2 * its 10 threads, in bulk beyond that
    for index in range(21):
        conn.put_object(container, "obj%02d" % index, b"x")
    results = []
    written = proxy_log_during(cluster, lambda: results.append(swift("delete", container)))
    assert sorted(results[0].stdout.split()) == sorted(["obj%02d" % i for i in range(21)]
                                                       + [container])
    assert container not in [c["name"] for c in conn.get_account()[1]]
    assert b"POST /v1/AUTH_test?bulk-delete" in written


@pytest.mark.skipif(shutil.which("rclone") is None,
                    reason="rclone is not installed (apt-get install rclone; .ci/run does)")
def test_rclone_purge_removes_a_container_and_its_segments(cluster, conn, unique, tmp_path):
    container = unique("rc")
    source = tmp_path / "src"
    (source / "dir").mkdir(parents=True)
    for index in range(25):
        (source / "dir" / ("f%02d" % index)).write_bytes(b"y" * 10)
    (source / "big").write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    (tmp_path / "rclone.conf").write_text(
        "[objstore]\ntype = swift\nauth = %s\nuser = test:tester\nkey = %s\n"
        % (cluster.auth_url, USERS["test:tester"]))
    env = dict(os.environ, RCLONE_CONFIG=str(tmp_path / "rclone.conf"))

    def rclone(*args):
        result = subprocess.run(["rclone", *args], env=env, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr

    rclone("copy", "--swift-chunk-size", "1M", str(source), "objstore:" + container)
    containers = [c["name"] for c in conn.get_account()[1]]
    assert container in containers and container + "_segments" in containers
    assert len(listing(conn, container + "_segments")) == 4
    written = proxy_log_during(cluster, lambda: rclone("purge", "objstore:" + container))
    containers = [c["name"] for c in conn.get_account()[1]]
    assert container not in containers
    # rclone empties the segments container but leaves it in place (as against Swift)
    assert listing(conn, container + "_segments") == []
    conn.delete_container(container + "_segments")
    assert b"?bulk-delete" in written
