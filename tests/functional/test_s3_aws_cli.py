"""The aws CLI's ``s3`` commands against the cluster: cp (multipart), sync both ways, ls, rm.

The CLI runs as ``python -m awscli`` from the test's own interpreter (.ci/run
installs it).  The multipart copy moves a 12 MiB file in 5 MiB parts by
default; OBJSTORE_SLOW=1 makes it the 100 MiB file of the issue, in the
CLI's default 8 MiB parts.
"""
import hashlib
import os
import subprocess
import sys

import pytest

from objstore.aio.cluster import USERS
from tests.functional.s3_clients import s3_client

try:
    import awscli  # noqa: F401  (only to know whether the CLI can run)
    HAVE_AWSCLI = True
except ImportError:
    HAVE_AWSCLI = False

pytestmark = pytest.mark.skipif(not HAVE_AWSCLI, reason="the aws CLI is not installed "
                                                        "(pip install awscli; .ci/run does)")
MIB = 1024 * 1024
SLOW = os.environ.get("OBJSTORE_SLOW") == "1"
BIG_SIZE = 100 * MIB if SLOW else 12 * MIB


@pytest.fixture
def aws(cluster, tmp_path):
    """aws(*args) runs ``aws --endpoint-url <proxy> ...`` and returns its stdout."""
    config = tmp_path / "aws-config"
    lines = ["[default]", "region = us-east-1", "s3 =", "    addressing_style = path"]
    if not SLOW:
        lines += ["    multipart_threshold = 5MB", "    multipart_chunksize = 5MB"]
    config.write_text("\n".join(lines) + "\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": "test:tester",
                "AWS_SECRET_ACCESS_KEY": USERS["test:tester"],
                "AWS_CONFIG_FILE": str(config),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
                "HOME": str(tmp_path)})

    def run(*args):
        done = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url",
                               cluster.proxy_url, *args], env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, "aws %s: %s%s" % (" ".join(args), done.stdout,
                                                       done.stderr)
        return done.stdout
    return run


def _digest(path):
    md5 = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(MIB), b""):
            md5.update(block)
    return md5.hexdigest()


def _tree(root):
    """{relative path: md5} of every file under root."""
    found = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root)] = _digest(path)
    return found


def test_aws_cli_cp_multipart_sync_ls_rm(cluster, aws, tmp_path, unique, conn):
    bucket = unique("awscli")
    aws("s3", "mb", "s3://" + bucket)
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        for index in range(BIG_SIZE // MIB):
            handle.write(hashlib.sha256(b"%d" % index).digest() * (MIB // 32))
    aws("s3", "cp", str(big), "s3://%s/big.bin" % bucket)
    head = s3_client(cluster).head_object(Bucket=bucket, Key="big.bin")
    parts = -(-BIG_SIZE // ((8 if SLOW else 5) * MIB))
    assert head["ETag"].endswith('-%d"' % parts) and head["ContentLength"] == BIG_SIZE
    aws("s3", "cp", "s3://%s/big.bin" % bucket, str(tmp_path / "back.bin"))
    assert _digest(tmp_path / "back.bin") == _digest(big)

    tree = tmp_path / "tree"
    for name, data in (("a.txt", b"alpha"), ("sub/b.txt", b"beta" * 1000),
                       ("sub/deep/c.bin", os.urandom(70000)), ("name with space.txt", b"s")):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    aws("s3", "sync", str(tree), "s3://%s/tree/" % bucket)
    listed = aws("s3", "ls", "--recursive", "s3://%s/" % bucket)
    keys = sorted(line.split(None, 3)[3] for line in listed.splitlines())
    assert keys == sorted(["big.bin"] + ["tree/" + name for name in _tree(tree)])
    assert "PRE tree/" in aws("s3", "ls", "s3://%s/" % bucket)

    back = tmp_path / "tree-back"
    aws("s3", "sync", "s3://%s/tree/" % bucket, str(back))
    assert _tree(back) == _tree(tree)
    (tree / "a.txt").write_bytes(b"alpha, changed")
    out = aws("s3", "sync", str(tree), "s3://%s/tree/" % bucket)
    assert out.count("upload:") == 1 and "a.txt" in out
    aws("s3", "sync", "s3://%s/tree/" % bucket, str(back))
    assert _tree(back) == _tree(tree)

    aws("s3", "rm", "--recursive", "s3://%s/" % bucket)
    assert aws("s3", "ls", "--recursive", "s3://%s/" % bucket).strip() == ""
    segments = conn.get_container(bucket + "+segments", full_listing=True)[1]
    assert segments == []
    aws("s3", "rb", "s3://" + bucket)
    assert bucket not in aws("s3", "ls")
