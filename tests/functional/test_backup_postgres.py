"""A PostgreSQL dump streamed into objstore and restored from it, with the real tools.

``pg_dump -Fc | swift upload --segment-size 1M C --object-name db.dump -`` is how
many people back a database up to Swift: the dump never touches local disk,
and the CLI turns the stream into 1 MiB segments plus an SLO manifest.  The
test restores the downloaded dump into a new database and compares every
table row by row.
"""
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

import pytest

TABLES = ("people", "notes", "blobs")
FILL_SQL = """
CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, born date, score numeric(10,2));
INSERT INTO people SELECT g, 'person ' || md5(g::text), date '1950-01-01' + g % 20000,
                          (g * 37 % 10000) / 100.0
  FROM generate_series(1, 20000) g;
CREATE TABLE notes (id int PRIMARY KEY, person_id int REFERENCES people, body text);
INSERT INTO notes SELECT g, 1 + g % 20000, repeat(md5(random()::text), 4)
  FROM generate_series(1, 20000) g;
CREATE TABLE blobs (id int PRIMARY KEY, data bytea);
INSERT INTO blobs SELECT g, decode(string_agg(md5(random()::text), ''), 'hex')
  FROM generate_series(1, 200) g, generate_series(1, 200) k GROUP BY g;
"""


def postgres_bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


BIN_DIR = postgres_bin_dir()
pytestmark = pytest.mark.skipif(
    BIN_DIR is None, reason="PostgreSQL server is not installed "
                            "(apt-get install postgresql; .ci/run does)")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def postgres_server(extra_options=()):
    """A throwaway server on a loopback port; yields the environment its clients need
    (``PGDATA`` names its data dir, inside a scratch dir the server's user owns).
    ``extra_options``: more ``name=value`` server settings."""
    # The server refuses to run as root; its data dir must be reachable by its user,
    # so it lives directly under /tmp rather than in pytest's root-only directory.
    as_user = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server")
        as_user = ["runuser", "-u", "postgres", "--"]
    base = tempfile.mkdtemp(prefix="backup-pg-", dir="/tmp")
    data = os.path.join(base, "data")
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    port = free_port()
    run = lambda *args: subprocess.run([*as_user, *args], check=True, capture_output=True,
                                       text=True, timeout=120)
    try:
        run(os.path.join(BIN_DIR, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
            "--no-sync")
        run(os.path.join(BIN_DIR, "pg_ctl"), "-D", data, "-l", os.path.join(base, "log"), "-w",
            "-o", "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (port, base)
            + "".join(" -c %s" % option for option in extra_options), "start")
        try:
            yield dict(os.environ, PGHOST="127.0.0.1", PGPORT=str(port), PGUSER="postgres",
                       PGDATA=data)
        finally:
            run(os.path.join(BIN_DIR, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def pg(env, tool, *args, **kwargs):
    return subprocess.run([os.path.join(BIN_DIR, tool), *args], env=env, check=True,
                          capture_output=True, timeout=120, **kwargs)


def table_digests(env, database):
    """{table: (row count, md5 of every row in key order)}"""
    digests = {}
    for table in TABLES:
        out = pg(env, "psql", "-d", database, "-At", "-c",
                 "SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY id)) "
                 "FROM %s t" % table, text=True).stdout.split()
        digests[table] = (int(out[0]), out[1])
    return digests


def test_pg_dump_streamed_into_objstore_restores_identically(swift, conn, unique, tmp_path):
    container = unique("pgdump")
    with postgres_server() as env:
        pg(env, "createdb", "shop")
        pg(env, "psql", "-d", "shop", "-v", "ON_ERROR_STOP=1", "-q", "-c", FILL_SQL)
        original = table_digests(env, "shop")
        assert original["people"][0] == 20000 and original["blobs"][0] == 200

        dump = subprocess.Popen([os.path.join(BIN_DIR, "pg_dump"), "-Fc", "shop"], env=env,
                                stdout=subprocess.PIPE)
        try:
            swift("upload", "--segment-size", "1M", container, "--object-name", "db.dump",
                  "-", stdin=dump.stdout)
        finally:
            dump.stdout.close()
            assert dump.wait(timeout=60) == 0
        headers = conn.head_object(container, "db.dump")
        assert headers["x-static-large-object"] == "True"
        segments = swift("list", container + "_segments").stdout.split()
        assert len(segments) >= 2
        assert int(headers["content-length"]) > 1024 * 1024

        swift("download", container, "db.dump", "-o", str(tmp_path / "db.dump"))
        assert (tmp_path / "db.dump").stat().st_size == int(headers["content-length"])
        pg(env, "createdb", "restored")
        pg(env, "pg_restore", "--exit-on-error", "-d", "restored", str(tmp_path / "db.dump"))
        assert table_digests(env, "restored") == original

    swift("delete", container)
    swift("delete", container + "_segments")
    names = [c["name"] for c in conn.get_account()[1]]
    assert container not in names and container + "_segments" not in names
