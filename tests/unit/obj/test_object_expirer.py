"""The object expirer's pass against fake account/container/object nodes."""
import json
import urllib.parse

import pytest

from objstore.common.backend_client import BackendResponse, ResponseHeaders
from objstore.common.cluster_config import ClusterConfig
from objstore.common.expiring_queue import queue_row
from objstore.common.storage_policy import PolicyCollection, StoragePolicy
from objstore.obj.expirer import ObjectExpirer
from objstore.obj.expirer_deletes import row_outcome

NOW = 1700000000
PAST_BUCKET, FUTURE_BUCKET = "1699920000", "1700006400"
POLICIES = PolicyCollection([StoragePolicy(index=0, name="gold", default=True),
                             StoragePolicy(index=1, name="silver")])
CLUSTER = ClusterConfig.build("test-prefix", "test-suffix", policies=POLICIES)


class FakeNodes:
    """Every node of the cluster, answering from ``routes`` in place of HTTP.

    ``routes`` maps (method, "/<device>/<part><path>") to (status, a listing
    or headers); every request is recorded with its query and headers.  An
    ``EXPIRE`` answers each item as the route of the same object's DELETE;
    with ``expire_verb`` False the nodes predate it and answer 405.
    """

    port = 6000

    def __init__(self, expire_verb=True):
        self.expire_verb = expire_verb
        self.requests = []
        self.routes = {}
        self.default_status = {"DELETE": 204, "HEAD": 204, "GET": 404, "REPLICATE": 204}
        self.bodies = []
        self.deletes = []   # (object path, X-If-Delete-At, X-Timestamp, policy) however sent

    def request(self, node, part, method, path, headers, query_string="", body=b""):
        full = "/%s/%s%s" % (node["device"], part, path)
        query = dict(urllib.parse.parse_qsl(query_string, keep_blank_values=True))
        self.requests.append((method, full, query, dict(headers)))
        self.bodies.append(body)
        if method == "EXPIRE":
            return self._expire(node, part, path, headers, body)
        if method == "DELETE" and full.startswith("/o"):
            self.deletes.append((full, headers["X-If-Delete-At"], headers["X-Timestamp"],
                                 headers["X-Backend-Storage-Policy-Index"]))
        status, extra = self.routes.get((method, full), (self.default_status[method], None))
        if callable(extra):
            extra = extra(query)
        body = json.dumps(extra).encode() if isinstance(extra, list) else b""
        answer = ResponseHeaders(list(extra.items()) if isinstance(extra, dict) else [])
        return BackendResponse(status, "", answer, body)

    def _expire(self, node, part, path, headers, body):
        assert part is None and path == "" and headers["Content-Type"] == "application/json"
        if not self.expire_verb:
            return BackendResponse(405, "Method Not Allowed", ResponseHeaders([]), b"")
        statuses = []
        for item in json.loads(body)["items"]:
            full = "/%s/%s/%s/%s/%s" % (node["device"], item["partition"], item["account"],
                                        item["container"], item["object"])
            self.deletes.append((full, item["x-if-delete-at"], item["x-timestamp"],
                                 headers["X-Backend-Storage-Policy-Index"]))
            statuses.append(self.routes.get(("DELETE", full),
                                            (self.default_status["DELETE"], None))[0])
        return BackendResponse(200, "OK", ResponseHeaders([]),
                               json.dumps({"statuses": statuses}).encode())


class FakeRing:
    """Three replicas on devices <prefix>1..3 of the one fake server."""

    def __init__(self, port, prefix, part):
        self.port, self.prefix, self.part = port, prefix, part

    def get_nodes(self, account, container=None, obj=None):
        return self.part, [{"ip": "127.0.0.1", "port": self.port, "device": "%s%d" % (
            self.prefix, i)} for i in (1, 2, 3)]


@pytest.fixture(params=["batched", "single DELETEs"])
def nodes(request):
    """Nodes that take EXPIRE, and nodes that predate it (the expirer falls back)."""
    return FakeNodes(expire_verb=request.param == "batched")


def _expirer(nodes, **conf):
    conf.setdefault("concurrency", "4")
    conf.setdefault("node_timeout", "2")
    expirer = ObjectExpirer(CLUSTER, conf,
                            account_ring=FakeRing(nodes.port, "a", 1),
                            container_ring=FakeRing(nodes.port, "c", 2),
                            object_ring_for=lambda index: FakeRing(nodes.port, "o%d-" % index,
                                                                   3),
                            clock=lambda: NOW)
    expirer._request = nodes.request
    return expirer


def _queue(nodes, rows, bucket=PAST_BUCKET):
    nodes.routes[("GET", "/a1/1/.expiring_objects")] = (
        200, [{"name": PAST_BUCKET}, {"name": FUTURE_BUCKET}])
    nodes.routes[("GET", "/c1/2/.expiring_objects/%s" % bucket)] = (
        200, lambda query: [{"name": name} for name in rows if name > query.get("marker", "")
                            ][:int(query["limit"])])


def _sent(nodes, method, prefix):
    return [r for r in nodes.requests if r[0] == method and r[1].startswith(prefix)]


BUCKET_HASH = CLUSTER.hasher.hash_path(".expiring_objects", PAST_BUCKET)


def _merges(nodes, account, container):
    """(path, rows) of every REPLICATE merge_items the expirer sent to a container's replicas."""
    name_hash = CLUSTER.hasher.hash_path(account, container)
    found = []
    for (method, path, _q, headers), body in zip(nodes.requests, nodes.bodies):
        if method == "REPLICATE" and path.endswith("/" + name_hash):
            assert headers["X-Backend-Replicate-Op"] == "merge_items"
            items = json.loads(body)["items"]
            assert all(i["deleted"] == 1 for i in items)
            found.append((path, items))
    return found


def _row_removals(nodes):
    """(path, names) of every queue-row removal sent to a bucket replica."""
    found = []
    for path, items in _merges(nodes, ".expiring_objects", PAST_BUCKET):
        assert all(i["storage_policy_index"] == 0 for i in items)
        found.append((path, [i["name"] for i in items]))
    return found


def test_pass_deletes_due_objects_and_their_rows(nodes):
    due = queue_row(NOW - 5, "AUTH_a", "c", "o")
    later = queue_row(NOW + 5, "AUTH_a", "c", "later")
    _queue(nodes, [due, later])
    stats = _expirer(nodes).run_once()
    assert (stats.buckets, stats.due, stats.expired, stats.failures) == (1, 1, 1, 0)
    assert sorted(nodes.deletes) == [("/o0-%d/3/AUTH_a/c/o" % i, str(NOW - 5),
                                      "%d.00000" % (NOW - 5), "0") for i in (1, 2, 3)]
    for _m, _p, _q, headers in _sent(nodes, "DELETE", "/o0-"):
        assert headers["X-Backend-Clean-Expiring-Object-Queue"] == "no"
        assert not [h for h in headers if h.startswith("X-Container-")]
    # the expirer tells every replica of the listing itself, timestamped at the expiry
    tombstones = _merges(nodes, "AUTH_a", "c")
    assert sorted(path for path, _items in tombstones) == [
        "/c%d/2/%s" % (i, CLUSTER.hasher.hash_path("AUTH_a", "c")) for i in (1, 2, 3)]
    for _path, items in tombstones:
        assert [(i["name"], i["created_at"], i["storage_policy_index"]) for i in items] == [
            ("o", "%d.00000" % (NOW - 5), 0)]
    # the row leaves every replica of its bucket, in one batched request each
    assert _sent(nodes, "DELETE", "/c") == []
    assert sorted(_row_removals(nodes)) == [
        ("/c%d/2/%s" % (i, BUCKET_HASH), [due]) for i in (1, 2, 3)]
    # a row not yet due is left, so its bucket stays
    assert stats.buckets_deleted == 0
    # the future bucket is never listed, the later row never touched
    assert not [r for r in nodes.requests if FUTURE_BUCKET in r[1]]
    assert not [r for r in nodes.requests if r[1].endswith("/later")]


def test_changed_expiry_keeps_the_object_and_drops_the_row(nodes):
    row = queue_row(NOW - 5, "AUTH_a", "c", "o")
    _queue(nodes, [row])
    for i in (1, 2, 3):
        nodes.routes[("DELETE", "/o0-%d/3/AUTH_a/c/o" % i)] = (412, None)
    stats = _expirer(nodes).run_once()
    assert (stats.expired, stats.skipped, stats.failures) == (0, 1, 0)
    assert len(_row_removals(nodes)) == 3       # the row leaves the queue
    assert _merges(nodes, "AUTH_a", "c") == []    # the object stays listed
    assert len(_sent(nodes, "DELETE", "/c")) == 3   # then the drained bucket


def test_failed_replicas_keep_the_row_for_the_next_pass(nodes):
    row = queue_row(NOW - 5, "AUTH_a", "c", "o")
    _queue(nodes, [row])
    for i in (1, 2):
        nodes.routes[("DELETE", "/o0-%d/3/AUTH_a/c/o" % i)] = (503, None)
    expirer = _expirer(nodes)
    stats = expirer.run_once()
    assert (stats.expired, stats.failures) == (0, 1)
    assert _sent(nodes, "DELETE", "/c") == [] and _row_removals(nodes) == []
    # the nodes recover: the next pass (or a restarted expirer) finishes the row
    nodes.routes.clear()
    _queue(nodes, [row])
    stats = _expirer(nodes).run_once()
    assert (stats.expired, stats.failures) == (1, 0)


def test_object_policy_comes_from_its_container(nodes):
    _queue(nodes, [queue_row(NOW - 5, "AUTH_a", "silver", "o"),
                   queue_row(NOW - 4, "AUTH_a", "silver", "p")])
    nodes.routes[("HEAD", "/c1/2/AUTH_a/silver")] = (
        204, {"X-Backend-Storage-Policy-Index": "1"})
    stats = _expirer(nodes).run_once()
    assert stats.expired == 2
    assert len(nodes.deletes) == 6
    assert all(path.startswith("/o1-") and policy == "1"
               for path, _at, _ts, policy in nodes.deletes)
    rows = [i for _path, items in _merges(nodes, "AUTH_a", "silver") for i in items]
    assert len(rows) == 6 and {i["storage_policy_index"] for i in rows} == {1}
    assert len(_sent(nodes, "HEAD", "/c")) == 1  # looked up once per pass


def test_many_rows_are_paged_and_shared_between_processes(nodes):
    rows = [queue_row(NOW - 100 + i, "AUTH_a", "c", "o%03d" % i) for i in range(25)]
    _queue(nodes, rows)
    first = _expirer(nodes, listing_limit="10", processes="2", process="0").run_once()
    second = _expirer(nodes, listing_limit="10", processes="2", process="1").run_once()
    assert first.due + second.due == 25 and first.due and second.due
    assert first.other_process == second.due
    assert first.expired + second.expired == 25
    markers = [r[2]["marker"] for r in nodes.requests if r[0] == "GET" and "/c1/" in r[1]]
    assert markers[:3] == ["", rows[9], rows[19]]


def test_missing_queue_account_is_an_empty_pass(nodes):
    stats = _expirer(nodes).run_once()
    assert (stats.buckets, stats.due) == (0, 0)


def test_bad_process_numbers_are_refused():
    from objstore.common.config import ConfigError

    with pytest.raises(ConfigError):
        ObjectExpirer(CLUSTER, {"processes": "2", "process": "2"})


def test_drained_bucket_is_deleted_and_leaves_the_queue_account(nodes):
    rows = [queue_row(NOW - 5, "AUTH_a", "c", "o%d" % i) for i in range(3)]
    _queue(nodes, rows)
    stats = _expirer(nodes).run_once()
    assert (stats.expired, stats.buckets_deleted) == (3, 1)
    bucket_deletes = [r for r in _sent(nodes, "DELETE", "/c")
                      if r[1].endswith("/.expiring_objects/%s" % PAST_BUCKET)]
    assert sorted(r[1] for r in bucket_deletes) == [
        "/c%d/2/.expiring_objects/%s" % (i, PAST_BUCKET) for i in (1, 2, 3)]
    # each container replica tells one account replica, so the listing drops the bucket
    assert sorted(h["X-Account-Device"] for *_x, h in bucket_deletes) == ["a1", "a2", "a3"]
    assert {h["X-Account-Partition"] for *_x, h in bucket_deletes} == {"1"}
    # the rows went first: the container server refuses to delete a bucket holding rows
    last_row_delete = max(i for i, r in enumerate(nodes.requests) if r[0] == "REPLICATE")
    first_bucket_delete = min(i for i, r in enumerate(nodes.requests)
                              if r[0] == "DELETE" and r[1].endswith(PAST_BUCKET))
    assert last_row_delete < first_bucket_delete


@pytest.mark.parametrize("case", ["failed row", "other process", "refused"])
def test_bucket_with_rows_left_is_kept(nodes, case):
    rows = [queue_row(NOW - 5, "AUTH_a", "c", "o%d" % i) for i in range(8)]
    _queue(nodes, rows)
    conf = {}
    if case == "failed row":
        for i in (1, 2):
            nodes.routes[("DELETE", "/o0-%d/3/AUTH_a/c/o3" % i)] = (503, None)
    elif case == "other process":
        conf = {"processes": "2", "process": "0"}
    else:
        for i in (1, 2, 3):   # a row was queued meanwhile: the container servers say 409
            nodes.routes[("DELETE", "/c%d/2/.expiring_objects/%s" % (i, PAST_BUCKET))] = (
                409, None)
    stats = _expirer(nodes, **conf).run_once()
    assert stats.buckets_deleted == 0
    tried = [r for r in _sent(nodes, "DELETE", "/c") if r[1].endswith(PAST_BUCKET)]
    assert len(tried) == (3 if case == "refused" else 0)


def test_settled_rows_leave_the_queue_in_batches(nodes):
    rows = [queue_row(NOW - 100 + i, "AUTH_a", "c", "o%03d" % i) for i in range(25)]
    _queue(nodes, rows)
    stats = _expirer(nodes, row_batch="10").run_once()
    assert (stats.expired, stats.failures, stats.buckets_deleted) == (25, 0, 1)
    removals = _row_removals(nodes)
    for i in (1, 2, 3):
        batches = [names for path, names in removals if path.startswith("/c%d/" % i)]
        assert sorted(name for names in batches for name in names) == rows  # each row once
        assert 3 <= len(batches) <= 4 and max(len(names) for names in batches) <= 25


def test_failed_row_removal_keeps_rows_and_bucket_for_the_next_pass(nodes):
    rows = [queue_row(NOW - 5, "AUTH_a", "c", "o%d" % i) for i in range(4)]
    _queue(nodes, rows)
    for i in (1, 2):
        nodes.routes[("REPLICATE", "/c%d/2/%s" % (i, BUCKET_HASH))] = (503, None)
    stats = _expirer(nodes).run_once()
    assert (stats.expired, stats.failures, stats.buckets_deleted) == (4, 4, 0)
    assert not [r for r in _sent(nodes, "DELETE", "/c") if r[1].endswith(PAST_BUCKET)]


def test_listing_that_cannot_be_told_keeps_the_row_for_the_next_pass(nodes):
    rows = [queue_row(NOW - 5, "AUTH_a", "c", "o%d" % i) for i in range(3)]
    _queue(nodes, rows)
    listing_hash = CLUSTER.hasher.hash_path("AUTH_a", "c")
    for i in (1, 2):
        nodes.routes[("REPLICATE", "/c%d/2/%s" % (i, listing_hash))] = (503, None)
    stats = _expirer(nodes).run_once()
    assert (stats.expired, stats.failures, stats.buckets_deleted) == (3, 3, 0)
    assert _row_removals(nodes) == []
    # the containers recover: the objects are tombstones as new as the expiry now and
    # answer 409; that settles them and the listing is told, then the rows go
    nodes.routes.clear()
    nodes.requests.clear()
    nodes.bodies.clear()
    _queue(nodes, rows)
    for i in (1, 2, 3):
        nodes.routes.update({("DELETE", "/o0-%d/3/AUTH_a/c/o%d" % (i, n)): (409, None)
                             for n in range(3)})
    stats = _expirer(nodes).run_once()
    assert (stats.expired, stats.failures, stats.buckets_deleted) == (3, 0, 1)
    assert len(_merges(nodes, "AUTH_a", "c")) == 3
    assert sorted(n for _p, names in _row_removals(nodes) for n in names) == sorted(rows * 3)


def test_a_batch_is_one_expire_request_per_device():
    nodes = FakeNodes()
    rows = [queue_row(NOW - 100 + i, "AUTH_a", "c", "o%03d" % i) for i in range(25)]
    _queue(nodes, rows)
    stats = _expirer(nodes, row_batch="10").run_once()
    assert (stats.expired, stats.failures, stats.buckets_deleted) == (25, 0, 1)
    expires = _sent(nodes, "EXPIRE", "/o0-")
    # 3 batches (10, 10, 5 rows), each one request to each of the 3 devices
    assert len(expires) == 9 and not _sent(nodes, "DELETE", "/o")
    assert sorted(r[1] for r in expires) == sorted(["/o0-%d/None" % i for i in (1, 2, 3)] * 3)
    assert sorted(len(json.loads(body)["items"]) for (m, *_x), body
                  in zip(nodes.requests, nodes.bodies) if m == "EXPIRE") == [5] * 3 + [10] * 6
    assert sorted(d[0] for d in nodes.deletes) == sorted(
        "/o0-%d/3/AUTH_a/c/o%03d" % (i, n) for i in (1, 2, 3) for n in range(25))


def test_a_node_without_expire_gets_single_deletes_for_the_rest_of_the_pass():
    nodes = FakeNodes(expire_verb=False)
    rows = [queue_row(NOW - 100 + i, "AUTH_a", "c", "o%03d" % i) for i in range(25)]
    _queue(nodes, rows)
    stats = _expirer(nodes, row_batch="10").run_once()
    assert (stats.expired, stats.failures, stats.buckets_deleted) == (25, 0, 1)
    assert len(_sent(nodes, "EXPIRE", "/o")) == 1     # asked once, then remembered
    assert len(_sent(nodes, "DELETE", "/o0-")) == 75
    # the next pass asks again: the node may have been upgraded meanwhile
    nodes.expire_verb = True
    _queue(nodes, rows)
    _expirer(nodes, row_batch="10").run_once()
    assert len(_sent(nodes, "EXPIRE", "/o")) == 1 + 9


@pytest.mark.parametrize("answer", [(507, b""), (200, b"not json"), (200, b'{"statuses": []}'),
                                    (None, None)])
def test_a_failed_expire_request_keeps_its_rows(answer):
    nodes = FakeNodes()
    rows = [queue_row(NOW - 5, "AUTH_a", "c", "o%d" % i) for i in range(4)]
    _queue(nodes, rows)
    real = nodes.request

    def request(node, part, method, path, headers, query_string="", body=b""):
        if method == "EXPIRE" and node["device"] in ("o0-1", "o0-2"):
            real(node, part, method, path, headers, query_string, body)  # record it
            if answer[0] is None:
                return None          # unreachable
            return BackendResponse(answer[0], "", ResponseHeaders([]), answer[1])
        return real(node, part, method, path, headers, query_string, body)

    expirer = _expirer(nodes)
    expirer._request = request
    stats = expirer.run_once()
    assert (stats.expired, stats.failures, stats.buckets_deleted) == (0, 4, 0)
    assert _row_removals(nodes) == [] and _merges(nodes, "AUTH_a", "c") == []
    assert not _sent(nodes, "DELETE", "/o")   # a failure is not a reason to fall back


@pytest.mark.parametrize("statuses, outcome", [
    ([204, 204, 204], "expired"),
    ([404, 404, None], "expired"),
    ([412, 412, 412], "skipped"),
    ([412, 412, None], "skipped"),
    ([409, 409, 409], "expired"),    # tombstones of an earlier pass: tell the listing again
    ([204, 412, 412], "expired"),
    ([204, None, 503], None),
    ([507, 500, 204], None),
    ([None, None, None], None),
])
def test_row_outcome(statuses, outcome):
    assert row_outcome(statuses, 3) == outcome
