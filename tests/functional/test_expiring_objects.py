"""Expiring objects: the object-expirer removes due objects from every replica and listing."""
import time

import pytest
from swiftclient.exceptions import ClientException


def _wait_past(delete_at):
    """Sleep only until the expiry has passed."""
    while time.time() <= delete_at:
        time.sleep(0.2)


def test_expirer_removes_due_objects_and_spares_postponed_ones(conn, swift, unique, object_files,
                                                               expire_due):
    container = unique("expiring")
    conn.put_container(container)
    for name in ("gone", "postponed", "plain"):
        conn.put_object(container, name, b"data of " + name.encode())
    # Far enough ahead that the requests below are done before it (a loaded
    # machine takes seconds for them); the test waits only until then.
    delete_at = int(time.time()) + 8
    swift("post", container, "gone", "-H", "X-Delete-At:%d" % delete_at)
    conn.post_object(container, "postponed", {"X-Delete-At": str(delete_at)})
    # pushed later before it was due: the queued row must not delete it
    conn.post_object(container, "postponed", {"X-Delete-After": "3600"})
    assert int(conn.head_object(container, "gone")["x-delete-at"]) == delete_at
    _wait_past(delete_at)

    expire_due()

    with pytest.raises(ClientException) as err:
        conn.get_object(container, "gone")
    assert err.value.http_status == 404
    names = [entry["name"] for entry in conn.get_container(container)[1]]
    assert names == ["plain", "postponed"]
    assert object_files("AUTH_test", container, "gone") == []
    assert len(object_files("AUTH_test", container, "gone", ending=".ts")) == 3
    headers, body = conn.get_object(container, "postponed")
    assert body == b"data of postponed" and int(headers["x-delete-at"]) > delete_at + 3000
    assert len(object_files("AUTH_test", container, "postponed")) == 3
    assert conn.get_object(container, "plain")[1] == b"data of plain"


def test_object_put_with_x_delete_at_is_expired_after_its_time(conn, unique, object_files,
                                                               expire_due):
    container = unique("expiring-at")
    conn.put_container(container)
    delete_at = int(time.time()) + 8        # after the three requests, even on a busy machine
    conn.put_object(container, "o", b"short-lived", headers={"X-Delete-At": str(delete_at)})
    conn.put_object(container, "removed-expiry", b"x", headers={"X-Delete-At": str(delete_at)})
    conn.post_object(container, "removed-expiry", {"X-Object-Meta-Kept": "yes"})  # no expiry now
    _wait_past(delete_at)

    expire_due()

    assert [entry["name"] for entry in conn.get_container(container)[1]] == ["removed-expiry"]
    assert object_files("AUTH_test", container, "o") == []
    assert conn.head_object(container, "removed-expiry")["x-object-meta-kept"] == "yes"
