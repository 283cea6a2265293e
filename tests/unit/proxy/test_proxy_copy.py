"""Server-side copy through the real proxy, including the swift CLI's COPY."""
import shutil
import subprocess

import pytest
from webob import Request

from objstore.common.http_protocol import serve_http
from objstore.common.concurrency import green_listen, kill, spawn, tpool_execute
from objstore.middleware.copy import filter_factory

ACCOUNT = "AUTH_test"


def make_pipeline(cluster):
    return filter_factory(cluster.config, {})(cluster.proxy)


def test_copy_through_the_proxy(cluster):
    app = make_pipeline(cluster)
    for container in ("photos", "other"):
        assert Request.blank("/v1/%s/%s" % (ACCOUNT, container),
                             method="PUT").get_response(app).status_int == 201
    data = b"readme " * 20000
    resp = Request.blank("/v1/%s/photos/README.md" % ACCOUNT, method="PUT", body=data,
                         headers={"X-Object-Meta-Author": "me"}).get_response(app)
    assert resp.status_int == 201
    resp = Request.blank("/v1/%s/photos/README.md" % ACCOUNT, method="COPY",
                         headers={"Destination": "/other/copy.md"}).get_response(app)
    assert resp.status_int == 201, resp.body
    assert resp.headers["X-Copied-From"] == "photos/README.md"
    assert "X-Copied-From-Last-Modified" in resp.headers
    got = Request.blank("/v1/%s/other/copy.md" % ACCOUNT).get_response(app)
    assert got.body == data
    assert got.headers["X-Object-Meta-Author"] == "me"
    assert got.headers["Content-Type"] == "text/markdown"
    resp = Request.blank("/v1/%s/other/x" % ACCOUNT, method="PUT",
                         headers={"X-Copy-From": "/photos/nothing"}).get_response(app)
    assert resp.status_int == 404
    resp = Request.blank("/v1/%s/nocontainer/x" % ACCOUNT, method="PUT",
                         headers={"X-Copy-From": "/photos/README.md"}).get_response(app)
    assert resp.status_int == 404


@pytest.mark.skipif(shutil.which("swift") is None, reason="python-swiftclient CLI missing")
def test_swift_cli_copy(cluster):
    app = make_pipeline(cluster)
    sock = green_listen(("127.0.0.1", 0))
    server = spawn(serve_http, sock, app)
    url = "http://127.0.0.1:%d/v1/%s" % (sock.getsockname()[1], ACCOUNT)
    try:
        assert Request.blank("/v1/%s/photos" % ACCOUNT,
                             method="PUT").get_response(app).status_int == 201
        assert Request.blank("/v1/%s/photos/README.md" % ACCOUNT, method="PUT",
                             body=b"# hi\n").get_response(app).status_int == 201
        cmd = [shutil.which("swift"), "--os-storage-url", url, "--os-auth-token", "x",
               "copy", "photos", "README.md", "--destination", "/photos/copy.md"]
        done = tpool_execute(subprocess.run, cmd, capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        got = Request.blank("/v1/%s/photos/copy.md" % ACCOUNT).get_response(app)
        assert got.status_int == 200 and got.body == b"# hi\n"
    finally:
        kill(server)
        sock.close()
