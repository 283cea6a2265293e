"""The object server's EXPIRE verb: many expiring deletes of one device in one request."""
import json
import os
import time

import pytest
from webob import Request

from objstore.common.cluster_config import ClusterConfig
from objstore.common.storage_policy import PolicyCollection, StoragePolicy
from objstore.common.timestamp import Timestamp
from objstore.obj import expire_protocol
from objstore.obj.diskfile import DiskFileNoSpace
from objstore.obj.diskfile.fs import FsDiskFile
from objstore.obj.server import ObjectServer

POLICIES = PolicyCollection([StoragePolicy(index=0, name="gold", default=True),
                             StoragePolicy(index=1, name="silver")])
CLUSTER = ClusterConfig.build("test-prefix", "test-suffix", policies=POLICIES)
PAST = int(time.time()) - 100       # an expiry that has passed
FUTURE = int(time.time()) + 30 * 86400    # one that has not (the expirer never sends it, but
                                    # a stale replica may still hold it as live)


@pytest.fixture
def app(tmp_path):
    (tmp_path / "sda").mkdir()
    return ObjectServer(CLUSTER, {"devices": str(tmp_path), "client_timeout": "0.5"})


def _store(app, name, when, delete_at=None, policy=0, tombstone=False):
    """Write an object (or a tombstone) straight to disk, whatever its expiry."""
    df = app.managers[policy].get_diskfile("sda", "3", "AUTH_a", "c", name)
    if tombstone:
        df.delete(Timestamp(when))
        return
    metadata = {"X-Timestamp": Timestamp(when).internal, "Content-Type": "text/plain",
                "Content-Length": "1", "ETag": "9dd4e461268c8034f5c8564e155c67a6"}
    if delete_at is not None:
        metadata["X-Delete-At"] = str(delete_at)
    with df.writer(1) as writer:
        writer.write(b"x")
        writer.put(metadata)


def _item(name, delete_at, when=None, partition="3"):
    return {"partition": partition, "account": "AUTH_a", "container": "c", "object": name,
            "x-if-delete-at": str(delete_at),
            "x-timestamp": Timestamp(delete_at if when is None else when).internal}


def _expire(app, body, path="/sda", **headers):
    if not isinstance(body, bytes):
        body = json.dumps({"items": body}).encode()
    return Request.blank(path, method="EXPIRE", body=body, headers=headers).get_response(app)


def _files(app, name, policy=0):
    df = app.managers[policy].get_diskfile("sda", "3", "AUTH_a", "c", name)
    return sorted(os.listdir(df.hash_dir)) if os.path.isdir(df.hash_dir) else []


def _head(app, name):
    return Request.blank("/sda/3/AUTH_a/c/" + name, method="HEAD").get_response(app)


# (name, how the replica holds it, the item's X-If-Delete-At) -> status, files after
SCENARIOS = {
    "expired": (dict(when=1, delete_at=PAST), PAST, 404),
    "live": (dict(when=1, delete_at=FUTURE), FUTURE, 204),
    "missing": (None, PAST, 404),
    "expiry changed": (dict(when=1, delete_at=PAST + 50), PAST, 412),
    "no expiry": (dict(when=1), PAST, 412),
    "newer write": (dict(when=PAST + 1, delete_at=PAST), PAST, 409),
    "tombstone at expiry": (dict(when=PAST, tombstone=True), PAST, 409),
    "deleted before its time": (dict(when=PAST - 10, tombstone=True), PAST, 412),
}


def test_each_item_answers_as_a_single_delete_would(app, tmp_path):
    os.makedirs(tmp_path / "other_root" / "sda")
    single = ObjectServer(CLUSTER, {"devices": str(tmp_path / "other_root")})
    for name, (state, _delete_at, _status) in SCENARIOS.items():
        for server in (app, single):
            if state is not None:
                _store(server, name, **state)
    resp = _expire(app, [_item(name, at) for name, (_s, at, _st) in SCENARIOS.items()])
    assert resp.status_int == 200 and resp.content_type == "application/json"
    statuses = json.loads(resp.body)["statuses"]
    assert dict(zip(SCENARIOS, statuses)) == {name: status for name, (_s, _a, status)
                                              in SCENARIOS.items()}
    for name, (_state, delete_at, status) in SCENARIOS.items():
        resp = Request.blank("/sda/3/AUTH_a/c/" + name, method="DELETE", headers={
            "X-If-Delete-At": str(delete_at), "X-Timestamp": Timestamp(delete_at).internal,
            "X-Backend-Clean-Expiring-Object-Queue": "no"}).get_response(single)
        assert resp.status_int == status, name
        assert _files(app, name) == _files(single, name), name


def test_deleted_items_are_tombstones_at_their_expiry_and_others_untouched(app):
    for name, (state, _at, _status) in SCENARIOS.items():
        if state is not None:
            _store(app, name, **state)
    before = {name: _files(app, name) for name in SCENARIOS}
    _expire(app, [_item(name, at) for name, (_s, at, _st) in SCENARIOS.items()])
    tombstone = Timestamp(PAST).internal + ".ts"
    assert _files(app, "expired") == [tombstone]        # the .data is gone
    assert _files(app, "live") == [Timestamp(FUTURE).internal + ".ts"]
    assert _files(app, "missing") == []                 # nothing written for nothing
    for name in ("expiry changed", "no expiry", "newer write", "tombstone at expiry",
                 "deleted before its time"):
        assert _files(app, name) == before[name], name
    assert _head(app, "no expiry").status_int == 200
    assert _head(app, "live").status_int == 404


def test_items_of_one_object_run_in_timestamp_order(app):
    _store(app, "o", when=1, delete_at=PAST)
    # a stale row (an expiry the object no longer has) next to the current one
    resp = _expire(app, [_item("o", PAST), _item("o", PAST - 50)])
    assert json.loads(resp.body)["statuses"] == [404, 412]
    assert _files(app, "o") == [Timestamp(PAST).internal + ".ts"]


def test_policy_header_picks_the_policy_s_objects(app):
    _store(app, "o", when=1, delete_at=PAST, policy=1)
    _store(app, "o", when=1, delete_at=PAST, policy=0)
    resp = _expire(app, [_item("o", PAST)], **{"X-Backend-Storage-Policy-Index": "1"})
    assert json.loads(resp.body)["statuses"] == [404]
    assert _files(app, "o", policy=1) == [Timestamp(PAST).internal + ".ts"]
    assert _files(app, "o", policy=0)[0].endswith(".data")


def test_partitions_share_one_hashes_invalidation_each(app):
    names = ["o%d" % i for i in range(6)]
    for name in names:
        _store(app, name, when=1, delete_at=PAST)
    manager = app.managers[0]
    manager.suffix_hashes("sda", "3")   # the cache now holds the .data files
    resp = _expire(app, [_item(name, PAST) for name in names])
    assert json.loads(resp.body)["statuses"] == [404] * 6
    # the next digest sees the tombstones: every suffix was invalidated
    fresh = manager.suffix_hashes("sda", "3")
    manager_files = {s: manager.list_hashes("sda", "3", s) for s in fresh}
    assert all(files == [Timestamp(PAST).internal + ".ts"]
               for hashes in manager_files.values() for files in hashes.values())
    assert fresh == manager.suffix_hashes("sda", "3", recalculate=list(fresh))


def test_an_item_that_fails_does_not_fail_the_others(app, monkeypatch):
    for name in ("full", "broken", "fine"):
        _store(app, name, when=1, delete_at=PAST)
    real_delete = FsDiskFile.delete

    def delete(df, timestamp):
        if df.name.endswith("/full"):
            raise DiskFileNoSpace("no room")
        if df.name.endswith("/broken"):
            raise RuntimeError("a bug")
        return real_delete(df, timestamp)

    monkeypatch.setattr(FsDiskFile, "delete", delete)
    resp = _expire(app, [_item(n, PAST) for n in ("full", "broken", "fine")])
    assert resp.status_int == 200
    assert json.loads(resp.body)["statuses"] == [507, 500, 404]


MALFORMED = {
    "not json": b"{items",
    "not utf-8": b'{"items": ["\xff"]}',
    "not an object": b"[]",
    "items not a list": b'{"items": {}}',
    "another key": b'{"items": [], "more": 1}',
    "deep nesting": b'{"items": ' + b"[" * 200000 + b"]" * 200000 + b"}",
    "item not an object": json.dumps({"items": [["3", "AUTH_a"]]}).encode(),
    "missing field": json.dumps({"items": [{"partition": "3"}]}).encode(),
    "extra field": json.dumps({"items": [dict(_item("o", PAST), more="x")]}).encode(),
    "partition not digits": json.dumps({"items": [_item("o", PAST, partition="-1")]}).encode(),
    "partition a number": json.dumps({"items": [dict(_item("o", PAST), partition=3)]}).encode(),
    "expiry not digits": json.dumps({"items": [dict(_item("o", PAST), **{
        "x-if-delete-at": "soon"})]}).encode(),
    "bad timestamp": json.dumps({"items": [dict(_item("o", PAST), **{
        "x-timestamp": "yesterday"})]}).encode(),
    "timestamp a number": json.dumps({"items": [dict(_item("o", PAST), **{
        "x-timestamp": PAST})]}).encode(),
    "empty name": json.dumps({"items": [dict(_item("o", PAST), object="")]}).encode(),
    "name a list": json.dumps({"items": [dict(_item("o", PAST), object=["o"])]}).encode(),
    "lone surrogate": json.dumps({"items": [_item("o", PAST)]}).encode().replace(
        b'"object": "o"', b'"object": "\\ud800"'),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_bodies_are_refused_whole_with_400(app, case):
    _store(app, "first", when=1, delete_at=PAST)
    body = MALFORMED[case]
    if case not in ("not json", "not utf-8", "not an object", "items not a list",
                    "another key", "deep nesting"):
        # a good item first: nothing of the batch is done when any part is bad
        doc = json.loads(body)
        doc["items"].insert(0, _item("first", PAST))
        body = json.dumps(doc).encode()
    resp = _expire(app, body)
    assert resp.status_int == 400, resp.body
    assert resp.body and b"Traceback" not in resp.body
    assert _head(app, "first").status_int == 404          # still there, merely expired
    assert _files(app, "first")[0].endswith(".data")


def test_batch_limits(app):
    too_many = [_item("o%d" % i, PAST) for i in range(expire_protocol.MAX_ITEMS + 1)]
    assert _expire(app, too_many).status_int == 413
    assert _expire(app, too_many[:-1]).status_int == 200
    padded = b'{"items": []' + b" " * expire_protocol.MAX_BODY_BYTES + b"}"
    assert _expire(app, padded).status_int == 413
    chunked = Request.blank("/sda", method="EXPIRE", body=b'{"items": []}')
    del chunked.headers["Content-Length"]
    chunked.headers["Transfer-Encoding"] = "chunked"
    assert chunked.get_response(app).status_int == 411


@pytest.mark.parametrize("path, headers, status", [
    ("/sda/3", {}, 400),
    ("/", {}, 400),
    ("/..", {}, 400),
    ("/sdz", {}, 507),
    ("/sda", {"X-Backend-Storage-Policy-Index": "7"}, 503),
    ("/sda", {"X-Backend-Storage-Policy-Index": "x"}, 400),
])
def test_bad_targets_are_refused(app, path, headers, status):
    assert _expire(app, [_item("o", PAST)], path=path, **headers).status_int == status


def test_statuses_round_trip_and_bad_answers_are_refused():
    body = expire_protocol.encode_statuses([204, 404])
    assert expire_protocol.decode_statuses(body, 2) == [204, 404]
    for bad in (b'{"statuses": [204]}', b'{"statuses": [204, true]}', b'{"statuses": 1}',
                b'[204, 404]', b'{"statuses": [204, 1000]}'):
        with pytest.raises(ValueError):
            expire_protocol.decode_statuses(bad, 2)


def test_reserved_and_unicode_names_are_expired_like_any_other(app):
    names = ["\x00versions\x00o\x00001", "ünïcode ☃", "a/b//c?d"]
    for name in names:
        _store(app, name, when=1, delete_at=PAST)
    resp = _expire(app, [_item(name, PAST) for name in names])
    assert json.loads(resp.body)["statuses"] == [404] * 3
    assert all(_files(app, name) == [Timestamp(PAST).internal + ".ts"] for name in names)
