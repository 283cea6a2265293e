"""A real cluster for the whole functional session: 4 nodes, 3 replicas, loopback ports.

Every test talks to it over HTTP exactly as a user would (the ``swift`` CLI,
python-swiftclient, raw http.client).  Tests that need a clean slate use their
own container names (``unique``) instead of a new cluster.  Helpers are
fixtures so the test modules import nothing from here.
"""
import hashlib
import http.client
import os
import subprocess
import sys
import uuid
from urllib.parse import urlparse

import pytest
from swiftclient import client as swift_client

from objstore.aio.cluster import USERS, Cluster
from tests.functional import s3_clients


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running; runs only with OBJSTORE_SLOW=1")


def pytest_collection_modifyitems(session, config, items):
    """Node-failure tests last: the proxy remembers a stopped node for a while."""
    items.sort(key=lambda item: "test_failures" in item.nodeid)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("aio")
    aio = Cluster(str(data_dir), port=0, say=lambda message: print("objstore-aio:", message))
    aio.start()
    try:
        yield aio
    finally:
        aio.stop()


# What carries object counts and bytes up to the accounts: the async
# pendings into container listings, then each container's totals into its account.
USAGE_DAEMONS = ("object-updater", "container-updater")


@pytest.fixture
def settle_usage(cluster):
    """settle_usage(): one pass of the updaters, so account totals are exact.

    A whole ``run_daemons_once()`` also walks every partition with the
    replicators and reads every stored byte with the auditors: late in the
    session that took most of a minute (load 15), and none of it changes a count.
    """
    return lambda: cluster.run_daemons_once(kinds=USAGE_DAEMONS)


@pytest.fixture
def expire_due(cluster):
    """expire_due(): the updaters, then the expirers (last, as run_daemons_once orders them)."""
    return lambda: cluster.run_daemons_once(kinds=USAGE_DAEMONS + ("object-expirer",))


@pytest.fixture
def unique():
    """A fresh name per call, so tests never see each other's containers."""
    return lambda prefix="c": "%s-%s" % (prefix, uuid.uuid4().hex[:10])


@pytest.fixture
def connect(cluster):
    """connect(user) -> a python-swiftclient Connection for one of the aio's users."""
    opened = []

    def _connect(user="test:tester", key=None):
        connection = swift_client.Connection(authurl=cluster.auth_url, user=user,
                                             key=key or USERS[user], retries=0, timeout=30)
        opened.append(connection)
        return connection
    yield _connect
    for connection in opened:
        connection.close()


@pytest.fixture
def conn(connect):
    return connect()


@pytest.fixture
def swift(cluster):
    """swift(*args, user=..., stdin=..., check=True) runs the real ``swift`` CLI."""
    return lambda *args, **kwargs: _swift_cli(cluster, *args, **kwargs)


@pytest.fixture
def swift_stat(swift):
    """swift_stat(*args, user=...) -> ``swift stat`` output as {field: value}."""
    def _stat(*args, **kwargs):
        fields = {}
        for line in swift("stat", *args, **kwargs).stdout.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        return fields
    return _stat


@pytest.fixture
def file_md5():
    """file_md5(path) -> hex MD5 of a local file, read in 1 MiB pieces."""
    def _md5(path):
        digest = hashlib.md5()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
    return _md5


@pytest.fixture
def write_random_file():
    """write_random_file(path, size): ``size`` random bytes, never all in memory."""
    def _write(path, size):
        with open(path, "wb") as handle:
            left = size
            while left:
                chunk = os.urandom(min(left, 4 << 20))
                handle.write(chunk)
                left -= len(chunk)
    return _write


def _swift_cli(cluster, *args, user="test:tester", stdin=None, check=True, cwd=None):
    """Run the real ``swift`` command line client; return the CompletedProcess (text output)."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("OS_", "ST_", "SWIFT"))}
    env.update(ST_AUTH=cluster.auth_url, ST_USER=user, ST_KEY=USERS[user])
    result = subprocess.run([sys.executable, "-m", "swiftclient.shell", *args], env=env,
                            stdin=stdin if stdin is not None else subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=300, cwd=cwd)
    if check and result.returncode != 0:
        raise AssertionError("swift %s failed (%d):\nstdout: %s\nstderr: %s" % (
            " ".join(args), result.returncode, result.stdout, result.stderr))
    return result


@pytest.fixture
def object_files(cluster):
    """object_files(account, container, obj, ending=".data", policy=0) -> [(device dir, path)].

    The hash is computed here from objstore.conf's salt exactly as DESIGN.md
    describes the on-disk layout (md5 of prefix + /a/c/o + suffix, under
    ``objects`` for policy 0 and ``objects-<index>`` otherwise), so the tests
    check the layout independently of the code that writes it.
    """
    prefix, suffix = cluster.hash_path_salt()

    def _find(account, container, obj, ending=".data", policy=0):
        path = ("/%s/%s/%s" % (account, container, obj)).encode("utf-8")
        name_hash = hashlib.md5(prefix.encode() + path + suffix.encode()).hexdigest()
        found = []
        for device in cluster.devices():
            objects_dir = os.path.join(device, "objects-%d" % policy if policy else "objects")
            if not os.path.isdir(objects_dir):
                continue
            for part in os.listdir(objects_dir):
                hash_dir = os.path.join(objects_dir, part, name_hash[-3:], name_hash)
                if os.path.isdir(hash_dir):
                    found.extend((device, os.path.join(hash_dir, name))
                                 for name in os.listdir(hash_dir) if name.endswith(ending))
        return found
    return _find


class Http:
    """Raw requests to the storage URL of one user (no client-side retries or parsing)."""

    def __init__(self, storage_url, token):
        self.url = urlparse(storage_url)
        self.token = token

    def request(self, method, path="", body=None, headers=None, token=True):
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=60)
        all_headers = {"X-Auth-Token": self.token} if token else {}
        all_headers.update(headers or {})
        try:
            conn.request(method, self.url.path + path, body=body, headers=all_headers)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()


@pytest.fixture
def anonymous(cluster):
    """anonymous(method, path, body=None, headers=None) -> (status, headers, body), no token.

    ``path`` is sent as is (query string included), as a browser or a
    link holder would send it.
    """
    def _request(method, path, body=None, headers=None):
        url = urlparse(cluster.proxy_url)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()
    return _request


@pytest.fixture
def http_as(connect):
    """http_as(user) -> raw HTTP requests (``Http``) to that user's storage URL."""
    def _http(user="test:tester"):
        url, token = connect(user).get_auth()
        return Http(url, token)
    return _http


@pytest.fixture
def s3(cluster):
    """A boto3 S3 client for test:tester (path-style, no retries)."""
    return s3_clients.s3_client(cluster)


@pytest.fixture
def bucket(s3):
    """A fresh bucket, emptied and deleted afterwards."""
    name = "b-%s" % uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=name)
    yield name
    s3_clients.empty_and_delete(s3, name)
