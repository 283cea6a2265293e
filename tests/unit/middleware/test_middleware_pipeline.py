"""The four filters stacked as proxy-server.conf stacks them, in-process and in a real server."""
import http.client
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import webob

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigSection
from objstore.common.pipeline import typed_factory
from objstore.middleware import catch_errors, healthcheck, proxy_logging, tempauth
from objstore.middleware.proxy_logging import parse_access_line

USERS = {"user_test_tester": "testing .admin", "user_test_tester3": "testing3"}


def fake_proxy(environ, start_response):
    """Calls swift.authorize like the proxy; /boom fails half-way through its body."""
    req = webob.Request(environ)
    authorize = environ.get("swift.authorize")
    if authorize is not None:
        req.acl = None
        denial = authorize(req)
        if denial is not None:
            return denial(environ, start_response)
    if req.path_info.endswith("/boom"):
        start_response("200 OK", [("Content-Length", "10000")])

        def body():
            yield b"x" * 8192
            raise RuntimeError("internal secret detail")
        return body()
    payload = ("pid=%d user=%s" % (os.getpid(), environ.get("REMOTE_USER"))).encode()
    start_response("200 OK", [("Content-Length", str(len(payload)))])
    return [payload]


@typed_factory(ConfigSection)
def fake_proxy_factory(cluster, conf, raw):
    return fake_proxy


def build_pipeline(users):
    cluster = ClusterConfig.build("test-prefix", "test-suffix")
    app = tempauth.filter_factory(cluster, {}, **users)(fake_proxy)
    for module in (proxy_logging, healthcheck, catch_errors):
        app = module.filter_factory(cluster, {})(app)
    return app


def test_pipeline_in_process():
    lines = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    handler = Collect()
    access = logging.getLogger("objstore.proxy-access")
    access.addHandler(handler)
    try:
        app = build_pipeline(USERS)
        assert webob.Request.blank("/healthcheck").get_response(app).body == b"OK"
        auth = webob.Request.blank("/auth/v1.0", headers={
            "X-Auth-User": "test:tester", "X-Auth-Key": "testing"}).get_response(app)
        assert auth.status_int == 200 and auth.headers["X-Trans-Id"]
        assert auth.body == b""
        token = auth.headers["X-Auth-Token"]
        resp = webob.Request.blank("/v1/AUTH_test/c", headers={
            "X-Auth-Token": token}).get_response(app)
        assert resp.status_int == 200
        assert b"user=test,test:tester,AUTH_test" in resp.body
        denied = webob.Request.blank("/v1/AUTH_test/c").get_response(app)
        assert denied.status_int == 401 and denied.headers["X-Trans-Id"]
        assert denied.body
    finally:
        access.removeHandler(handler)
    fields = parse_access_line(lines[-2])
    assert fields["trans_id"] == resp.headers["X-Trans-Id"]
    assert fields["remote_user"] == "test,test:tester,AUTH_test"
    assert fields["auth_token"] == token[:16] + "..."
    assert token not in "\n".join(lines)
    assert parse_access_line(lines[-1])["status"] == "401"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        try:
            body = resp.read()
        except http.client.IncompleteRead as err:
            body = b"INCOMPLETE:" + err.partial
        return resp.status, dict(resp.getheaders()), body
    finally:
        conn.close()


def _start_server(tmp_path, workers):
    port = _free_port()
    (tmp_path / "objstore.conf").write_text(
        "[hash]\nhash_path_prefix = p\nhash_path_suffix = s\n")
    conf = tmp_path / "proxy.conf"
    conf.write_text(
        "[DEFAULT]\nbind_port = %d\nworkers = %d\nobjstore_conf = %s\n"
        "[pipeline:main]\npipeline = catch_errors healthcheck proxy_logging tempauth fake\n"
        "[filter:catch_errors]\nuse = egg:objstore#catch_errors\n"
        "[filter:healthcheck]\nuse = egg:objstore#healthcheck\n"
        "[filter:proxy_logging]\nuse = egg:objstore#proxy_logging\nlog_file = %s\n"
        "[filter:tempauth]\nuse = egg:objstore#tempauth\nuser_test_tester = testing .admin\n"
        "[app:fake]\nuse = call:%s:fake_proxy_factory\n"
        % (port, workers, tmp_path / "objstore.conf", tmp_path / "access.log", __name__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "objstore.cli.server", "proxy", str(conf)],
                            env=env, stderr=subprocess.PIPE)
    # Generous: on a loaded machine (load 40) an interpreter took over 20 s to start.
    deadline = time.time() + 60
    while True:
        try:
            status, _h, body = _request(port, "/healthcheck")
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError(proc.stderr.read().decode()[-2000:])
            time.sleep(0.1)
    assert (status, body) == (200, b"OK")
    return proc, port


def _stop_server(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    return proc.stderr.read().decode()


def test_real_server_token_survives_restart_and_errors_stay_private(tmp_path):
    """A token from one server process works on the next; a mid-body failure shows no stack."""
    proc, port = _start_server(tmp_path, workers=2)
    try:
        status, headers, _ = _request(port, "/auth/v1.0", {
            "X-Auth-User": "test:tester", "X-Auth-Key": "testing"})
        assert status == 200
        assert headers["X-Storage-Url"] == "http://127.0.0.1:%d/v1/AUTH_test" % port
        token = headers["X-Auth-Token"]
        status, _h, body = _request(port, "/v1/AUTH_test/c", {"X-Auth-Token": token})
        assert status == 200, body
        status, headers, body = _request(port, "/v1/AUTH_test/c/boom", {"X-Auth-Token": token})
        assert status == 200 and headers["X-Trans-Id"]
        assert body == b"INCOMPLETE:" + b"x" * 8192
        assert b"Traceback" not in body and b"secret" not in body
    finally:
        stderr = _stop_server(proc)
    assert "internal secret detail" in stderr     # the operator gets the stack
    lines = (tmp_path / "access.log").read_text().splitlines()
    boom = [parse_access_line(line) for line in lines if "/boom" in line]
    assert boom and boom[0]["bytes_sent"] == "8192"

    proc, port = _start_server(tmp_path, workers=0)
    try:
        status, _h, body = _request(port, "/v1/AUTH_test/c", {"X-Auth-Token": token})
        assert status == 200 and b"user=test,test:tester,AUTH_test" in body
        status, _h, _b = _request(port, "/v1/AUTH_test/c", {"X-Auth-Token": token[:-3] + "abc"})
        assert status == 401
    finally:
        _stop_server(proc)
