"""X-Open-Expired: reading and reviving an expired object the expirer has not removed yet.

The proxy option ``allow_open_expired`` is off by default (the session
cluster); this module starts its own small cluster with it on and without
background daemons, so no expirer removes the objects while they are read.
Both clusters get their objects before the one wait for the expiry.
"""
import hashlib
import http.client
import json
import time
from urllib.parse import urlparse

import pytest
from swiftclient import client as swift_client
from swiftclient.utils import generate_temp_url

from objstore.aio.cluster import USERS, Cluster

USER = "test:tester"
SEGMENTS = (b"one", b"two", b"three")


@pytest.fixture(scope="module")
def open_cluster(tmp_path_factory):
    aio = Cluster(str(tmp_path_factory.mktemp("open-expired")), port=0, nodes=1, replicas=1,
                  background_daemons=False, proxy_options={"allow_open_expired": "true"})
    aio.start()
    try:
        yield aio
    finally:
        aio.stop()


def _connect(aio):
    return swift_client.Connection(authurl=aio.auth_url, user=USER, key=USERS[USER],
                                   retries=0, timeout=30)


def _request(url, token, method, path, headers=None):
    """(status, lower-cased headers, body) of one raw request under the storage URL."""
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        sent = {"X-Auth-Token": token} if token else {}
        sent.update(headers or {})
        conn.request(method, path if path.startswith("/v1/") else parsed.path + path,
                     headers=sent)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _put_expiring(conn, container, delete_at):
    conn.put_container(container)
    expiry = {"X-Delete-At": str(delete_at)}
    conn.put_object(container, "plain", b"kept bytes", headers=expiry)
    manifest = []
    for index, data in enumerate(SEGMENTS):
        conn.put_object(container, "seg/%d" % index, data, headers=expiry)
        manifest.append({"path": "/%s/seg/%d" % (container, index),
                         "etag": hashlib.md5(data).hexdigest(), "size_bytes": len(data)})
    conn.put_object(container, "manifest", json.dumps(manifest), headers=expiry,
                    query_string="multipart-manifest=put")


def test_open_expired_reads_and_revives_only_where_allowed(open_cluster, cluster, unique):
    opened, closed = _connect(open_cluster), _connect(cluster)
    container = unique("open-expired")
    # far enough ahead that the uploads are done before it, even on a busy machine
    delete_at = int(time.time()) + 8
    _put_expiring(opened, container, delete_at)
    _put_expiring(closed, container, delete_at)
    assert opened.get_capabilities()["swift"]["allow_open_expired"] is True
    assert closed.get_capabilities()["swift"]["allow_open_expired"] is False
    while time.time() <= delete_at:
        time.sleep(0.2)

    url, token = opened.get_auth()
    asked = {"X-Open-Expired": "true"}
    path = "/%s/plain" % container
    assert _request(url, token, "GET", path)[0] == 404
    assert _request(url, token, "GET", path, {"X-Open-Expired": "false"})[0] == 404
    status, headers, body = _request(url, token, "GET", path, asked)
    assert (status, body) == (200, b"kept bytes")
    assert headers["x-delete-at"] == str(delete_at)
    assert _request(url, token, "HEAD", path, asked)[0] == 200

    # a large object: the manifest and its expired segments, whole or by part
    status, _headers, body = _request(url, token, "GET", "/%s/manifest" % container, asked)
    assert (status, body) == (200, b"".join(SEGMENTS))
    assert _request(url, token, "GET", "/%s/manifest" % container)[0] == 404
    status, _headers, body = _request(url, token, "GET", "/%s/manifest?part-number=2"
                                      % container, asked)
    assert (status, body) == (206, b"two")
    assert _request(url, token, "HEAD", "/%s/manifest?part-number=3" % container,
                    asked)[0] == 206
    assert _request(url, token, "GET", "/%s/manifest?part-number=2" % container)[0] == 404

    # a temp URL never opens an expired object, header or not
    opened.post_account({"X-Account-Meta-Temp-URL-Key": "s3cret"})
    signed = generate_temp_url(urlparse(url).path + path, 600, "s3cret", "GET")
    assert _request(url, None, "GET", signed, asked)[0] == 404

    # POST: refused without the header; with it, the object is back with a new expiry
    assert _request(url, token, "POST", path, {"X-Object-Meta-Back": "no"})[0] == 404
    status, _headers, _body = _request(url, token, "POST", path, dict(
        asked, **{"X-Object-Meta-Back": "yes", "X-Delete-After": "3600"}))
    assert status == 202
    headers, body = opened.get_object(container, "plain")
    assert body == b"kept bytes" and headers["x-object-meta-back"] == "yes"
    assert int(headers["x-delete-at"]) > delete_at + 3000

    # where the option is off, the header changes nothing
    url, token = closed.get_auth()
    for method in ("GET", "HEAD", "POST"):
        assert _request(url, token, method, path, asked)[0] == 404
    assert _request(url, token, "GET", "/%s/manifest" % container, asked)[0] == 404
    opened.close()
    closed.close()
