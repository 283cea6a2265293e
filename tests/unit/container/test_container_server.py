"""Container server verbs, error codes and account reporting, in process."""
import json
import threading
import wsgiref.simple_server
from xml.dom import minidom

import pytest
from webob import Request

from objstore.common.cluster_config import ClusterConfig
from objstore.common.storage_policy import PolicyCollection, StoragePolicy
from objstore.common.timestamp import Timestamp
from objstore.container.backend import ContainerBroker
from objstore.container.server import app_factory

ACCOUNT, CONTAINER = "AUTH_test", "c"
BASE = "/sda/1/%s/%s" % (ACCOUNT, CONTAINER)
CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


@pytest.fixture
def app(tmp_path):
    (tmp_path / "sda").mkdir()
    return app_factory(CLUSTER, {"devices": str(tmp_path)}, mount_check="false",
                       node_timeout="1")


def call(app, path, method="GET", headers=None, **kwargs):
    req = Request.blank(path, method=method, headers=headers or {}, **kwargs)
    return req.get_response(app)


def ts(value):
    return Timestamp(value).internal


def put_container(app, timestamp=1000, headers=None, path=BASE):
    all_headers = {"X-Timestamp": ts(timestamp)}
    all_headers.update(headers or {})
    return call(app, path, "PUT", all_headers)


def put_object(app, name, timestamp, size=3, etag="etag", ctype="text/plain", path=BASE):
    return call(app, "%s/%s" % (path, name), "PUT", {
        "X-Timestamp": ts(timestamp), "X-Size": str(size), "X-Etag": etag,
        "X-Content-Type": ctype})


def test_put_creates_then_accepts(app):
    assert put_container(app).status_int == 201
    assert put_container(app, 1001).status_int == 202
    resp = call(app, BASE, "HEAD")
    assert resp.status_int == 204
    assert resp.headers["X-Container-Object-Count"] == "0"
    assert resp.headers["X-PUT-Timestamp"] == Timestamp(1001).normal
    assert resp.headers["X-Backend-Put-Timestamp"] == ts(1001)
    assert resp.headers["X-Backend-Delete-Timestamp"] == ts(0)
    assert resp.headers["X-Backend-Storage-Policy-Index"] == "0"
    assert "X-Backend-Status-Changed-At" in resp.headers
    assert "X-Timestamp" in resp.headers
    assert resp.headers["Last-Modified"] == Timestamp(1001).http_date


def test_missing_or_bad_timestamp_is_400(app):
    assert call(app, BASE, "PUT").status_int == 400
    resp = call(app, BASE, "PUT", {"X-Timestamp": "yesterday"})
    assert resp.status_int == 400 and b"X-Timestamp" in resp.body


def test_bad_paths(app):
    assert call(app, "/sda/1/a", "GET").status_int == 400
    assert call(app, "/sda/notapart/a/c", "GET").status_int == 400
    assert call(app, "/nodev/1/a/c", "PUT", {"X-Timestamp": ts(1)}).status_int == 507
    bad_utf8 = Request.blank("/sda/1/a/c")
    bad_utf8.environ["PATH_INFO"] = b"/sda/1/a/\xff\xfe".decode("latin-1")
    assert bad_utf8.get_response(app).status_int == 400
    assert call(app, BASE, "COPY").status_int == 405


def test_object_rows_stats_and_listing(app):
    put_container(app)
    assert put_object(app, "a", 1001, size=10).status_int == 201
    assert put_object(app, "b/c", 1002, size=5).status_int == 201
    assert put_object(app, "a", 1003, size=20).status_int == 201
    resp = call(app, BASE, "HEAD")
    assert resp.headers["X-Container-Object-Count"] == "2"
    assert resp.headers["X-Container-Bytes-Used"] == "25"
    resp = call(app, BASE)
    assert resp.status_int == 200
    assert resp.body == b"a\nb/c\n"
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert call(app, BASE + "/a", "DELETE", {"X-Timestamp": ts(1004)}).status_int == 204
    resp = call(app, BASE, "HEAD")
    assert resp.headers["X-Container-Object-Count"] == "1"
    assert resp.headers["X-Container-Bytes-Used"] == "5"


def test_object_row_needs_container_and_headers(app):
    assert put_object(app, "a", 1001).status_int == 404
    assert call(app, BASE + "/a", "DELETE", {"X-Timestamp": ts(1)}).status_int == 404
    put_container(app)
    resp = call(app, BASE + "/a", "PUT", {"X-Timestamp": ts(1001), "X-Size": "x",
                                          "X-Etag": "e", "X-Content-Type": "t"})
    assert resp.status_int == 400
    resp = call(app, BASE + "/a", "PUT", {"X-Timestamp": ts(1001), "X-Size": "1"})
    assert resp.status_int == 400
    resp = call(app, BASE + "/a", "PUT", {"X-Timestamp": ts(1001), "X-Size": str(1 << 70),
                                          "X-Etag": "e", "X-Content-Type": "t"})
    assert resp.status_int == 400
    resp = call(app, BASE + "/a", "PUT", {"X-Timestamp": ts(1001), "X-Size": "-1",
                                          "X-Etag": "e", "X-Content-Type": "t"})
    assert resp.status_int == 400


def test_utf8_content_type_lists_as_text(app):
    put_container(app)
    call(app, BASE + "/a", "PUT", {
        "X-Timestamp": ts(1001), "X-Size": "1", "X-Etag": "e",
        "X-Content-Type": "text/plain; name=\u00e9".encode("utf-8").decode("latin-1")})
    assert json.loads(call(app, BASE + "?format=json").body)[0]["content_type"] == \
        "text/plain; name=\u00e9"


def test_listing_formats(app):
    put_container(app)
    put_object(app, "x<&>", 1001, size=4, etag="abc", ctype="image/png")
    put_object(app, "d/1", 1002)
    resp = call(app, BASE + "?format=json")
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    data = json.loads(resp.body)
    assert data[1] == {"name": "x<&>", "hash": "abc", "bytes": 4, "content_type": "image/png",
                       "last_modified": Timestamp(1001).iso8601}
    resp = call(app, BASE + "?delimiter=/", headers={"Accept": "application/json"})
    assert json.loads(resp.body)[0] == {"subdir": "d/"}
    resp = call(app, BASE + "?format=xml&delimiter=/")
    assert resp.headers["Content-Type"] == "application/xml; charset=utf-8"
    doc = minidom.parseString(resp.body)
    root = doc.documentElement
    assert root.tagName == "container" and root.getAttribute("name") == CONTAINER
    assert root.getElementsByTagName("subdir")[0].getAttribute("name") == "d/"
    assert root.getElementsByTagName("name")[1].firstChild.data == "x<&>"
    resp = call(app, BASE, headers={"Accept": "text/xml"})
    assert resp.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert call(app, BASE, headers={"Accept": "image/png"}).status_int == 406


def test_listing_bodies_equal_rendering_the_brokers_entries(app, tmp_path):
    """The server lists plain row tuples (names alone for text): every
    format must still spell exactly what the typed entries render to."""
    from urllib.parse import quote

    from objstore.common.listing_format import render_listing
    put_container(app)
    odd = ["a", "a/", "a/b", "d/\u00e9/\U0001f600", 'q"\\<&>', "tab\tx", "\u2028/x", "z"]
    for i, name in enumerate(odd):
        put_object(app, quote(name), 1001 + i, size=i, etag="e%d" % i,
                   ctype="text/plain;swift_bytes=7" if name == "a/b" else "t/%d" % (i % 2))
    broker = ContainerBroker.for_container(CLUSTER.hasher, str(tmp_path / "sda"), 1, ACCOUNT,
                                           CONTAINER)
    for query, kwargs in (("", {}), ("delimiter=/", {"delimiter": "/"}),
                          ("path=d", {"path": "d"}), ("reverse=on&delimiter=/",
                                                      {"reverse": True, "delimiter": "/"})):
        entries = broker.list_objects_iter(10000, **kwargs)
        for fmt, media_type in (("json", "application/json"), ("xml", "application/xml"),
                                ("plain", "text/plain")):
            body = call(app, BASE + "?format=%s&%s" % (fmt, query)).body
            assert body == render_listing(entries, media_type, "container", CONTAINER), \
                (fmt, query)


def test_empty_listing(app):
    put_container(app)
    resp = call(app, BASE)
    assert resp.status_int == 204 and resp.body == b""
    resp = call(app, BASE + "?format=json")
    assert resp.status_int == 200 and resp.body == b"[]"


def test_listing_parameters(app):
    put_container(app)
    for i, name in enumerate(["a1", "a2", "b1", "b2", "c"]):
        put_object(app, name, 1001 + i)
    assert call(app, BASE + "?limit=2").body == b"a1\na2\n"
    assert call(app, BASE + "?marker=a2&end_marker=c").body == b"b1\nb2\n"
    assert call(app, BASE + "?prefix=b").body == b"b1\nb2\n"
    assert call(app, BASE + "?reverse=on&limit=2").body == b"c\nb2\n"
    assert call(app, BASE + "?limit=10000").status_int == 200
    resp = call(app, BASE + "?limit=10001")
    assert resp.status_int == 412 and b"10000" in resp.body
    # a limit that is not all digits is ignored: the default applies
    assert call(app, BASE + "?limit=abc").body == b"a1\na2\nb1\nb2\nc\n"
    assert call(app, BASE + "?limit=-1").body == b"a1\na2\nb1\nb2\nc\n"
    assert call(app, BASE + "?marker=%FF").status_int == 400
    # NUL is a plain character: an inclusive marker, or a prefix nothing matches
    assert call(app, BASE + "?marker=a1%00").body == b"a2\nb1\nb2\nc\n"
    assert call(app, BASE + "?prefix=a%00").status_int == 204
    # any delimiter string rolls names up at its first occurrence
    assert call(app, BASE + "?delimiter=b").body == b"a1\na2\nb\nc\n"
    rolled = json.loads(call(app, BASE + "?delimiter=b1&format=json").body)
    assert [row.get("subdir", row.get("name")) for row in rolled] == ["a1", "a2", "b1", "b2", "c"]
    assert rolled[2] == {"subdir": "b1"}
    assert call(app, BASE + "?delimiter=%E2%82%AC").status_int == 200


def test_delete_container(app):
    assert call(app, BASE, "DELETE", {"X-Timestamp": ts(1)}).status_int == 404
    put_container(app)
    put_object(app, "a", 1001)
    assert call(app, BASE, "DELETE", {"X-Timestamp": ts(1002)}).status_int == 409
    call(app, BASE + "/a", "DELETE", {"X-Timestamp": ts(1003)})
    assert call(app, BASE, "DELETE", {"X-Timestamp": ts(999)}).status_int == 409
    assert call(app, BASE, "DELETE", {"X-Timestamp": ts(1004)}).status_int == 204
    resp = call(app, BASE, "HEAD")
    assert resp.status_int == 404
    assert resp.headers["X-Backend-Delete-Timestamp"] == ts(1004)
    assert call(app, BASE, "GET").status_int == 404
    assert call(app, BASE, "DELETE", {"X-Timestamp": ts(1005)}).status_int == 404
    # Re-created by a newer PUT (201), refused for an older one (409).
    assert put_container(app, 1003).status_int == 409
    assert put_container(app, 1007).status_int == 201
    assert call(app, BASE, "HEAD").status_int == 204


def test_recreated_container_does_not_inherit_metadata(app):
    put_container(app, 1000, {"X-Container-Read": "test2:tester2",
                              "X-Container-Meta-Color": "red"})
    assert call(app, BASE, "DELETE", {"X-Timestamp": ts(1001)}).status_int == 204
    assert put_container(app, 1002).status_int == 201
    resp = call(app, BASE, "HEAD")
    assert "X-Container-Read" not in resp.headers
    assert "X-Container-Meta-Color" not in resp.headers


def test_object_row_that_loses_race_with_container_delete_is_kept(app):
    put_container(app)
    assert call(app, BASE, "DELETE", {"X-Timestamp": ts(1002)}).status_int == 204
    assert put_object(app, "late", 1001).status_int == 201
    resp = call(app, BASE, "HEAD")
    assert resp.status_int == 204
    assert resp.headers["X-Container-Object-Count"] == "1"


def test_metadata_put_post_and_per_key_timestamps(app):
    put_container(app, headers={"X-Container-Meta-Color": "red",
                                "X-Container-Read": ".r:*",
                                "X-Versions-Location": "vers",
                                "X-Container-Sysmeta-Foo": "bar",
                                "X-Unrelated": "no"})
    resp = call(app, BASE, "HEAD")
    assert resp.headers["X-Container-Meta-Color"] == "red"
    assert resp.headers["X-Container-Read"] == ".r:*"
    # versioning targets are sysmeta (versioned_writes); the client header is not kept
    assert "X-Versions-Location" not in resp.headers
    assert resp.headers["X-Container-Sysmeta-Foo"] == "bar"
    assert "X-Unrelated" not in resp.headers
    assert call(app, BASE, "POST", {"X-Timestamp": ts(1002),
                                    "X-Container-Meta-Color": "blue"}).status_int == 204
    call(app, BASE, "POST", {"X-Timestamp": ts(1001), "X-Container-Meta-Color": "green"})
    assert call(app, BASE, "HEAD").headers["X-Container-Meta-Color"] == "blue"
    call(app, BASE, "POST", {"X-Timestamp": ts(1003), "X-Container-Meta-Color": ""})
    assert "X-Container-Meta-Color" not in call(app, BASE, "HEAD").headers
    too_long = {"X-Timestamp": ts(1004), "X-Container-Meta-Big": "x" * 300}
    assert call(app, BASE, "POST", too_long).status_int == 400
    assert call(app, "/sda/1/a/missing", "POST", {"X-Timestamp": ts(1)}).status_int == 404
    assert call(app, BASE, "POST").status_int == 400


def _gold_and_silver_app(tmp_path):
    two_policies = ClusterConfig.build("test-prefix", "test-suffix", policies=PolicyCollection([
        StoragePolicy(index=0, name="gold", default=True), StoragePolicy(index=1, name="silver")]))
    (tmp_path / "sda").mkdir(exist_ok=True)
    return app_factory(two_policies, {"devices": str(tmp_path)}, mount_check="false")


def test_storage_policy_conflict(tmp_path):
    app = _gold_and_silver_app(tmp_path)
    assert put_container(app, headers={"X-Backend-Storage-Policy-Index": "1"}).status_int == 201
    resp = put_container(app, 1001, headers={"X-Backend-Storage-Policy-Index": "0"})
    assert resp.status_int == 409
    assert resp.headers["X-Backend-Storage-Policy-Index"] == "1"
    same = {"X-Backend-Storage-Policy-Index": "1"}
    assert put_container(app, 1002, headers=same).status_int == 202
    assert put_container(app, 1003).status_int == 202
    assert put_container(app, 1004, headers={
        "X-Backend-Storage-Policy-Index": "9"}).status_int == 400
    put_object(app, "o", 1005)
    assert call(app, BASE, "HEAD").headers["X-Backend-Storage-Policy-Index"] == "1"


def test_new_container_takes_the_proxys_default_policy(tmp_path):
    app = _gold_and_silver_app(tmp_path)
    default_silver = {"X-Backend-Storage-Policy-Default": "1"}
    assert put_container(app, headers=default_silver).status_int == 201
    assert call(app, BASE, "HEAD").headers["X-Backend-Storage-Policy-Index"] == "1"
    assert call(app, BASE, "DELETE", {"X-Timestamp": ts(1001)}).status_int == 204
    # re-created after the delete: the default now, not the policy it had
    assert put_container(app, 1002).status_int == 201
    assert call(app, BASE, "HEAD").headers["X-Backend-Storage-Policy-Index"] == "0"


class _Recorder:
    """A tiny account server that records what it is told."""

    def __init__(self, status="201 Created"):
        self.requests = []
        self.status = status

    def __call__(self, environ, start_response):
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], headers))
        start_response(self.status, [("Content-Length", "0")])
        return [b""]


@pytest.fixture
def account_server():
    recorder = _Recorder()

    class Quiet(wsgiref.simple_server.WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = wsgiref.simple_server.make_server("127.0.0.1", 0, recorder, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield recorder, server.server_address[1]
    server.shutdown()
    server.server_close()


def _account_headers(port):
    return {"X-Account-Host": "127.0.0.1:%d" % port, "X-Account-Device": "sdb",
            "X-Account-Partition": "5"}


def test_container_put_and_delete_reported_to_account(app, account_server, tmp_path):
    recorder, port = account_server
    assert put_container(app, 1000, headers=_account_headers(port)).status_int == 201
    method, path, headers = recorder.requests[0]
    assert (method, path) == ("PUT", "/sdb/5/%s/%s" % (ACCOUNT, CONTAINER))
    assert headers["X-Put-Timestamp"] == ts(1000)
    assert headers["X-Delete-Timestamp"] == ts(0)
    assert headers["X-Object-Count"] == "0"
    assert headers["X-Bytes-Used"] == "0"
    assert headers["X-Backend-Storage-Policy-Index"] == "0"
    broker = ContainerBroker.for_container(CLUSTER.hasher, str(tmp_path / "sda"), 1, ACCOUNT,
                                           CONTAINER)
    assert broker.get_info()["reported_put_timestamp"] == ts(1000)
    resp = call(app, BASE, "DELETE", dict(_account_headers(port), **{"X-Timestamp": ts(1001)}))
    assert resp.status_int == 204
    assert recorder.requests[1][2]["X-Delete-Timestamp"] == ts(1001)


def test_account_404_fails_container_put(app, account_server):
    recorder, port = account_server
    recorder.status = "404 Not Found"
    assert put_container(app, headers=_account_headers(port)).status_int == 404


def test_dead_account_server_leaves_work_for_updater(app, tmp_path):
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    dead_port = sock.getsockname()[1]
    sock.close()
    assert put_container(app, headers=_account_headers(dead_port)).status_int == 201
    broker = ContainerBroker.for_container(CLUSTER.hasher, str(tmp_path / "sda"), 1, ACCOUNT,
                                           CONTAINER)
    assert broker.get_info()["reported_put_timestamp"] == "0"
    bad = dict(_account_headers(dead_port), **{"X-Account-Device": "a,b"})
    assert put_container(app, 1001, headers=bad).status_int == 400


def test_auto_create_internal_account_container(app):
    path = "/sda/1/.expiring_objects/1234"
    assert put_object(app, "obj", 1001, path=path).status_int == 201
    assert call(app, path, "HEAD").headers["X-Container-Object-Count"] == "1"


def test_corrupt_db_is_quarantined(app, tmp_path):
    put_container(app)
    broker = ContainerBroker.for_container(CLUSTER.hasher, str(tmp_path / "sda"), 1, ACCOUNT,
                                           CONTAINER)
    with open(broker.db_file, "r+b") as handle:
        handle.seek(0)
        handle.write(b"garbage" * 200)
    # A connection the server kept still reads its cached pages; the next
    # open (after a restart or an idle spell, or the auditor's) sees the damage.
    app.db_connections.clear()
    assert call(app, BASE, "HEAD").status_int == 404
    quarantined = tmp_path / "sda" / "quarantined" / "containers"
    assert [p.name for p in quarantined.iterdir()] == [broker.db_dir.rsplit("/", 1)[1]]
    # The container is gone from its place; a new PUT starts afresh.
    assert put_container(app, 1001).status_int == 201


def update_rows(app, rows, path=BASE, headers=None, body=None):
    all_headers = {"X-Backend-Record-Type": "object", "Content-Type": "application/json"}
    all_headers.update(headers or {})
    return call(app, path, "UPDATE", all_headers,
                body=json.dumps(rows).encode() if body is None else body)


def batch_row(name, timestamp, deleted=False, size=3, policy=0):
    row = {"name": name, "created_at": ts(timestamp), "deleted": int(deleted),
           "storage_policy_index": policy}
    if not deleted:
        row.update(size=size, content_type="text/plain", etag="etag-" + name)
    return row


def test_update_merges_a_batch_of_rows_newest_wins(app):
    put_container(app)
    put_object(app, "old", 3000, size=9)
    resp = update_rows(app, [batch_row("a", 2000, size=5), batch_row("b", 2000, size=7),
                             batch_row("old", 2500, deleted=True),
                             batch_row("b", 1999, deleted=True)])
    assert resp.status_int == 204
    listing = json.loads(call(app, BASE + "?format=json").body)
    assert [(o["name"], o["bytes"], o["hash"]) for o in listing] == [
        ("a", 5, "etag-a"), ("b", 7, "etag-b"), ("old", 9, "etag")]
    # a later tombstone in a batch removes the row, as a single DELETE would
    assert update_rows(app, [batch_row("a", 2001, deleted=True)]).status_int == 204
    head = call(app, BASE, "HEAD")
    assert head.headers["X-Container-Object-Count"] == "2"
    assert head.headers["X-Container-Bytes-Used"] == "16"


def test_update_of_a_missing_container_is_404_and_auto_creates_hidden_ones(app):
    assert update_rows(app, [batch_row("a", 2000)]).status_int == 404
    hidden = "/sda/1/.expiring_objects/1700000000"
    assert update_rows(app, [batch_row("1700000000-AUTH_a/c/o", 2000)],
                       path=hidden).status_int == 204
    assert json.loads(call(app, hidden + "?format=json").body)[0]["name"] == \
        "1700000000-AUTH_a/c/o"


@pytest.mark.parametrize("headers, body, status, reason", [
    ({"X-Backend-Record-Type": "shard"}, None, 400, b"X-Backend-Record-Type"),
    ({}, b"not json", 400, b"not JSON"),
    ({}, b"[]", 400, b"non-empty"),
    ({}, json.dumps([dict(batch_row("a", 2000), created_at="x")]).encode(), 400,
     b"timestamp"),
    ({}, json.dumps([batch_row("a", 2000, policy=9)]).encode(), 400, b"storage policy"),
    ({}, json.dumps([batch_row("a\x00b", 2000)]).encode(), 400, b"NUL"),
])
def test_update_refuses_what_a_single_update_would(app, headers, body, status, reason):
    put_container(app)
    resp = update_rows(app, None, headers=headers, body=body)
    assert resp.status_int == status
    assert reason in resp.body
    assert json.loads(call(app, BASE + "?format=json").body or b"[]") == []


def test_update_names_a_container_and_bounds_its_body(app):
    put_container(app)
    assert update_rows(app, [batch_row("a", 2000)], path=BASE + "/obj").status_int == 400
    resp = call(app, BASE, "UPDATE", {"X-Backend-Record-Type": "object",
                                      "Content-Length": str(5 * 1024 * 1024)})
    assert resp.status_int == 413


def update_sections(app, sections, path="/sda", headers=None, body=None):
    all_headers = {"X-Backend-Record-Type": "object-sections",
                   "Content-Type": "application/json"}
    all_headers.update(headers or {})
    return call(app, path, "UPDATE", all_headers,
                body=json.dumps(sections).encode() if body is None else body)


def sectioned(container, rows, partition="1", account=ACCOUNT):
    return {"partition": partition, "account": account, "container": container, "rows": rows}


def listing_of(app, path):
    return [(o["name"], o["bytes"]) for o in json.loads(call(app, path + "?format=json").body)]


def test_sections_merge_each_containers_rows_and_answer_one_status_each(app):
    put_container(app)
    put_container(app, path="/sda/5/AUTH_test/d")
    put_object(app, "old", 3000, size=9)
    resp = update_sections(app, [
        sectioned("c", [batch_row("a", 2000, size=5), batch_row("old", 2500, deleted=True)]),
        sectioned("nope", [batch_row("lost", 2000)]),
        sectioned("d", [batch_row("b", 2000, size=7)], partition="5"),
        sectioned("1700000000", [batch_row("1700000000-AUTH_a/c/o", 2000)],
                  account=".expiring_objects")])
    assert resp.status_int == 200
    assert json.loads(resp.body) == [204, 404, 204, 204]
    assert listing_of(app, BASE) == [("a", 5), ("old", 9)]
    assert listing_of(app, "/sda/5/AUTH_test/d") == [("b", 7)]
    assert listing_of(app, "/sda/1/.expiring_objects/1700000000") == [
        ("1700000000-AUTH_a/c/o", 3)]
    assert call(app, "/sda/1/AUTH_test/nope", "HEAD").status_int == 404


@pytest.mark.parametrize("path, body, status, reason", [
    (BASE, None, 400, b"names a device"),
    ("/sda/1", None, 400, b"names a device"),
    ("/..", None, 400, b"names a device"),
    ("/sdb", None, 507, b"not mounted"),
    ("/sda", b"[]", 400, b"list of sections"),
    ("/sda", json.dumps([sectioned("c", [batch_row("a\x00b", 2000)])]).encode(), 400,
     b"NUL"),
    ("/sda", json.dumps([sectioned("c", [batch_row("a", 2000)], partition="p")]).encode(),
     400, b"partition"),
])
def test_sections_refuse_what_they_cannot_place(app, path, body, status, reason):
    put_container(app)
    resp = update_sections(app, [sectioned("c", [batch_row("a", 2000)])], path=path,
                           body=body)
    assert resp.status_int == status
    assert reason in resp.body
    assert listing_of(app, BASE) == []


def test_sections_bound_their_body(app):
    resp = call(app, "/sda", "UPDATE", {"X-Backend-Record-Type": "object-sections",
                                        "Content-Length": str(5 * 1024 * 1024)})
    assert resp.status_int == 413
    resp = call(app, "/sda", "UPDATE", {"X-Backend-Record-Type": "object-sections"})
    assert resp.status_int == 411


def test_a_broken_container_fails_only_its_own_section(app, tmp_path):
    put_container(app)
    put_container(app, path="/sda/1/AUTH_test/d")
    broker = ContainerBroker.for_container(CLUSTER.hasher, str(tmp_path / "sda"), "1",
                                           ACCOUNT, "d")
    with open(broker.db_file, "r+b") as handle:
        handle.write(b"this is not a database" * 100)
    app.db_connections.clear()   # a kept connection would still read its cached pages
    resp = update_sections(app, [sectioned("c", [batch_row("a", 2000)]),
                                 sectioned("d", [batch_row("b", 2000)])])
    assert resp.status_int == 200
    statuses = json.loads(resp.body)
    assert statuses[0] == 204 and statuses[1] >= 400
    assert listing_of(app, BASE) == [("a", 3)]
