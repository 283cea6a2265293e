"""The proxy inside its real pipeline (catch_errors, tempauth, copy) over HTTP, driven by
the swift CLI: auth, upload, listing, download, server-side copy, ACLs."""
import shutil
import subprocess

import pytest

from objstore.common.http_protocol import serve_http
from objstore.common.concurrency import green_listen, kill, spawn, tpool_execute
from objstore.middleware import catch_errors, copy, tempauth

SWIFT = shutil.which("swift")
pytestmark = pytest.mark.skipif(SWIFT is None, reason="python-swiftclient CLI missing")


@pytest.fixture
def endpoint(cluster):
    app = cluster.proxy
    app = copy.filter_factory(cluster.config, {})(app)
    app = tempauth.filter_factory(cluster.config, {}, token_secret="s" * 32,
                                  user_test_tester="testing .admin",
                                  user_test_reader="reading")(app)
    app = catch_errors.filter_factory(cluster.config, {})(app)
    sock = green_listen(("127.0.0.1", 0))
    server = spawn(serve_http, sock, app)
    yield "http://127.0.0.1:%d/auth/v1.0" % sock.getsockname()[1]
    kill(server)
    sock.close()


def swift(auth_url, user, key, *args, cwd=None):
    cmd = [SWIFT, "-A", auth_url, "-U", user, "-K", key] + list(args)
    done = tpool_execute(subprocess.run, cmd, capture_output=True, timeout=60, cwd=cwd)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def test_swift_cli_round_trip(endpoint, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "README.md").write_bytes(b"# objstore\n" * 1000)
    code, _out, err = swift(endpoint, "test:tester", "testing", "upload", "photos",
                            "README.md", cwd=str(work))
    assert code == 0, err
    code, _out, err = swift(endpoint, "test:tester", "testing", "copy", "photos",
                            "README.md", "--destination", "/photos/copy.md")
    assert code == 0, err
    code, _out, err = swift(endpoint, "test:tester", "testing", "download", "photos",
                            "copy.md", "-o", str(tmp_path / "got.md"))
    assert code == 0, err
    assert (tmp_path / "got.md").read_bytes() == b"# objstore\n" * 1000
    # a user without rights is refused until the owner grants read access
    code, _out, err = swift(endpoint, "test:reader", "reading", "list", "photos")
    assert code != 0 and "403" in err
    code, _out, err = swift(endpoint, "test:tester", "testing", "post", "photos",
                            "--read-acl", "test:reader")
    assert code == 0, err
    code, out, err = swift(endpoint, "test:reader", "reading", "download", "photos",
                           "README.md", "-o", "-")
    assert code == 0 and out.startswith("# objstore"), err


def test_app_factory_from_a_config_file(cluster, tmp_path):
    from webob import Request

    from objstore.common.pipeline import load_app

    conf = tmp_path / "proxy-server.conf"
    conf.write_text(
        "[DEFAULT]\nswift_dir = %s\n\n[pipeline:main]\npipeline = copy proxy\n\n"
        "[filter:copy]\nuse = call:objstore.middleware.copy:filter_factory\n\n"
        "[app:proxy]\nuse = call:objstore.proxy.server:app_factory\nnode_timeout = 3\n"
        "account_autocreate = true\n" % cluster.swift_dir)
    app = load_app(str(conf), cluster.config)
    resp = Request.blank("/v1/AUTH_conf/c", method="PUT").get_response(app)
    assert resp.status_int == 201
    resp = Request.blank("/v1/AUTH_conf/c/o", method="PUT", body=b"1").get_response(app)
    assert resp.status_int == 201
    resp = Request.blank("/v1/AUTH_conf/c/o", method="COPY",
                         headers={"Destination": "c/o2"}).get_response(app)
    assert resp.status_int == 201
