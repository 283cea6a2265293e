"""Bad requests get a clear 4xx and change nothing; through python-swiftclient and raw HTTP."""
import http.client
import os
import urllib.parse

import pytest
from swiftclient import client as swift_client
from swiftclient.exceptions import ClientException


def status_of(call, *args, **kwargs):
    with pytest.raises(ClientException) as caught:
        call(*args, **kwargs)
    return caught.value.http_status


def raw_request(url, method, path, headers=None, body=None):
    """One request by hand (http.client adds nothing we did not ask for)."""
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        conn.endheaders()
        if body:
            conn.send(body)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_bad_token_is_401(conn):
    url, _token = conn.get_auth()
    assert status_of(swift_client.head_account, url, "AUTH_tk" + "0" * 32) == 401
    assert status_of(swift_client.get_container, url, "nonsense", "photos") == 401


def test_wrong_key_is_401(connect):
    assert status_of(connect("test:tester", key="wrong").get_account) == 401


def test_non_admin_is_403_on_someone_elses_container(conn, connect, unique):
    container = unique()
    conn.put_container(container)
    conn.put_object(container, "o", b"secret")
    other = connect("test:tester3")
    url, token = other.get_auth()
    owner_url, _ = conn.get_auth()
    assert status_of(swift_client.get_container, owner_url, token, container) == 403
    assert status_of(swift_client.get_object, owner_url, token, container, "o") == 403
    assert status_of(swift_client.put_object, owner_url, token, container, "o2", b"x") == 403
    # and another account's admin cannot read it either
    stranger = connect("test2:tester2")
    _, stranger_token = stranger.get_auth()
    assert status_of(swift_client.get_object, owner_url, stranger_token, container, "o") == 403
    assert conn.get_object(container, "o")[1] == b"secret"


def test_object_name_over_1024_bytes_is_400(conn, unique):
    container = unique()
    conn.put_container(container)
    assert status_of(conn.put_object, container, "a" * 1025, b"x") == 400
    conn.put_object(container, "a" * 1024, b"x")
    assert conn.get_object(container, "a" * 1024)[1] == b"x"


def test_put_without_length_is_411(conn, unique):
    container = unique()
    conn.put_container(container)
    url, token = conn.get_auth()
    path = urllib.parse.urlsplit(url).path + "/%s/o" % container
    status, headers, _body = raw_request(url, "PUT", path, {"X-Auth-Token": token})
    assert status == 411
    assert "x-trans-id" in {key.lower() for key in headers}
    assert status_of(conn.head_object, container, "o") == 404


def test_wrong_etag_is_422_and_nothing_is_stored(conn, unique, object_files):
    container = unique()
    conn.put_container(container)
    assert status_of(conn.put_object, container, "o", b"payload", etag="0" * 32) == 422
    assert status_of(conn.head_object, container, "o") == 404
    url, _ = conn.get_auth()
    account = urllib.parse.urlsplit(url).path.rsplit("/", 1)[1]
    assert object_files(account, container, "o") == []
    assert conn.get_container(container)[1] == []


@pytest.mark.parametrize("name", ["../../x", "%2e%2e/x", "../../../../../../etc/escape",
                                  "./a/../../b", "a/./b/../../../c"])
def test_dotted_names_stay_inside_the_store(cluster, conn, unique, object_files, name):
    """The name is data, never a path: it round-trips and writes only inside the devices.

    Sent by hand because HTTP client libraries (requests/urllib3) collapse
    ``..`` segments before sending.  Percent-encoded, the name must be stored
    as given; sent literally, it may be stored or refused, but never escape.
    """
    container = unique()
    conn.put_container(container)
    url, token = conn.get_auth()
    base = urllib.parse.urlsplit(url).path
    account = base.rsplit("/", 1)[1]
    before = _files_outside_devices(cluster)
    body = os.urandom(100)

    encoded = "%s/%s/%s" % (base, container, urllib.parse.quote(name, safe=""))
    status, _, _ = raw_request(url, "PUT", encoded, {
        "X-Auth-Token": token, "Content-Length": str(len(body))}, body)
    assert status == 201
    assert raw_request(url, "GET", encoded, {"X-Auth-Token": token})[2] == body
    assert [item["name"] for item in conn.get_container(container)[1]] == [name]
    assert len(object_files(account, container, name)) == 3

    literal = "%s/%s/%s" % (base, container, urllib.parse.quote(name, safe="/."))
    status, _, _ = raw_request(url, "PUT", literal, {
        "X-Auth-Token": token, "Content-Length": str(len(body))}, body)
    assert status < 500
    if status == 201:
        assert raw_request(url, "GET", literal, {"X-Auth-Token": token})[2] == body
    assert _files_outside_devices(cluster) == before


def _files_outside_devices(cluster):
    """Every file under the aio's parent directory that is not on a device, or a log/state."""
    root = os.path.dirname(cluster.data_dir)
    devices = tuple(os.path.dirname(path) + os.sep for path in cluster.devices())
    skip = (cluster.logs_dir + os.sep, os.path.join(cluster.data_dir, "run") + os.sep)
    found = set()
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            if not path.startswith(devices + skip):
                found.add(path)
    return found


@pytest.mark.parametrize("header,value", [
    ("X-Object-Meta-" + "n" * 129, "v"),
    ("X-Object-Meta-Long", "v" * 257),
])
def test_object_metadata_over_the_limits_is_400(conn, unique, header, value):
    container = unique()
    conn.put_container(container)
    assert status_of(conn.put_object, container, "o", b"x", headers={header: value}) == 400
    assert status_of(conn.head_object, container, "o") == 404
    conn.put_object(container, "o", b"x")
    assert status_of(conn.post_object, container, "o", headers={header: value}) == 400


def test_too_many_and_too_large_metadata_is_400(conn, unique):
    container = unique()
    conn.put_container(container)
    too_many = {"X-Object-Meta-K%d" % i: "v" for i in range(91)}
    assert status_of(conn.put_object, container, "o", b"x", headers=too_many) == 400
    too_large = {"X-Object-Meta-K%d" % i: "v" * 250 for i in range(17)}   # > 4096 bytes
    assert status_of(conn.put_object, container, "o", b"x", headers=too_large) == 400
    assert status_of(conn.post_container, container,
                     {"X-Container-Meta-" + "n" * 129: "v"}) == 400
    assert status_of(conn.head_object, container, "o") == 404
    fits = {"X-Object-Meta-K%d" % i: "v" for i in range(90)}
    conn.put_object(container, "o", b"x", headers=fits)
    assert len([k for k in conn.head_object(container, "o") if k.startswith("x-object-meta-")]) \
        == 90


def test_responses_carry_a_trans_id(conn, unique):
    headers = conn.head_account()
    assert headers["x-trans-id"].startswith("tx")
    with pytest.raises(ClientException) as caught:
        conn.get_object(unique(), "missing")
    assert caught.value.http_status == 404
    error_headers = {k.lower(): v for k, v in caught.value.http_response_headers.items()}
    assert error_headers["x-trans-id"].startswith("tx")


def test_info_lists_tempauth_and_constraints(conn):
    info = conn.get_capabilities()
    assert "tempauth" in info
    assert info["swift"]["max_object_name_length"] == 1024
    assert info["swift"]["max_meta_count"] == 90
    assert info["swift"]["max_file_size"] == 5368709122


def test_healthcheck(cluster):
    status, _headers, body = raw_request(cluster.proxy_url, "GET", "/healthcheck")
    assert (status, body) == (200, b"OK")
