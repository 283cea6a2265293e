"""``objstore-aio`` as an operator uses it: foreground run, status, stop, restart with data."""
import os
import re
import signal
import subprocess
import sys
import time

from swiftclient import client as swift_client

AIO = [sys.executable, "-m", "objstore.aio.cli"]


def aio(*args, timeout=120):
    return subprocess.run(AIO + list(args), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def test_status_lists_every_process_up(cluster):
    result = aio("--data-dir", cluster.data_dir, "status")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines()[1:] if line.strip()
            and not line.startswith("proxy:")]
    names = {row[0] for row in rows}
    assert {"proxy-server", "object-server-1", "container-server-4", "account-server-3",
            "object-updater-2", "container-updater-3"} <= names
    assert all(row[-1] == "up" for row in rows)
    assert str(cluster.proxy_port) in result.stdout


def test_run_daemons_once_from_the_command_line(cluster):
    result = aio("--data-dir", cluster.data_dir, "run-daemons", "--once")
    assert result.returncode == 0, result.stderr


def test_run_daemons_once_of_named_kinds(cluster):
    result = aio("--data-dir", cluster.data_dir, "run-daemons", "--once",
                 "container-replicator", "account-auditor")
    assert result.returncode == 0, result.stderr
    assert "container-replicator, account-auditor ran once" in result.stderr
    result = aio("--data-dir", cluster.data_dir, "run-daemons", "--once", "container-replicatr")
    assert result.returncode == 1
    assert "no daemon named container-replicatr" in result.stderr


def test_unknown_data_dir_is_a_clear_error(tmp_path):
    result = aio("--data-dir", str(tmp_path / "nothing"), "status")
    assert result.returncode == 1
    assert "no objstore-aio cluster" in result.stderr


class Foreground:
    """``objstore-aio`` running in the foreground, as a user starts it."""

    def __init__(self, data_dir):
        self.process = subprocess.Popen(
            AIO + ["--data-dir", data_dir, "--port", "0", "--nodes", "2", "--replicas", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            stdin=subprocess.DEVNULL)
        self.output = []
        self.auth_url = None
        deadline = time.time() + 90
        for line in self.process.stdout:
            self.output.append(line)
            match = re.search(r"export ST_AUTH=(\S+)", line)
            if match:
                self.auth_url = match.group(1)
                break
            if time.time() > deadline:
                break
        assert self.auth_url, "".join(self.output)

    def wait(self, timeout=60):
        rest, _ = self.process.communicate(timeout=timeout)
        self.output.append(rest)
        return self.process.returncode

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_foreground_run_stop_and_restart_keeps_data(tmp_path):
    data_dir = str(tmp_path / "aio")
    first = Foreground(data_dir)
    try:
        conn = swift_client.Connection(first.auth_url, "test:tester", "testing", retries=0)
        conn.put_container("kept")
        conn.put_object("kept", "o", b"survives a restart")
        stopped = aio("--data-dir", data_dir, "stop")
        assert stopped.returncode == 0, stopped.stderr
        assert first.wait() == 0, "".join(first.output)
    finally:
        first.kill()
    down = aio("--data-dir", data_dir, "status")
    assert down.returncode != 0 and " up" not in down.stdout

    # Make it look like a data dir from before the silver policy: policy 0 only,
    # no object-1 ring.  The restart must bring silver in and keep the rest.
    cluster_conf = os.path.join(data_dir, "etc", "objstore.conf")
    with open(cluster_conf) as handle:
        text = handle.read()
    with open(cluster_conf, "w") as handle:
        handle.write(text[:text.index("[storage-policy:1]")])
    for name in ("object-1.ring.gz", "object-1.builder"):
        os.unlink(os.path.join(data_dir, "etc", name))
    salt = [line for line in text.splitlines() if line.startswith("hash_path_")]
    second = Foreground(data_dir)
    try:
        conn = swift_client.Connection(second.auth_url, "test:tester", "testing", retries=0)
        assert conn.get_object("kept", "o")[1] == b"survives a restart"
        with open(cluster_conf) as handle:
            text = handle.read()
        assert [line for line in text.splitlines() if line.startswith("hash_path_")] == salt
        assert "\n[storage-policy:1]\nname = silver\n" in text
        conn.put_container("silver", headers={"X-Storage-Policy": "silver"})
        conn.put_object("silver", "o", b"two copies")
        assert conn.head_container("silver")["x-storage-policy"] == "silver"
        refused = aio("--data-dir", data_dir, "--port", "0", "--nodes", "2", "--replicas", "2")
        assert refused.returncode == 1 and "already running" in refused.stderr
        second.process.send_signal(signal.SIGTERM)
        assert second.wait() == 0, "".join(second.output)
    finally:
        second.kill()
    rows = aio("--data-dir", data_dir, "status").stdout
    assert " up" not in rows


def test_more_replicas_than_nodes_is_refused(tmp_path):
    result = aio("--data-dir", str(tmp_path / "aio"), "--port", "0", "--nodes", "2",
                 "--replicas", "3")
    assert result.returncode == 1
    assert "replicas" in result.stderr
