"""The slo middleware (in front of dlo) against an in-memory store."""
import base64
import hashlib
import json

import pytest
from webob import Request

from objstore.common.cluster_config import ClusterConfig
from objstore.middleware import copy, dlo, slo
from objstore.middleware.catch_errors import ResponseBodyAborted
from objstore.middleware.segments import STANDARD_CONFLICT_PAGE

A = "/v1/AUTH_a"


@pytest.fixture
def store(fake_store):
    store = fake_store()
    store.put(A + "/segs/one", b"a" * 10)
    store.put(A + "/segs/two", b"b" * 10)
    store.put(A + "/segs/three", b"c" * 5)
    store.containers.add(A + "/c")
    return store


@pytest.fixture
def cluster():
    return ClusterConfig.build("test-prefix", "test-suffix")


@pytest.fixture
def app(store, cluster):
    return slo.filter_factory(cluster, {}, max_manifest_segments="5")(
        dlo.filter_factory(cluster, {})(store))


def md5(data):
    return hashlib.md5(data).hexdigest()


def put_manifest(app, segments, path=A + "/c/big", headers=None, query="multipart-manifest=put"):
    body = json.dumps(segments).encode()
    return Request.blank(path + "?" + query, method="PUT", body=body,
                         headers=headers or {}).get_response(app)


def three(store):
    return [{"path": "/segs/one", "etag": md5(b"a" * 10), "size_bytes": 10},
            {"path": "segs/two", "etag": None, "size_bytes": None},
            {"path": "/segs/three"}]


def get(app, path=A + "/c/big", method="GET", **headers):
    return Request.blank(path, method=method, headers=headers).get_response(app)


def test_put_then_get_concatenates(app, store):
    resp = put_manifest(app, three(store), headers={"X-Object-Meta-Color": "red"})
    assert resp.status_int == 201, resp.body
    expected_etag = md5((md5(b"a" * 10) + md5(b"b" * 10) + md5(b"c" * 5)).encode())
    assert resp.headers["Etag"] == '"%s"' % expected_etag
    stored_headers, stored_body = store.objects[A + "/c/big"]
    assert stored_headers["X-Static-Large-Object"] == "True"
    assert stored_headers["X-Object-Sysmeta-Slo-Etag"] == expected_etag
    assert stored_headers["X-Object-Sysmeta-Slo-Size"] == "25"
    entries = json.loads(stored_body)
    assert [e["name"] for e in entries] == ["/segs/one", "/segs/two", "/segs/three"]
    assert [e["bytes"] for e in entries] == [10, 10, 5]
    resp = get(app)
    assert resp.status_int == 200
    assert resp.body == b"a" * 10 + b"b" * 10 + b"c" * 5
    assert resp.headers["Content-Length"] == "25"
    assert resp.headers["Etag"] == '"%s"' % expected_etag
    assert resp.headers["X-Static-Large-Object"] == "True"
    assert resp.headers["X-Object-Meta-Color"] == "red"
    assert "X-Object-Sysmeta-Slo-Etag" not in resp.headers
    assert stored_headers["Content-Type"] == "application/octet-stream;swift_bytes=25"
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["X-Manifest-Etag"] == md5(stored_body)
    head = get(app, method="HEAD")
    assert head.status_int == 200
    assert head.headers["Content-Length"] == "25"
    assert head.headers["Etag"] == '"%s"' % expected_etag
    assert head.body == b""
    assert head.headers["Content-Type"] == "application/octet-stream"


def test_content_type_kept_and_guessed(app, store):
    assert put_manifest(app, three(store), headers={"Content-Type": "video/x-mine"}
                        ).status_int == 201
    assert get(app, method="HEAD").headers["Content-Type"] == "video/x-mine"
    assert put_manifest(app, three(store), path=A + "/c/movie.mp4").status_int == 201
    assert store.objects[A + "/c/movie.mp4"][0]["Content-Type"] == "video/mp4;swift_bytes=25"


def test_copy_of_an_slo_copies_bytes_or_manifest(store, cluster):
    app = copy.filter_factory(cluster, {})(slo.filter_factory(cluster, {})(
        dlo.filter_factory(cluster, {})(store)))
    assert put_manifest(app, three(store)).status_int == 201
    resp = Request.blank(A + "/c/big", method="COPY",
                         headers={"Destination": "/c/flat"}).get_response(app)
    assert resp.status_int == 201, resp.body
    headers, body = store.objects[A + "/c/flat"]
    assert body == b"a" * 10 + b"b" * 10 + b"c" * 5
    assert "X-Static-Large-Object" not in headers
    assert not [k for k in headers if "Sysmeta-Slo" in k]
    resp = Request.blank(A + "/c/big?multipart-manifest=get", method="COPY",
                         headers={"Destination": "/c/manifest2"}).get_response(app)
    assert resp.status_int == 201, resp.body
    headers, body = store.objects[A + "/c/manifest2"]
    assert headers["X-Static-Large-Object"] == "True"
    assert body == store.objects[A + "/c/big"][1]
    assert get(app, A + "/c/manifest2").body == b"a" * 10 + b"b" * 10 + b"c" * 5


def test_ranges_across_segments(app, store):
    assert put_manifest(app, three(store)).status_int == 201
    resp = get(app, Range="bytes=8-21")
    assert resp.status_int == 206
    assert resp.body == b"aa" + b"b" * 10 + b"cc"
    assert resp.headers["Content-Range"] == "bytes 8-21/25"
    # the middle segment was fetched whole, the outer ones by range
    gets = [(c[1], c[3].get("Range")) for c in store.calls if c[0] == "GET" and "segs" in c[1]]
    assert gets[-3:] == [(A + "/segs/one", "bytes=8-9"), (A + "/segs/two", None),
                         (A + "/segs/three", "bytes=0-1")]
    suffix = get(app, Range="bytes=-3")
    assert suffix.status_int == 206 and suffix.body == b"ccc"
    multi = get(app, Range="bytes=0-1,24-24")
    assert multi.status_int == 206
    assert multi.content_type == "multipart/byteranges"
    assert b"Content-Range: bytes 0-1/25\r\n\r\naa\r\n" in multi.body
    assert b"Content-Range: bytes 24-24/25\r\n\r\nc\r\n" in multi.body
    assert int(multi.headers["Content-Length"]) == len(multi.body)
    beyond = get(app, Range="bytes=25-30")
    assert beyond.status_int == 416
    assert beyond.headers["Content-Range"] == "bytes */25"


def test_range_beyond_manifest_bytes_but_inside_the_object(app, store):
    """The stored manifest is shorter than the large object: the store answers 416."""
    store.put(A + "/segs/huge", bytes(range(256)) * 20)
    assert put_manifest(app, [{"path": "/segs/huge"}]).status_int == 201
    assert len(store.objects[A + "/c/big"][1]) < 1000
    resp = get(app, Range="bytes=4000-4001")
    assert resp.status_int == 206
    assert resp.body == bytes([4000 % 256, 4001 % 256])
    if_match = get(app, **{"If-Match": get(app, method="HEAD").headers["Etag"]})
    assert if_match.status_int == 200 and len(if_match.body) == 5120


def test_conditionals_use_the_slo_etag(app, store):
    assert put_manifest(app, three(store)).status_int == 201
    etag = get(app, method="HEAD").headers["Etag"]
    assert get(app, **{"If-None-Match": etag}).status_int == 304
    assert get(app, method="HEAD", **{"If-None-Match": etag}).status_int == 304
    ok = get(app, **{"If-Match": etag})
    assert ok.status_int == 200 and len(ok.body) == 25
    assert get(app, **{"If-Match": '"nope"'}).status_int == 412
    assert get(app, **{"If-None-Match": '"nope"'}).status_int == 200


def test_ranged_segments_and_inline_data(app, store):
    segs = [{"path": "/segs/one", "range": "2-4"},
            {"data": base64.b64encode(b"--").decode()},
            {"path": "/segs/three", "range": "-2"}]
    resp = put_manifest(app, segs)
    assert resp.status_int == 201, resp.body
    etag = md5(("%s:2-4;" % md5(b"a" * 10) + md5(b"--") + "%s:3-4;" % md5(b"c" * 5)).encode())
    assert resp.headers["Etag"] == '"%s"' % etag
    assert get(app).body == b"aaa--cc"
    assert get(app, Range="bytes=2-4").body == b"a--"
    raw = json.loads(get(app, A + "/c/big?multipart-manifest=get&format=raw").body)
    assert raw[0] == {"path": "/segs/one", "etag": md5(b"a" * 10), "size_bytes": 10,
                      "range": "2-4"}
    assert raw[1] == {"data": base64.b64encode(b"--").decode()}


def test_nested_slo(app, store):
    assert put_manifest(app, three(store), path=A + "/c/inner").status_int == 201
    outer = [{"path": "/segs/two"}, {"path": "/c/inner", "range": "5-14"}]
    resp = put_manifest(app, outer)
    assert resp.status_int == 201, resp.body
    entries = json.loads(store.objects[A + "/c/big"][1])
    assert entries[1]["sub_slo"] is True and entries[1]["bytes"] == 25
    body = get(app).body
    assert body == b"b" * 10 + b"a" * 5 + b"b" * 5
    assert get(app, Range="bytes=12-16").body == b"aaabb"


def test_ten_manifests_deep_is_the_limit(app, store, capsys):
    assert put_manifest(app, three(store), path=A + "/c/m1").status_int == 201
    for level in range(2, 12):
        resp = put_manifest(app, [{"path": "/c/m%d" % (level - 1)}], path=A + "/c/m%d" % level)
        assert resp.status_int == 201
    assert get(app, A + "/c/m10").status_int == 200
    resp = get(app, A + "/c/m11")
    assert resp.status_int == 409
    # the standard conflict page, which clients compare; the reason is logged
    assert resp.body == STANDARD_CONFLICT_PAGE.encode("ascii")
    assert resp.content_type == "text/html"
    assert "nested more than 10 deep" in capsys.readouterr().err


@pytest.mark.parametrize("segments,reason", [
    ([{"path": "/segs/nope"}], "/segs/nope, 404 Not Found"),
    ([{"path": "/segs/one", "etag": "0" * 32}], "/segs/one, Etag Mismatch"),
    ([{"path": "/segs/one", "size_bytes": 11}], "/segs/one, Size Mismatch"),
    ([{"path": "/segs/one", "range": "20-30"}], "/segs/one, Unsatisfiable Range"),
    ([{"path": "/segs/one", "range": "0-1,3-4"}], "/segs/one, Multiple Ranges"),
    ([{"path": "/c/big"}], "/c/big, Manifest must not include itself"),
])
def test_bad_segments(app, store, segments, reason):
    resp = put_manifest(app, segments)
    assert resp.status_int == 400
    assert resp.body.decode().startswith("Errors:\n")
    assert reason in resp.body.decode()
    assert A + "/c/big" not in store.objects


def test_empty_segment_only_allowed_last(app, store):
    store.put(A + "/segs/empty", b"")
    assert put_manifest(app, [{"path": "/segs/one"}, {"path": "/segs/empty"}]).status_int == 201
    resp = put_manifest(app, [{"path": "/segs/empty"}, {"path": "/segs/one"}])
    assert resp.status_int == 400
    assert b"Too small; each segment must be at least 1 byte." in resp.body


@pytest.mark.parametrize("body,status,text", [
    (b"not json", 400, b"Manifest must be valid JSON"),
    (b'{"path": "x"}', 400, b"must be a list"),
    (b"[]", 400, b"at least one segment"),
    (b'[{"path": "/c"}]', 400, b"Index 0: path does not refer to an object"),
    (b'[{"path": "/c/o", "bogus": 1}]', 400, b"Index 0: extraneous keys"),
    (b'[{"path": "/c/o", "size_bytes": "x"}]', 400, b"size_bytes"),
    (b'[{"path": "/segs/one"}]' * 1, 201, b""),
    (json.dumps([{"path": "/segs/one"}] * 6).encode(), 413, b"segments must be <= 5"),
])
def test_malformed_manifests(app, body, status, text):
    resp = Request.blank(A + "/c/big?multipart-manifest=put", method="PUT",
                         body=body).get_response(app)
    assert resp.status_int == status
    assert text in resp.body


def test_manifest_size_limit(store, cluster):
    app = slo.filter_factory(cluster, {}, max_manifest_size="100")(store)
    resp = put_manifest(app, [{"path": "/segs/one"}] * 5)
    assert resp.status_int == 413
    assert b"Manifest File > 100 bytes" in resp.body
    assert cluster.capabilities.as_info()["slo"]["max_manifest_size"] == 100


def test_client_etag_checked(app, store):
    assert put_manifest(app, three(store), headers={"Etag": "0" * 32}).status_int == 422


def test_reserved_header_without_query(app):
    resp = Request.blank(A + "/c/x", method="PUT", body=b"[]",
                         headers={"X-Static-Large-Object": "true"}).get_response(app)
    assert resp.status_int == 400
    assert b"multipart-manifest=put" in resp.body


def test_manifest_get_returns_stored_json(app, store):
    assert put_manifest(app, three(store)).status_int == 201
    resp = get(app, A + "/c/big?multipart-manifest=get")
    assert resp.status_int == 200
    assert resp.content_type == "application/json"
    assert resp.headers["X-Static-Large-Object"] == "True"
    assert [e["hash"] for e in json.loads(resp.body)] == [
        md5(b"a" * 10), md5(b"b" * 10), md5(b"c" * 5)]


def test_changed_segment_truncates_body(app, store, caplog):
    assert put_manifest(app, three(store)).status_int == 201
    store.put(A + "/segs/two", b"B" * 10)
    resp = get(app)
    assert resp.headers["Content-Length"] == "25"
    with pytest.raises(ResponseBodyAborted, match="etag"):
        b"".join(resp.app_iter)


def test_multipart_delete(app, store):
    assert put_manifest(app, three(store)).status_int == 201
    del store.objects[A + "/segs/three"]
    resp = Request.blank(A + "/c/big?multipart-manifest=delete", method="DELETE",
                         headers={"Accept": "application/json"}).get_response(app)
    assert resp.status_int == 200
    result = json.loads(resp.body)
    assert result["Number Deleted"] == 3
    assert result["Number Not Found"] == 1
    assert result["Response Status"] == "200 OK"
    assert result["Errors"] == []
    assert not [p for p in store.objects if "/segs/" in p or p.endswith("/big")]


def test_multipart_delete_nested_and_plain_text(app, store):
    assert put_manifest(app, three(store), path=A + "/c/inner").status_int == 201
    assert put_manifest(app, [{"path": "/c/inner"}]).status_int == 201
    resp = Request.blank(A + "/c/big?multipart-manifest=delete",
                         method="DELETE").get_response(app)
    text = resp.body.decode()
    assert "Number Deleted: 5" in text and "Response Status: 200 OK" in text
    assert text.rstrip().endswith("Errors:")
    assert store.objects == {}


def test_multipart_delete_keeps_manifest_when_a_segment_fails(app, store):
    assert put_manifest(app, three(store)).status_int == 201
    store.fail_delete.add(A + "/segs/two")
    resp = Request.blank(A + "/c/big?multipart-manifest=delete",
                         method="DELETE").get_response(app)
    text = resp.body.decode()
    assert "Response Status: 400 Bad Request" in text
    assert "/segs/two, 503 Service Unavailable" in text
    assert A + "/c/big" in store.objects


def test_plain_delete_leaves_segments(app, store):
    assert put_manifest(app, three(store)).status_int == 201
    assert Request.blank(A + "/c/big", method="DELETE").get_response(app).status_int == 204
    assert A + "/segs/one" in store.objects


def test_multipart_delete_of_plain_object_deletes_it(app, store):
    resp = Request.blank(A + "/segs/one?multipart-manifest=delete",
                         method="DELETE").get_response(app)
    assert resp.status_int == 204
    assert A + "/segs/one" not in store.objects


def test_plain_objects_pass_through(app, store):
    resp = get(app, A + "/segs/one", Range="bytes=1-2")
    assert resp.status_int == 206 and resp.body == b"aa"
    assert get(app, A + "/segs/one", **{"If-Match": '"x"'}).status_int == 412


def test_capabilities(app, cluster):
    info = cluster.capabilities.as_info()
    assert info["slo"]["max_manifest_segments"] == 5
    assert info["slo"]["min_segment_size"] == 1
    assert "max_segments" in info["dlo"]


def test_unauthorized_requests_answer_401(store, cluster):
    """Sub-requests carry the client's auth; a denied client gets the denial back."""
    def deny_marked(environ, start_response):
        if environ.get("test.denied"):
            start_response("401 Unauthorized", [("Content-Length", "0")])
            return [b""]
        return store(environ, start_response)
    app = slo.filter_factory(cluster, {})(deny_marked)
    assert put_manifest(app, three(store)).status_int == 201
    req = Request.blank(A + "/c/big2?multipart-manifest=put", method="PUT",
                        body=json.dumps(three(store)).encode(), environ={"test.denied": True})
    assert req.get_response(app).status_int == 401
    req = Request.blank(A + "/c/big?multipart-manifest=delete", method="DELETE",
                        environ={"test.denied": True})
    assert req.get_response(app).status_int == 401
    assert A + "/c/big" in store.objects and A + "/segs/one" in store.objects


def test_missing_first_segment_is_a_clean_409(app, store, capsys):
    assert put_manifest(app, three(store)).status_int == 201
    del store.objects[A + "/segs/one"]
    resp = get(app)
    assert (resp.status, resp.body) == ("409 Conflict", STANDARD_CONFLICT_PAGE.encode("ascii"))
    assert "/segs/one: GET answered 404" in capsys.readouterr().err
    assert get(app, Range="bytes=12-13").body == b"bb"


def test_corrupt_stored_manifest_is_a_clear_500(app, store):
    store.put(A + "/c/broken", b'[{"name": "/segs/one", "hash": "x", "bytes": "ten"}]',
              X_Static_Large_Object="True")
    resp = get(app, A + "/c/broken")
    assert resp.status_int == 500
    assert resp.body == b"Unable to load SLO manifest\n"


@pytest.mark.parametrize("entry", [{"path": "/segs/one", "range": "0-"},
                                   {"path": "/segs/one", "range": "3-"},
                                   {"path": "/segs/one"}])
def test_dlo_over_a_container_holding_slos_serves_their_content(app, store, entry):
    store.put(A + "/parts/0-plain", b"p" * 4)
    assert put_manifest(app, [entry, {"path": "/segs/three"}],
                        path=A + "/parts/1-slo").status_int == 201
    store.put(A + "/parts/2-plain", b"q" * 2)
    store.put(A + "/c/dlo", b"", X_Object_Manifest="parts/")
    slo_body = get(app, A + "/parts/1-slo").body
    assert slo_body == b"a" * (10 - int(entry.get("range", "0-")[0])) + b"c" * 5
    resp = get(app, A + "/c/dlo")
    assert resp.status_int == 200
    assert resp.body == b"p" * 4 + slo_body + b"q" * 2
    assert resp.headers["Content-Length"] == str(len(resp.body))
    ranged = get(app, A + "/c/dlo", Range="bytes=2-8")
    assert ranged.status_int == 206 and ranged.body == resp.body[2:9]


def test_dlo_whose_slo_segment_is_broken_fails_before_its_headers(app, store):
    store.containers.add(A + "/parts")
    assert put_manifest(app, [{"path": "/segs/one"}], path=A + "/parts/0-slo").status_int == 201
    store.put(A + "/c/dlo", b"", X_Object_Manifest="parts/")
    del store.objects[A + "/segs/one"]
    resp = get(app, A + "/c/dlo")
    assert resp.status_int == 409


def test_dlo_listing_itself_is_not_expanded_again(app, store):
    store.put(A + "/c/self", b"", X_Object_Manifest="c/")
    store.put(A + "/c/tail", b"xyz")
    resp = get(app, A + "/c/self")
    assert resp.status_int == 200 and resp.body == b"xyz"


# -- part numbers, heartbeat, manifest reads, listings ---------------------------------
def test_part_number_answers_one_segment(app, store):
    assert put_manifest(app, three(store)).status_int == 201
    resp = get(app, A + "/c/big?part-number=2")
    assert resp.status_int == 206 and resp.body == b"b" * 10
    assert resp.headers["Content-Range"] == "bytes 10-19/25"
    assert resp.headers["X-Parts-Count"] == "3"
    resp = get(app, A + "/c/big?part-number=3", method="HEAD")
    assert resp.status_int == 206
    assert resp.headers["Content-Length"] == "5"
    assert resp.headers["Content-Range"] == "bytes 20-24/25"
    resp = get(app, A + "/c/big?part-number=4")
    assert resp.status_int == 416
    assert resp.headers["Content-Range"] == "bytes */25"
    assert resp.headers["X-Parts-Count"] == "3"
    assert get(app, A + "/c/big?part-number=0").status_int == 400
    assert get(app, A + "/c/big?part-number=1", Range="bytes=0-1").status_int == 400
    # a plain object is not a large object: the parameter is not ours to act on
    assert get(app, A + "/segs/one?part-number=7").status_int == 200


def test_heartbeat_put_reports_at_the_end(app, store):
    req = Request.blank(A + "/c/big?multipart-manifest=put&heartbeat=on", method="PUT",
                        body=json.dumps(three(store)).encode(),
                        headers={"Accept": "application/json"})
    resp = req.get_response(app)
    assert resp.status_int == 202
    head, _sep, report = resp.body.partition(b"\r\n\r\n")
    assert head == b" "
    report = json.loads(report)
    assert report["Response Status"] == "201 Created"
    assert report["Etag"] == '"%s"' % md5((md5(b"a" * 10) + md5(b"b" * 10)
                                          + md5(b"c" * 5)).encode())
    assert A + "/c/big" in store.objects
    bad = three(store) + [{"path": "/segs/nope"}]
    req = Request.blank(A + "/c/bad?multipart-manifest=put&heartbeat=on", method="PUT",
                        body=json.dumps(bad).encode(), headers={"Accept": "text/xml"})
    resp = req.get_response(app)
    assert resp.status_int == 202
    assert b"<response_status>400 Bad Request</response_status>" in resp.body
    assert b"<name>/segs/nope</name><status>404 Not Found</status>" in resp.body
    assert A + "/c/bad" not in store.objects


def test_heartbeat_put_failures_name_segments_as_given(app, store):
    bad = three(store) + [{"path": "segs/nope"}]
    req = Request.blank(A + "/c/bad?multipart-manifest=put&heartbeat=on", method="PUT",
                        body=json.dumps(bad).encode())
    lines = req.get_response(app).body.decode().split("\n")
    assert "Response Status: 400 Bad Request" in lines
    assert "Response Body: Bad Request" in lines
    assert lines[-3:] == ["Errors:", "segs/nope, 404 Not Found", ""]
    req = Request.blank(A + "/c/big?multipart-manifest=put&heartbeat=on", method="PUT",
                        body=json.dumps(three(store)).encode(),
                        headers={"Accept": "application/json", "Etag": "bad etag"})
    _head, _sep, report = req.get_response(app).body.partition(b"\r\n\r\n")
    assert json.loads(report) == {
        "Response Status": "422 Unprocessable Entity",
        "Response Body": "Unprocessable Entity\nUnable to process the contained instructions",
        "Errors": []}
    assert A + "/c/big" not in store.objects


def test_manifest_reads_keep_their_own_etag_and_type(app, store):
    assert put_manifest(app, three(store), headers={"Content-Type": "text/x-big"}
                        ).status_int == 201
    stored = store.objects[A + "/c/big"][1]
    for method in ("GET", "HEAD"):
        resp = get(app, A + "/c/big?multipart-manifest=get", method=method)
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
        assert resp.headers["Etag"].strip('"') == md5(stored)
        raw = get(app, A + "/c/big?multipart-manifest=get&format=raw", method=method)
        assert raw.headers["Content-Type"] == "text/x-big"
        assert "X-Object-Sysmeta-Slo-Etag" not in raw.headers
    raw = get(app, A + "/c/big?multipart-manifest=get&format=raw")
    assert raw.headers["Etag"] == md5(raw.body)
    assert get(app, A + "/c/big?multipart-manifest=get&format=raw",
               method="HEAD").headers["Content-Length"] == str(len(raw.body))


def test_manifest_put_asks_for_the_slo_etag_in_listings(app, store):
    assert put_manifest(app, three(store)).status_int == 201
    headers, stored = store.objects[A + "/c/big"]
    override = headers["X-Object-Sysmeta-Container-Update-Override-Etag"]
    assert override == "%s; slo_etag=%s" % (md5(stored), headers["X-Object-Sysmeta-Slo-Etag"])


def test_unreadable_segments_are_listed_not_refused(store, cluster):
    def forbid_two(environ, start_response):
        if environ["PATH_INFO"] == A + "/segs/two":
            start_response("403 Forbidden", [("Content-Length", "0")])
            return [b""]
        return store(environ, start_response)

    guarded = slo.filter_factory(cluster, {})(forbid_two)
    resp = put_manifest(guarded, three(store), headers={"Accept": "application/json"})
    assert resp.status_int == 400
    # named as the manifest spelled it (no leading slash)
    assert json.loads(resp.body)["Errors"] == [["segs/two", "403 Forbidden"]]


def test_form_typed_manifest_put_reads_options_from_the_query_only(app, store):
    """curl --data-binary sends a form type: the JSON body must not be parsed as a form."""
    resp = put_manifest(app, three(store),
                        headers={"Content-Type": "application/x-www-form-urlencoded"},
                        query="multipart-manifest=put&heartbeat=on")
    assert resp.status_int == 202 and b"201 Created" in resp.body
    assert get(app).status_int == 200
