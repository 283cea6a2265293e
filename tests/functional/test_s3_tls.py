"""HTTPS: an all-in-one cluster started with TLS (``Cluster(tls=True)``, ``objstore-aio --tls``).

boto3 trusts the cluster's own CA; plain HTTP and idle connections on the
HTTPS port harm nobody; pgBackRest (which speaks S3 only over HTTPS) backs a
real PostgreSQL server up, full then incremental, and restores it into a new
data directory whose tables match row for row.
"""
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlparse

import pytest

from objstore.aio.cli import usage_text
from objstore.aio.cluster import USERS, Cluster
from tests.functional.s3_clients import empty_and_delete, s3_client
from tests.functional.test_backup_postgres import (BIN_DIR, FILL_SQL, free_port, pg,
                                                   postgres_server, table_digests)

STANZA = "demo"


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory):
    aio = Cluster(str(tmp_path_factory.mktemp("aio-tls")), port=0, tls=True,
                  background_daemons=False)
    aio.start()
    try:
        yield aio
    finally:
        aio.stop()


def test_https_with_the_clusters_ca(tls_cluster):
    assert tls_cluster.proxy_url.startswith("https://")
    assert tls_cluster.ca_file in usage_text(tls_cluster)
    s3 = s3_client(tls_cluster, verify=tls_cluster.ca_file)
    bucket = "tls-%s" % uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"over TLS")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"over TLS"
    empty_and_delete(s3, bucket)
    # A client that does not trust the CA is refused by its own verification.
    with pytest.raises(urllib.error.URLError) as err:
        urllib.request.urlopen(tls_cluster.proxy_url + "/healthcheck", timeout=10,
                               context=ssl.create_default_context())
    assert isinstance(err.value.reason, ssl.SSLCertVerificationError)


def test_plain_http_and_idle_connections_on_the_https_port(tls_cluster):
    parts = urlparse(tls_cluster.proxy_url)
    idle = socket.create_connection((parts.hostname, parts.port), timeout=10)
    try:
        # Never handshakes; another client is served meanwhile.
        context = ssl.create_default_context(cafile=tls_cluster.ca_file)
        with urllib.request.urlopen(tls_cluster.proxy_url + "/healthcheck", timeout=10,
                                    context=context) as resp:
            assert resp.read() == b"OK"
    finally:
        idle.close()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as plain:
        plain.sendall(b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n")
        assert plain.recv(4096) in (b"",)  # closed: nothing an HTTP client could misread
    with open(tls_cluster.proxy_log, encoding="utf-8", errors="replace") as log:
        assert "Traceback" not in log.read()


# -- pgBackRest -----------------------------------------------------------------

def _postgres_user():
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return None


PGBACKREST = shutil.which("pgbackrest")


def _scratch_dir(prefix, owner):
    """A directory under /tmp the server's user owns (pytest's are root-only)."""
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    if owner is not None:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return path


def _as_postgres(owner, *args, env=None, check=True):
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=300,
                          env=env)
    assert not check or done.returncode == 0, "%s: %s%s" % (args, done.stdout, done.stderr)
    return done


@pytest.mark.skipif(PGBACKREST is None, reason="pgBackRest is not installed "
                                               "(apt-get install pgbackrest; .ci/run does)")
@pytest.mark.skipif(BIN_DIR is None, reason="PostgreSQL server is not installed "
                                            "(apt-get install postgresql; .ci/run does)")
def test_pgbackrest_full_and_incremental_backup_and_restore(tls_cluster):
    owner = _postgres_user()
    if os.geteuid() == 0 and owner is None:
        pytest.skip("running as root and there is no postgres user to run the server")
    bucket = "pgbackrest-%s" % uuid.uuid4().hex[:8]
    s3 = s3_client(tls_cluster, verify=tls_cluster.ca_file)
    s3.create_bucket(Bucket=bucket)
    work = _scratch_dir("pgbackrest-", owner)
    restored_base = _scratch_dir("pgbackrest-restored-", owner)
    conf = os.path.join(work, "pgbackrest.conf")
    ca_file = os.path.join(work, "ca.pem")
    shutil.copy(tls_cluster.ca_file, ca_file)
    os.chmod(ca_file, 0o644)
    archive = "archive_command='%s --config=%s --stanza=%s archive-push %%p'" % (
        PGBACKREST, conf, STANZA)
    try:
        with postgres_server(["archive_mode=on", archive, "wal_level=replica"]) as env:
            data = env["PGDATA"]
            port = urlparse(tls_cluster.proxy_url).port
            with open(conf, "w", encoding="utf-8") as handle:
                handle.write("\n".join([
                    "[global]", "repo1-type=s3", "repo1-path=/repo",
                    "repo1-s3-bucket=%s" % bucket, "repo1-s3-endpoint=localhost",
                    "repo1-storage-port=%d" % port, "repo1-s3-region=us-east-1",
                    "repo1-s3-key=test:tester", "repo1-s3-key-secret=%s" % USERS["test:tester"],
                    "repo1-s3-uri-style=path", "repo1-storage-ca-file=%s" % ca_file,
                    "repo1-retention-full=2", "start-fast=y", "log-level-console=warn",
                    # lz4: gzip's CPU cost dominated the backup time.
                    "compress-type=lz4", "process-max=2",
                    "log-path=%s" % work, "lock-path=%s" % work, "",
                    "[%s]" % STANZA, "pg1-path=%s" % data, "pg1-port=%s" % env["PGPORT"],
                    "pg1-socket-path=%s" % os.path.dirname(data), ""]))
            os.chmod(conf, 0o644)
            backrest = lambda *args: _as_postgres(  # noqa: E731
                owner, PGBACKREST, "--config=" + conf, "--stanza=" + STANZA, *args)
            backrest("stanza-create")
            backrest("check")
            pg(env, "createdb", "shop")
            pg(env, "psql", "-d", "shop", "-v", "ON_ERROR_STOP=1", "-q", "-c", FILL_SQL)
            backrest("backup", "--type=full")
            pg(env, "psql", "-d", "shop", "-v", "ON_ERROR_STOP=1", "-q", "-c",
               "UPDATE people SET score = score + 1 WHERE id % 7 = 0; "
               "DELETE FROM notes WHERE id % 11 = 0; "
               "INSERT INTO people SELECT g, 'late ' || g, NULL, 0 "
               "FROM generate_series(20001, 21000) g;")
            backrest("backup", "--type=incr")
            expected = table_digests(env, "shop")
            assert expected["people"][0] == 21000
            info = backrest("info").stdout
            assert "full backup" in info and "incr backup" in info
        assert any(key.startswith("repo/backup/%s/" % STANZA) for page in
                   s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                   for key in (item["Key"] for item in page.get("Contents", [])))

        restored = os.path.join(restored_base, "data")
        os.mkdir(restored, 0o700)
        if owner is not None:
            os.chown(restored, owner.pw_uid, owner.pw_gid)
        backrest("restore", "--pg1-path=" + restored)
        restored_port = free_port()
        ctl = os.path.join(BIN_DIR, "pg_ctl")
        _as_postgres(owner, ctl, "-D", restored, "-l", os.path.join(restored_base, "log"), "-w",
                     "-o", "-p %d -k %s -c listen_addresses=127.0.0.1 -c archive_mode=off"
                     % (restored_port, restored_base), "start")
        try:
            restored_env = dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(restored_port),
                                PGUSER="postgres")
            deadline = time.monotonic() + 120
            while pg(restored_env, "psql", "-At", "-c", "SELECT pg_is_in_recovery()",
                     text=True).stdout.strip() != "f":
                assert time.monotonic() < deadline, "the restored server is still recovering"
                time.sleep(0.5)
            assert table_digests(restored_env, "shop") == expected
        finally:
            _as_postgres(owner, ctl, "-D", restored, "-m", "immediate", "-w", "stop",
                         check=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(restored_base, ignore_errors=True)
        empty_and_delete(s3, bucket)
