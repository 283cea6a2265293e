"""The object server keeps the expiring-objects queue in step with X-Delete-At."""
import time

import pytest
from webob import Request

from objstore.common.expiring_queue import queue_container, queue_row
from objstore.common.timestamp import Timestamp
from objstore.obj import server as server_mod

PATH = "/sda/3/AUTH_a/c/o"
DAY = 86400
# Three expiries: the first two share one day's bucket, the third is a day later.
# That day starts after tomorrow's midnight, so a run collected before a
# midnight and run after it still sends times in the future.
BASE = (int(time.time()) // DAY + 2) * DAY
D1, D2, D3 = BASE + 10, BASE + 20, BASE + DAY + 5


@pytest.fixture
def app(tmp_path, cluster_config):
    (tmp_path / "sda").mkdir()
    return server_mod.ObjectServer(cluster_config, {"devices": str(tmp_path), "node_timeout": "1",
                                                    "conn_timeout": "0.5"})


def _queue_headers(delete_at, port):
    return {"X-Delete-At": str(delete_at), "X-Delete-At-Container": queue_container(delete_at),
            "X-Delete-At-Host": "127.0.0.1:%d" % port, "X-Delete-At-Device": "sdq",
            "X-Delete-At-Partition": "9"}


def _send(app, method, when, body=None, **headers):
    headers["X-Timestamp"] = Timestamp(when).internal
    if method == "PUT":
        headers.setdefault("Content-Type", "text/plain")
    kwargs = {"method": method, "headers": headers}
    if body is not None:
        kwargs["body"] = body
    return Request.blank(PATH, **kwargs).get_response(app)


def _row_path(delete_at):
    return "/sdq/9/.expiring_objects/%s/%s" % (queue_container(delete_at),
                                               queue_row(delete_at, "AUTH_a", "c", "o"))


def _pendings(app):
    return sorted((u.op, u.container, u.obj, [n.port for n in u.nodes])
                  for u in app.managers[0].iter_async_updates("sda"))


def test_put_adds_the_row(app, recorder):
    resp = _send(app, "PUT", 1, b"x", **_queue_headers(D1, recorder.port))
    assert resp.status_int == 201
    [(method, path, headers, _body)] = recorder.requests
    assert (method, path) == ("PUT", _row_path(D1))
    assert headers["X-Size"] == "0" and headers["X-Content-Type"] == "text/plain"
    assert headers["X-Backend-Storage-Policy-Index"] == "0"
    assert headers["X-Timestamp"] == Timestamp(1).internal
    assert _pendings(app) == []


def test_changed_delete_at_moves_the_row(app, recorder):
    _send(app, "PUT", 1, b"x", **_queue_headers(D1, recorder.port))
    # same bucket: the proxy named its replicas, the old row goes at once
    assert _send(app, "POST", 2, **_queue_headers(D2, recorder.port)).status_int == 202
    assert [(r[0], r[1]) for r in recorder.requests[1:]] == [
        ("DELETE", _row_path(D1)), ("PUT", _row_path(D2))]
    assert recorder.requests[1][2]["X-Timestamp"] == Timestamp(2).internal
    # another bucket: its replicas are the updater's to find in the ring
    assert _send(app, "POST", 3, **_queue_headers(D3, recorder.port)).status_int == 202
    assert [(r[0], r[1]) for r in recorder.requests[3:]] == [("PUT", _row_path(D3))]
    assert _pendings(app) == [("DELETE", queue_container(D2),
                               queue_row(D2, "AUTH_a", "c", "o"), [])]


def test_unchanged_delete_at_leaves_the_queue_alone(app, recorder):
    _send(app, "PUT", 1, b"x", **_queue_headers(D1, recorder.port))
    _send(app, "POST", 2, **_queue_headers(D1, recorder.port))
    assert len(recorder.requests) == 1


def test_removed_delete_at_and_deleted_object_drop_the_row(app, recorder):
    _send(app, "PUT", 1, b"x", **_queue_headers(D1, recorder.port))
    assert _send(app, "POST", 2).status_int == 202
    assert _pendings(app) == [("DELETE", queue_container(D1),
                               queue_row(D1, "AUTH_a", "c", "o"), [])]
    # overwrite with an expiry, then delete the object
    _send(app, "PUT", 3, b"y", **_queue_headers(D3, recorder.port))
    assert _send(app, "DELETE", 4).status_int == 204
    assert ("DELETE", queue_container(D3), queue_row(D3, "AUTH_a", "c", "o"), []) \
        in _pendings(app)


def test_expirer_delete_leaves_the_row_to_the_expirer(app, recorder):
    _send(app, "PUT", 1, b"x", **_queue_headers(D1, recorder.port))
    resp = _send(app, "DELETE", 2, **{"X-If-Delete-At": str(D1),
                                      "X-Backend-Clean-Expiring-Object-Queue": "no"})
    assert resp.status_int == 204
    assert _pendings(app) == []


def test_unreachable_queue_container_becomes_a_pending(app, dead_port):
    resp = _send(app, "PUT", 1, b"x", **_queue_headers(D1, dead_port.port))
    assert resp.status_int == 201
    assert _pendings(app) == [("PUT", queue_container(D1), queue_row(D1, "AUTH_a", "c", "o"),
                               [dead_port.port])]


def test_bad_queue_targets_are_400_before_anything_is_written(app):
    headers = _queue_headers(D1, 1)
    headers["X-Delete-At-Device"] = "sdq,sdr"
    assert _send(app, "PUT", 1, b"x", **headers).status_int == 400
    assert Request.blank(PATH).get_response(app).status_int == 404
