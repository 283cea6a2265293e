"""The bulk middleware (extract archive, bulk delete) against an in-memory Swift."""
import bz2
import io
import json
import tarfile
import xml.etree.ElementTree as ElementTree

import pytest
from webob import Request

from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import sleep
from objstore.common.config import ConfigError
from objstore.middleware import bulk
from objstore.middleware.bulk_extract import UnsafeMemberName, member_target

A = "/v1/AUTH_a"
CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


@pytest.fixture
def cluster():
    return ClusterConfig.build("test-prefix", "test-suffix")


@pytest.fixture
def app(memory_swift, cluster):
    return bulk.filter_factory(cluster, {}, max_deletes_per_request="6",
                               max_failed_deletes="3",
                               max_containers_per_extraction="4")(memory_swift)


class Kind:
    """A member without data: a directory, link, device or FIFO."""

    def __init__(self, member_type):
        self.type = member_type


def make_tar(members, mode="w", fmt=tarfile.PAX_FORMAT):
    """members: (name, data or Kind(tarfile type), pax headers) -> archive bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=fmt) as tar:
        for name, data, pax in members:
            info = tarfile.TarInfo(name)
            info.pax_headers = pax
            if isinstance(data, Kind):
                info.type = data.type
                info.linkname = "target" if data.type in (tarfile.SYMTYPE, tarfile.LNKTYPE) \
                    else ""
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def extract(app, path, archive, kind="tar", accept="application/json", **headers):
    req = Request.blank(path + "?extract-archive=" + kind, method="PUT", body=archive,
                        headers=dict(headers, Accept=accept))
    return req.get_response(app)


def bulk_delete(app, names, method="POST", accept="application/json", **headers):
    body = "\n".join(names).encode("utf-8") if isinstance(names, list) else names
    headers.setdefault("Content-Type", "text/plain")
    req = Request.blank(A + "?bulk-delete", method=method, body=body,
                        headers=dict(headers, Accept=accept))
    return req.get_response(app)


# -- extract archive ---------------------------------------------------------------------
@pytest.mark.parametrize("kind,mode", [("tar", "w"), ("tar.gz", "w:gz"), ("tar.bz2", "w:bz2")])
def test_extract_into_a_container_each_compression(app, memory_swift, kind, mode):
    archive = make_tar([("one.txt", b"1", {}), ("sub/two", b"22", {})], mode=mode)
    resp = extract(app, A + "/cont", archive, kind)
    assert resp.status_int == 200
    report = json.loads(resp.body)
    assert report == {"Number Files Created": 2, "Response Status": "201 Created",
                      "Response Body": "", "Errors": []}
    assert memory_swift.objects[A + "/cont/one.txt"][1] == b"1"
    assert memory_swift.objects[A + "/cont/sub/two"][1] == b"22"
    assert A + "/cont" in memory_swift.containers


def test_extract_at_account_level_creates_containers_and_skips_top_level_files(
        app, memory_swift):
    archive = make_tar([("top.txt", b"t", {}), ("c1/a", b"a", {}), ("c2/d/b", b"b", {})])
    report = json.loads(extract(app, A, archive).body)
    assert report["Number Files Created"] == 2
    assert set(memory_swift.containers) == {A + "/c1", A + "/c2"}
    assert A + "/c2/d/b" in memory_swift.objects


def test_extract_under_a_prefix(app, memory_swift):
    memory_swift.containers[A + "/cont"] = {}
    assert extract(app, A + "/cont/pre/fix/", make_tar([("x", b"x", {})])).body
    assert list(memory_swift.objects) == [A + "/cont/pre/fix/x"]


def test_dot_dot_is_refused_and_absolute_names_stay_under_the_target(app, memory_swift):
    archive = make_tar([("../escape", b"e", {}), ("a/../../b", b"e", {}),
                        ("/etc/passwd", b"p", {}), ("./ok", b"o", {})])
    report = json.loads(extract(app, A + "/cont/pre", archive).body)
    assert report["Number Files Created"] == 2
    assert sorted(memory_swift.objects) == [A + "/cont/pre/etc/passwd", A + "/cont/pre/ok"]
    assert report["Errors"] == [["/v1/AUTH_a/cont/pre/../escape", "400 Bad Request"],
                                ["/v1/AUTH_a/cont/pre/a/../../b", "400 Bad Request"]]
    assert report["Response Status"] == "400 Bad Request"


def test_member_target_rules():
    assert member_target("", "c/o") == "c/o"
    assert member_target("", "/c/o") == "c/o"
    assert member_target("", "file") == ""
    assert member_target("c", "././x") == "c/x"
    with pytest.raises(UnsafeMemberName):
        member_target("c", "x/../../y")


def test_gnu_long_names_and_pax_long_names(app, memory_swift):
    long_name = "d/" + "n" * 200 + "é"
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        memory_swift.objects.clear()
        report = json.loads(extract(app, A + "/cont", make_tar([(long_name, b"L", {})],
                                                                fmt=fmt)).body)
        assert report["Number Files Created"] == 1
        wsgi_name = long_name.encode("utf-8").decode("latin-1")
        assert list(memory_swift.objects) == [A + "/cont/" + wsgi_name]


def test_pax_xattrs_become_metadata_and_content_type(app, memory_swift):
    pax = {"SCHILY.xattr.user.meta.color": "blue",
           "LIBARCHIVE.xattr.user.meta.shape": "round",
           "SCHILY.xattr.user.mime_type": "text/x-test",
           "SCHILY.xattr.security.selinux": "ignored"}
    resp = extract(app, A + "/cont", make_tar([("f", b"data", pax)]),
                   **{"X-Object-Meta-All": "yes", "X-Delete-After": "60"})
    assert json.loads(resp.body)["Number Files Created"] == 1
    headers = memory_swift.objects[A + "/cont/f"][0]
    assert headers["X-Object-Meta-Color"] == "blue"
    assert headers["X-Object-Meta-Shape"] == "round"
    assert headers["Content-Type"] == "text/x-test"
    assert headers["X-Object-Meta-All"] == "yes"
    assert not any("selinux" in k.lower() for k in headers)


def test_directories_links_and_devices_are_skipped(app, memory_swift):
    archive = make_tar([("dir", Kind(tarfile.DIRTYPE), {}), ("link", Kind(tarfile.SYMTYPE), {}),
                        ("hard", Kind(tarfile.LNKTYPE), {}), ("dev", Kind(tarfile.CHRTYPE), {}),
                        ("fifo", Kind(tarfile.FIFOTYPE), {}), ("real", b"r", {})])
    report = json.loads(extract(app, A + "/cont", archive).body)
    assert report["Number Files Created"] == 1
    assert list(memory_swift.objects) == [A + "/cont/real"]


def test_truncated_archive_reports_what_was_created_and_stores_no_partial_object(
        app, memory_swift):
    archive = make_tar([("first", b"1" * 600, {}), ("second", b"2" * 5000, {})])
    cut = archive[:2500]   # inside the second member's data
    report = json.loads(extract(app, A + "/cont", cut).body)
    assert report["Number Files Created"] == 1
    assert report["Response Status"] == "400 Bad Request"
    assert report["Response Body"].startswith("Invalid Tar File")
    assert list(memory_swift.objects) == [A + "/cont/first"]


@pytest.mark.parametrize("kind,data", [("tar.gz", b"not gzip at all" * 100),
                                       ("tar.bz2", bz2.compress(b"x" * 600)[:40]),
                                       ("tar", b"\x01" * 1024)])
def test_garbage_archives_are_reported_as_invalid(app, memory_swift, kind, data):
    resp = extract(app, A + "/cont", data, kind)
    assert resp.status_int == 200
    report = json.loads(resp.body)
    assert report["Response Status"] == "400 Bad Request"
    assert report["Response Body"].startswith("Invalid Tar File")
    assert report["Number Files Created"] == 0
    assert not memory_swift.objects


def test_empty_archive_has_no_valid_files(app):
    report = json.loads(extract(app, A + "/cont", make_tar([])).body)
    assert report["Response Status"] == "400 Bad Request"
    assert report["Response Body"] == "Invalid Tar File: No Valid Files"


def test_unknown_archive_type_is_refused_and_missing_length_reported(app, memory_swift):
    resp = extract(app, A + "/cont", b"x", "zip")
    assert resp.status_int == 400
    assert b"Unsupported archive format" in resp.body
    req = Request.blank(A + "/cont?extract-archive=tar", method="PUT",
                        headers={"Accept": "application/json"})
    req.environ.pop("CONTENT_LENGTH", None)
    resp = req.get_response(app)
    assert resp.status_int == 200
    report = json.loads(resp.body)
    assert report["Response Status"] == "411 Length Required"
    assert report["Number Files Created"] == 0
    assert not memory_swift.calls


def test_failed_sub_requests_are_listed_and_5xx_makes_it_502(app, memory_swift):
    memory_swift.refuse[("PUT", A + "/cont/bad")] = 403
    memory_swift.refuse[("PUT", A + "/cont/broken")] = 503
    archive = make_tar([("bad", b"b", {}), ("good", b"g", {}), ("broken", b"x", {})])
    report = json.loads(extract(app, A + "/cont", archive).body)
    assert report["Number Files Created"] == 1
    assert report["Errors"] == [["/v1/AUTH_a/cont/bad", "403 Forbidden"],
                                ["/v1/AUTH_a/cont/broken", "503 Service Unavailable"]]
    assert report["Response Status"] == "502 Bad Gateway"


def test_unauthorized_stops_the_extraction(app, memory_swift):
    memory_swift.refuse[("HEAD", A + "/cont")] = 401
    report = json.loads(extract(app, A + "/cont", make_tar([("a", b"a", {}),
                                                             ("b", b"b", {})])).body)
    assert report["Response Status"] == "401 Unauthorized"
    assert report["Number Files Created"] == 0
    assert not memory_swift.objects


def test_too_many_containers(app):
    archive = make_tar([("c%d/o" % i, b"x", {}) for i in range(7)])
    report = json.loads(extract(app, A, archive).body)
    assert report["Number Files Created"] == 4
    assert report["Response Body"] == "More than 4 containers to create from tar."


def test_archive_is_streamed_not_read_whole(app, memory_swift):
    big = make_tar([("big", b"z" * (3 << 20), {})], mode="w:gz")

    class Recording(io.BytesIO):
        largest = 0

        def read(self, size=-1):
            Recording.largest = max(Recording.largest, size if size >= 0 else 1 << 30)
            return super().read(size)

    req = Request.blank(A + "/cont?extract-archive=tar.gz", method="PUT",
                        headers={"Accept": "application/json"})
    req.environ["wsgi.input"] = Recording(big)
    req.content_length = len(big)
    assert json.loads(req.get_response(app).body)["Number Files Created"] == 1
    assert len(memory_swift.objects[A + "/cont/big"][1]) == 3 << 20
    assert Recording.largest <= 64 * 1024


def test_report_formats(app, memory_swift):
    archive = make_tar([("ok", b"1", {}), ("../no", b"2", {})])
    text = extract(app, A + "/c", archive, accept="text/plain")
    assert text.content_type == "text/plain"
    assert text.body.decode() == ("Number Files Created: 1\nResponse Body: \n"
                                  "Response Status: 400 Bad Request\nErrors:\n"
                                  "/v1/AUTH_a/c/../no, 400 Bad Request\n")
    for accept in ("application/xml", "text/xml"):
        resp = extract(app, A + "/c", archive, accept=accept)
        assert resp.content_type == accept
        root = ElementTree.fromstring(resp.body)
        assert root.tag == "extract"
        assert root.find("number_files_created").text == "1"
        assert root.find("response_status").text == "400 Bad Request"
        assert root.find("errors/object/name").text == "/v1/AUTH_a/c/../no"
    refused = extract(app, A + "/c2", archive, accept="image/png")
    assert refused.status_int == 200 and refused.content_type == "text/plain"
    assert b"Response Status: 406 Not Acceptable\n" in refused.body
    assert b"Number Files Created: 0\n" in refused.body
    assert not [c for c in memory_swift.calls if "/c2" in c[1]]


def test_keepalive_spaces_come_before_the_report(memory_swift, cluster):
    app = bulk.filter_factory(cluster, {}, yield_frequency="0.000001")(memory_swift)
    resp = extract(app, A + "/c", make_tar([("a", b"1", {}), ("b", b"2", {})]))
    head, sep, report = resp.body.partition(b"\r\n\r\n")
    assert head and head.strip() == b"" and sep
    assert json.loads(report)["Number Files Created"] == 2


# -- bulk delete --------------------------------------------------------------------------
def seed(memory_swift):
    memory_swift.containers.update({A + "/c": {}, A + "/empty": {}, A + "/full": {}})
    for path in ("/c/o1", "/c/sp ace", "/c/é", "/full/keep"):
        memory_swift.objects[A + path.encode("utf-8").decode("latin-1")] = ({}, b"x")


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_bulk_delete_objects_and_containers(app, memory_swift, method):
    seed(memory_swift)
    resp = bulk_delete(app, ["c/o1", "/c/sp%20ace", "c/%C3%A9", "c/missing", "empty", "full",
                             ""], method=method)
    assert resp.status_int == 200
    report = json.loads(resp.body)
    assert report["Number Deleted"] == 4
    assert report["Number Not Found"] == 1
    assert report["Errors"] == [["full", "409 Conflict"]]
    assert report["Response Status"] == "400 Bad Request"
    assert sorted(memory_swift.objects) == [A + "/full/keep"]
    assert sorted(memory_swift.containers) == [A + "/c", A + "/full"]


def test_bulk_delete_all_good_is_200_ok_in_text(app, memory_swift):
    seed(memory_swift)
    resp = bulk_delete(app, ["c/o1", "empty"], accept="text/plain")
    assert resp.body.decode() == ("Number Deleted: 2\nNumber Not Found: 0\nResponse Body: \n"
                                  "Response Status: 200 OK\nErrors:\n")


def test_bulk_delete_xml(app, memory_swift):
    seed(memory_swift)
    root = ElementTree.fromstring(bulk_delete(app, ["full"], accept="application/xml").body)
    assert root.tag == "delete"
    assert root.find("number_deleted").text == "0"
    assert root.find("errors/object/status").text == "409 Conflict"


def reported(resp):
    """(Response Status, Response Body) of a bulk answer, which itself must be 200."""
    assert resp.status_int == 200
    report = json.loads(resp.body)
    return report["Response Status"], report["Response Body"]


def test_bulk_delete_limits_and_bad_requests_are_reported_in_the_body(app, memory_swift):
    assert reported(bulk_delete(app, ["c/o%d" % i for i in range(7)])) == \
        ("413 Request Entity Too Large", "Maximum Bulk Deletes: 6 per request")
    assert reported(bulk_delete(app, ["c/" + "x" * 10000])) == \
        ("400 Bad Request", "Invalid File Name")
    assert reported(bulk_delete(app, ["c/o"], **{"Content-Type": "application/json"}))[0] == \
        "406 Not Acceptable"
    req = Request.blank(A + "?bulk-delete", method="POST", headers={"Accept": "application/json"})
    req.environ.pop("CONTENT_LENGTH", None)
    assert reported(req.get_response(app))[0] == "411 Length Required"
    assert not memory_swift.calls
    resp = bulk_delete(app, ["c/o"], accept="image/png")
    assert resp.status_int == 200 and resp.content_type == "text/plain"
    assert b"Response Status: 406 Not Acceptable\n" in resp.body
    assert not memory_swift.calls
    report = json.loads(bulk_delete(app, ["", "  "]).body)
    assert report["Response Status"] == "400 Bad Request"
    assert report["Response Body"] == "Invalid bulk delete."


def test_bulk_delete_stops_after_max_failures_and_5xx_is_502(app, memory_swift):
    seed(memory_swift)
    for name in ("a", "b", "c2", "d"):
        memory_swift.refuse[("DELETE", A + "/x/" + name)] = 503
    one_at_a_time = bulk.filter_factory(CLUSTER, {}, max_failed_deletes="3",
                                        delete_concurrency="1")(memory_swift)
    report = json.loads(bulk_delete(one_at_a_time, ["x/a", "x/b", "x/c2", "x/d"]).body)
    assert len(report["Errors"]) == 3
    assert report["Response Body"] == "Max delete failures exceeded"
    # With two in flight, the one started before the third failure came back still counts.
    report = json.loads(bulk_delete(app, ["x/a", "x/b", "x/c2", "x/d"]).body)
    assert len(report["Errors"]) == 4
    assert report["Response Body"] == "Max delete failures exceeded"
    report = json.loads(bulk_delete(app, ["x/a", "c/o1"]).body)
    assert report["Response Status"] == "502 Bad Gateway"
    assert report["Errors"] == [["x/a", "503 Service Unavailable"]]


def test_bulk_delete_invalid_utf8_name(app):
    report = json.loads(bulk_delete(app, ["c/%FF"]).body)
    assert report["Errors"] == [["c/%FF", "412 Precondition Failed"]]


def test_other_requests_pass_through(app, memory_swift):
    memory_swift.containers[A + "/c"] = {}
    resp = Request.blank(A + "/c/o", method="PUT", body=b"plain").get_response(app)
    assert resp.status_int == 201
    assert memory_swift.objects[A + "/c/o"][1] == b"plain"
    resp = Request.blank(A + "/c?bulk-delete", method="GET").get_response(app)
    assert resp.status_int == 200


def test_info_lists_both_with_limits(app, cluster):
    info = cluster.capabilities.as_info()
    assert info["bulk_delete"] == {"max_deletes_per_request": 6, "max_failed_deletes": 3}
    assert info["bulk_upload"] == {"max_containers_per_extraction": 4,
                                   "max_failed_extractions": 1000}


def test_bulk_delete_runs_delete_concurrency_sub_requests_at_once(memory_swift):
    seed(memory_swift)
    in_flight, most = [0], [0]

    def slow(environ, start_response):
        in_flight[0] += 1
        most[0] = max(most[0], in_flight[0])
        sleep(0.01)
        in_flight[0] -= 1
        return memory_swift(environ, start_response)

    app = bulk.filter_factory(CLUSTER, {}, delete_concurrency="3")(slow)
    report = json.loads(bulk_delete(app, ["c/o1", "c/sp%20ace", "c/%C3%A9", "full/keep"]).body)
    assert report["Number Deleted"] == 4
    assert most[0] == 3
    app = bulk.filter_factory(CLUSTER, {})(slow)
    most[0] = 0
    assert b"Number Not Found\": 3" in bulk_delete(app, ["c/a", "c/b", "c/c"]).body
    assert most[0] == 2


def test_bulk_delete_takes_objects_before_containers(app, memory_swift):
    seed(memory_swift)
    report = json.loads(bulk_delete(app, ["full", "c", "full/keep", "c/o1", "c/sp%20ace",
                                          "c/%C3%A9"]).body)
    assert report["Number Deleted"] == 6
    assert report["Errors"] == []
    assert not memory_swift.objects
    assert sorted(memory_swift.containers) == [A + "/empty"]


def test_xml_declaration_leads_even_with_keepalive_spaces(memory_swift):
    app = bulk.filter_factory(CLUSTER, {}, yield_frequency="0.000001")(memory_swift)
    seed(memory_swift)
    body = bulk_delete(app, ["c/o1", "empty"], accept="text/xml").body
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ElementTree.fromstring(body)
    assert root.find("number_deleted").text == "2"
    assert root.find("response_status").text == "200 OK"


def test_delete_concurrency_is_checked(memory_swift):
    with pytest.raises(ConfigError):
        bulk.filter_factory(CLUSTER, {}, delete_concurrency="0")
