"""restic, rclone and duplicity backing a directory tree up to objstore and restoring it.

Each tool uses its Swift backend with v1 auth given through environment
variables, as their documentation tells users to: back up a tree of a few
hundred small files and one file larger than the segment size, list the
backup, restore it into an empty directory, compare byte for byte, then
remove everything the tool wrote, leaving no container or segment behind.
"""
import os
import random
import shutil
import subprocess

import pytest

from objstore.aio.cluster import USERS
from tests.functional.s3_clients import s3_client

SEGMENT_SIZE = 1024 * 1024
USER = "test:tester"


def missing(tool):
    return pytest.mark.skipif(shutil.which(tool) is None,
                              reason="%s is not installed (apt-get install %s; .ci/run does)"
                                     % (tool, tool))


def duplicity_lacks_swiftclient():
    """True when the Python duplicity runs on cannot import python-swiftclient."""
    path = shutil.which("duplicity")
    if path is None:
        return False
    with open(path, "rb") as script:
        interpreter = script.readline()[2:].decode().split()
    probe = subprocess.run(interpreter + ["-c", "import swiftclient"], capture_output=True)
    return probe.returncode != 0


@pytest.fixture
def tree(tmp_path):
    """A source tree: 200 small files in nested directories and one 2.5 MiB file."""
    source = tmp_path / "source"
    rand = random.Random(9)
    for index in range(200):
        folder = source / ("dir%d" % (index % 7)) / ("sub%d" % (index % 3))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ("file %03d.txt" % index)).write_bytes(
            rand.randbytes(rand.randrange(0, 4096)))
    (source / "caf\u00e9 notes.md").write_text("unicode name\n")
    (source / "large.bin").write_bytes(rand.randbytes(SEGMENT_SIZE * 5 // 2))
    return source


def files_of(root):
    """{relative path: bytes} of every regular file under ``root``."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, root)] = handle.read()
    return found


def tool_env(extra):
    """The environment without the caller's own cloud credentials, plus ``extra``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OS_", "ST_", "SWIFT", "RCLONE_", "RESTIC_"))}
    env.update(extra)
    return env


def run(args, env, cwd=None):
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, "%s failed:\n%s\n%s" % (args, result.stdout, result.stderr)
    return result.stdout


def containers_named(conn, container):
    """The account's containers that belong to ``container`` (itself, its segments)."""
    return [c["name"] for c in conn.get_account()[1] if c["name"].startswith(container)]


@missing("restic")
def test_restic(cluster, conn, swift, tree, tmp_path, unique):
    container = unique("restic")
    env = tool_env({"ST_AUTH": cluster.auth_url, "ST_USER": USER, "ST_KEY": USERS[USER],
                    "RESTIC_REPOSITORY": "swift:%s:/" % container,
                    "RESTIC_PASSWORD": "correct horse", "RESTIC_CACHE_DIR": str(tmp_path / "c"),
                    "HOME": str(tmp_path)})
    run(["restic", "init"], env)
    run(["restic", "backup", "--quiet", "."], env, cwd=str(tree))
    listed = run(["restic", "ls", "latest"], env).splitlines()
    assert "/large.bin" in listed and "/dir3/sub1/file 199.txt" in listed
    run(["restic", "restore", "latest", "--target", str(tmp_path / "back")], env)
    assert files_of(tmp_path / "back") == files_of(tree)
    swift("delete", container)
    assert containers_named(conn, container) == []


@missing("rclone")
def test_rclone(cluster, conn, tree, tmp_path, unique):
    container = unique("rclone")
    env = tool_env({"ST_AUTH": cluster.auth_url, "ST_USER": USER, "ST_KEY": USERS[USER],
                    "RCLONE_CONFIG": str(tmp_path / "none.conf"),
                    "RCLONE_CONFIG_STORE_TYPE": "swift", "RCLONE_CONFIG_STORE_ENV_AUTH": "true",
                    "RCLONE_SWIFT_CHUNK_SIZE": "1M",
                    # many small files: more in flight keeps the test short
                    "RCLONE_TRANSFERS": "16", "RCLONE_CHECKERS": "16"})
    remote = "store:" + container
    run(["rclone", "copy", str(tree), remote], env)
    assert len(conn.get_container(container + "_segments")[1]) == 3
    listed = run(["rclone", "lsf", "-R", "--files-only", remote], env).splitlines()
    assert sorted(listed) == sorted(files_of(tree))
    run(["rclone", "copy", remote, str(tmp_path / "back")], env)
    assert files_of(tmp_path / "back") == files_of(tree)
    run(["rclone", "purge", remote], env)
    # rclone purge deletes the segments but not their container
    assert conn.get_container(container + "_segments")[1] == []
    run(["rclone", "rmdir", remote + "_segments"], env)
    assert containers_named(conn, container) == []


@missing("duplicity")
@pytest.mark.skipif(duplicity_lacks_swiftclient(),
                    reason="duplicity's Python lacks python-swiftclient "
                           "(apt-get install python3-swiftclient; .ci/run does)")
def test_duplicity(cluster, conn, swift, tree, tmp_path, unique):
    container = unique("duplicity")
    # duplicity's own connection reads SWIFT_*; the python-swiftclient service it
    # uses to check each volume's size reads the ST_* variables of v1 auth.
    env = tool_env({"SWIFT_AUTHURL": cluster.auth_url, "SWIFT_AUTHVERSION": "1",
                    "SWIFT_USERNAME": USER, "SWIFT_PASSWORD": USERS[USER],
                    "ST_AUTH": cluster.auth_url, "ST_USER": USER, "ST_KEY": USERS[USER],
                    "HOME": str(tmp_path)})
    common = ["--no-encryption", "--archive-dir", str(tmp_path / "archive"), "--name", "t"]
    url = "swift://" + container
    run(["duplicity", "full", *common, "--volsize", "1", str(tree), url], env)
    volumes = [o["name"] for o in conn.get_container(container)[1]]
    assert len([name for name in volumes if ".vol" in name]) >= 2
    listed = run(["duplicity", "list-current-files", *common, url], env)
    assert "large.bin" in listed and "dir3/sub1/file 199.txt" in listed
    run(["duplicity", "verify", *common, url, str(tree)], env)
    run(["duplicity", "restore", *common, url, str(tmp_path / "back")], env)
    assert files_of(tmp_path / "back") == files_of(tree)
    swift("delete", container)
    assert containers_named(conn, container) == []


# -- the same tools through their S3 backends (the s3api filter) --------------
# They sign with the access key test:tester and its tempauth key as secret.

def _keys(s3, bucket):
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


@missing("restic")
def test_restic_s3(cluster, tree, tmp_path, unique):
    bucket = unique("restic-s3")
    env = tool_env({"AWS_ACCESS_KEY_ID": USER, "AWS_SECRET_ACCESS_KEY": USERS[USER],
                    "AWS_DEFAULT_REGION": "us-east-1",
                    "RESTIC_REPOSITORY": "s3:%s/%s" % (cluster.proxy_url, bucket),
                    "RESTIC_PASSWORD": "correct horse", "RESTIC_CACHE_DIR": str(tmp_path / "c"),
                    "HOME": str(tmp_path)})
    run(["restic", "init"], env)
    run(["restic", "backup", "--quiet", "."], env, cwd=str(tree))
    (tree / "dir0" / "changed.txt").write_bytes(b"second snapshot")
    run(["restic", "backup", "--quiet", "."], env, cwd=str(tree))
    listed = run(["restic", "ls", "latest"], env).splitlines()
    assert "/large.bin" in listed and "/dir0/changed.txt" in listed
    run(["restic", "restore", "latest", "--target", str(tmp_path / "back")], env)
    assert files_of(tmp_path / "back") == files_of(tree)
    s3 = s3_client(cluster, USER)
    snapshots_before = [k for k in _keys(s3, bucket) if k.startswith("snapshots/")]
    run(["restic", "forget", "--keep-last", "1", "--prune"], env)
    snapshots_after = [k for k in _keys(s3, bucket) if k.startswith("snapshots/")]
    assert len(snapshots_before) == 2 and len(snapshots_after) == 1
    run(["restic", "check"], env)


@missing("rclone")
def test_rclone_s3(cluster, tree, tmp_path, unique):
    bucket = unique("rclone-s3")
    env = tool_env({"RCLONE_CONFIG": str(tmp_path / "none.conf"),
                    "RCLONE_CONFIG_STORE_TYPE": "s3", "RCLONE_CONFIG_STORE_PROVIDER": "Other",
                    "RCLONE_CONFIG_STORE_ACCESS_KEY_ID": USER,
                    "RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY": USERS[USER],
                    "RCLONE_CONFIG_STORE_ENDPOINT": cluster.proxy_url,
                    "RCLONE_CONFIG_STORE_REGION": "us-east-1",
                    "RCLONE_TRANSFERS": "16", "RCLONE_CHECKERS": "16"})
    # rclone's S3 client refuses a CA bundle setting on its own HTTP transport
    env = {key: value for key, value in env.items() if not key.startswith("AWS_")}
    remote = "store:" + bucket
    run(["rclone", "mkdir", remote], env)
    run(["rclone", "copy", str(tree), remote], env)
    listed = run(["rclone", "lsf", "-R", "--files-only", remote], env).splitlines()
    assert sorted(listed) == sorted(files_of(tree))
    run(["rclone", "check", str(tree), remote], env)
    run(["rclone", "copy", remote, str(tmp_path / "back")], env)
    assert files_of(tmp_path / "back") == files_of(tree)
    run(["rclone", "purge", remote], env)
    s3 = s3_client(cluster, USER)
    assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
