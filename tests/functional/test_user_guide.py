"""The Swift user guide's examples, run as written against the aio cluster.

Paging a listing with ``limit``/``marker``, pseudo-hierarchical folders with
``prefix``/``delimiter`` in plain, JSON and XML, the ``swift post -r``/``-w``
ACL examples and ``X-Delete-After`` set with ``swift post``.
"""
import json
import time
from xml.dom import minidom

import pytest

FRUIT = ["apples", "bananas", "kiwis", "oranges", "pears"]
PHOTOS = ["photos/animals/cats/persian.jpg", "photos/animals/cats/siamese.jpg",
          "photos/plants/fern.jpg", "photos/plants/rose.jpg", "photos/me.jpg"]


@pytest.fixture
def fruit(conn, unique):
    container = unique("fruit")
    conn.put_container(container)
    for name in FRUIT:
        conn.put_object(container, name, b"")
    return container


def _plain(http, container, query):
    status, _headers, body = http.request("GET", "/%s?%s" % (container, query))
    assert status == 200
    return body.decode().splitlines()


def test_paging_apples_to_pears_two_at_a_time(http_as, fruit):
    http = http_as()
    assert _plain(http, fruit, "limit=2") == ["apples", "bananas"]
    assert _plain(http, fruit, "limit=2&marker=bananas") == ["kiwis", "oranges"]
    assert _plain(http, fruit, "limit=2&marker=oranges") == ["pears"]
    status, _headers, body = http.request("GET", "/%s?limit=2&marker=pears" % fruit)
    assert status == 204 and body == b""
    assert _plain(http, fruit, "end_marker=oranges") == ["apples", "bananas", "kiwis"]


@pytest.fixture
def photos(conn, unique):
    container = unique("photos")
    conn.put_container(container)
    for name in PHOTOS:
        conn.put_object(container, name, b"jpeg", content_type="image/jpeg")
    return container


def test_pseudo_folders_in_plain_text(http_as, photos):
    http = http_as()
    assert _plain(http, photos, "delimiter=/") == ["photos/"]
    assert _plain(http, photos, "prefix=photos/&delimiter=/") == [
        "photos/animals/", "photos/me.jpg", "photos/plants/"]
    assert _plain(http, photos, "prefix=photos/animals/&delimiter=/") == [
        "photos/animals/cats/"]
    assert _plain(http, photos, "prefix=photos/animals/cats/&delimiter=/") == [
        "photos/animals/cats/persian.jpg", "photos/animals/cats/siamese.jpg"]


def test_pseudo_folders_in_json(http_as, photos):
    status, headers, body = http_as().request(
        "GET", "/%s?prefix=photos/&delimiter=/&format=json" % photos)
    assert status == 200 and headers["content-type"].startswith("application/json")
    listing = json.loads(body)
    assert [entry.get("subdir") or entry["name"] for entry in listing] == [
        "photos/animals/", "photos/me.jpg", "photos/plants/"]
    assert listing[0] == {"subdir": "photos/animals/"}
    assert listing[1]["content_type"] == "image/jpeg" and listing[1]["bytes"] == 4


def test_pseudo_folders_in_xml(http_as, photos):
    status, headers, body = http_as().request(
        "GET", "/%s?prefix=photos/&delimiter=/&format=xml" % photos)
    assert status == 200 and headers["content-type"].startswith("application/xml")
    root = minidom.parseString(body).documentElement
    assert root.tagName == "container" and root.getAttribute("name") == photos
    children = [n for n in root.childNodes if n.nodeType == n.ELEMENT_NODE]
    assert [n.tagName for n in children] == ["subdir", "object", "subdir"]
    assert children[0].getAttribute("name") == "photos/animals/"
    assert children[0].getElementsByTagName("name")[0].firstChild.data == "photos/animals/"
    assert children[1].getElementsByTagName("name")[0].firstChild.data == "photos/me.jpg"


def test_swift_post_read_acl_makes_a_container_public_and_listable(swift, conn, unique,
                                                                   anonymous):
    container = unique("public")
    conn.put_container(container)
    conn.put_object(container, "hello.txt", b"hello")
    url = conn.get_auth()[0].split("//", 1)[1].split("/", 1)[1]
    assert anonymous("GET", "/%s/%s/hello.txt" % (url, container))[0] == 401
    swift("post", "-r", ".r:*,.rlistings", container)
    status, _h, body = anonymous("GET", "/%s/%s/hello.txt" % (url, container))
    assert (status, body) == (200, b"hello")
    status, _h, body = anonymous("GET", "/%s/%s" % (url, container))
    assert (status, body) == (200, b"hello.txt\n")
    # writing still needs a token
    assert anonymous("PUT", "/%s/%s/x" % (url, container), b"x")[0] == 401


def test_swift_post_write_acl_lets_tester3_upload(swift, conn, connect, unique):
    container = unique("dropbox")
    conn.put_container(container)
    tester3 = connect("test:tester3")
    with pytest.raises(Exception) as denied:
        tester3.put_object(container, "from-tester3", b"x")
    assert denied.value.http_status == 403
    swift("post", "-w", "test:tester3", container)
    tester3.put_object(container, "from-tester3", b"x")
    assert conn.get_object(container, "from-tester3")[1] == b"x"


def test_swift_post_x_delete_after_then_run_daemons_once(swift, conn, unique, expire_due):
    container = unique("short-lived")
    conn.put_container(container)
    conn.put_object(container, "temp.txt", b"for five seconds")
    conn.put_object(container, "keep.txt", b"kept")
    swift("post", container, "temp.txt", "-H", "X-Delete-After:5")
    delete_at = int(conn.head_object(container, "temp.txt")["x-delete-at"])
    assert delete_at - 6 <= time.time() <= delete_at
    while time.time() <= delete_at:
        time.sleep(0.2)
    # The guide's daemon pass; of its daemons only the updaters and expirers
    # touch this object (test_aio_cli runs the whole command line pass).
    expire_due()
    assert [entry["name"] for entry in conn.get_container(container)[1]] == ["keep.txt"]
