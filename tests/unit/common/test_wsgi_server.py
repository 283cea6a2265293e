"""objstore-server as an operator runs it: a real process, real socket, SIGTERM to stop."""
import http.client
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from objstore.common.config import ConfigSection
from objstore.common.pipeline import typed_factory


@typed_factory(ConfigSection)
def hello_app_factory(cluster, conf, raw):
    def app(env, start):
        body = ("pid=%d" % os.getpid()).encode()
        start("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    return app


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/")
    resp = conn.getresponse()
    return resp.status, resp.read()


@pytest.mark.parametrize("workers", [0, 2])
def test_server_serves_and_stops_on_sigterm(tmp_path, workers):
    port = _free_port()
    (tmp_path / "objstore.conf").write_text(
        "[hash]\nhash_path_prefix = p\nhash_path_suffix = s\n")
    conf = tmp_path / "hello.conf"
    conf.write_text("[DEFAULT]\nbind_port = %d\nworkers = %d\nobjstore_conf = %s\n"
                    "[app:main]\nuse = call:%s:hello_app_factory\n"
                    % (port, workers, tmp_path / "objstore.conf", __name__))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-m", "objstore.cli.server", "proxy", str(conf)],
                            env=env, stderr=subprocess.PIPE)
    try:
        # Generous: starting an interpreter is slow on a loaded machine.
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = _get(port)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    # Stop it first: a server still running would keep stderr open.
                    if proc.poll() is None:
                        proc.kill()
                    _out, err = proc.communicate()
                    raise AssertionError(err.decode()[-2000:])
                time.sleep(0.1)
        assert status == 200 and body.startswith(b"pid=")
        if workers:
            assert body != ("pid=%d" % proc.pid).encode()  # served by a child
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _run_to_exit(kind, conf):
    """``objstore-server kind conf`` expected to stop at start; its exit and output."""
    return subprocess.run([sys.executable, "-m", "objstore.cli.server", kind, str(conf)],
                          capture_output=True, text=True, timeout=90,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))


def test_missing_cluster_conf_is_a_clear_error(tmp_path):
    conf = tmp_path / "hello.conf"
    conf.write_text("[DEFAULT]\nbind_port = 0\nobjstore_conf = %s\n[app:main]\nuse = call:x:y\n"
                    % (tmp_path / "nope.conf"))
    result = _run_to_exit("proxy", conf)
    assert result.returncode == 2
    assert "nope.conf does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_misspelled_option_stops_the_server_with_one_line(tmp_path):
    """An operator's typo in any section: exit 2, one line naming file, section, option."""
    (tmp_path / "objstore.conf").write_text(
        "[hash]\nhash_path_prefix = p\nhash_path_suffix = s\n")
    conf = tmp_path / "object-server.conf"
    conf.write_text("[DEFAULT]\nbind_port = 0\nobjstore_conf = %s\ndevices = %s\n"
                    "[pipeline:main]\npipeline = object-server\n"
                    "[app:object-server]\nuse = egg:objstore#object\nmount_chek = false\n"
                    % (tmp_path / "objstore.conf", tmp_path))
    result = _run_to_exit("object", conf)
    assert result.returncode == 2
    assert result.stderr == ("objstore-server: %s [app:object-server]: unknown option "
                             "'mount_chek' (did you mean 'mount_check'?)\n" % conf)


def test_wrong_type_in_a_daemon_section_stops_the_server_too(tmp_path):
    (tmp_path / "objstore.conf").write_text("[hash]\nhash_path_suffix = s\n")
    conf = tmp_path / "object-server.conf"
    conf.write_text("[DEFAULT]\nbind_port = 0\nobjstore_conf = %s\n"
                    "[pipeline:main]\npipeline = object-server\n"
                    "[app:object-server]\nuse = egg:objstore#object\n"
                    "[object-updater]\nconcurrency = many\n" % (tmp_path / "objstore.conf"))
    result = _run_to_exit("object", conf)
    assert result.returncode == 2
    assert result.stderr == ("objstore-server: %s [object-updater]: option 'concurrency': "
                             "expected an integer, got 'many'\n" % conf)


def test_cert_file_and_key_file_go_together_and_must_load(tmp_path):
    from objstore.common.config import ConfigError
    from objstore.common.server_settings import ServerSettings
    from objstore.common.wsgi import tls_context_for
    with pytest.raises(ConfigError, match="go together"):
        ServerSettings.of({"cert_file": "/x.pem"})
    assert tls_context_for(ServerSettings.of({})) is None
    (tmp_path / "bad.pem").write_text("not a certificate")
    with pytest.raises(ConfigError, match="cannot load cert_file"):
        tls_context_for(ServerSettings.of({"cert_file": str(tmp_path / "bad.pem"),
                                           "key_file": str(tmp_path / "bad.pem")}))
