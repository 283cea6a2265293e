"""An in-process cluster for proxy tests: 4 nodes × (object, container, account) servers.

Every server is a real app from objstore on a green listener on 127.0.0.1:0;
the rings (part power 6, 3 replicas, 4 devices in 4 zones) point at them.
A node can be stopped (its port refuses connections) and started again on the
same port, which is how the tests take replicas down.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile

import pytest

from objstore.account.server import app_factory as account_factory
from objstore.common.cluster_config import ClusterConfig
from objstore.common.concurrency import green_listen, kill, sleep, spawn
from objstore.common.http_protocol import serve_http
from objstore.container.server import app_factory as container_factory
from objstore.obj.server import ObjectServer
from objstore.proxy.server import ProxyApp
from objstore.proxy.settings import ProxyConfig
from objstore.ring.builder import RingBuilder


class ServerSlot:
    """One storage server listening on a fixed loopback port; can go down and up."""

    def __init__(self, app):
        self.app = app
        self.requests: list[tuple[str, str, dict]] = []
        self.sock = green_listen(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = None
        self._serve()

    def _recording_app(self, environ, start_response):
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                   if k.startswith("HTTP_")}
        for key in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            if environ.get(key):
                headers[key.replace("_", "-").title()] = environ[key]
        self.requests.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], headers))
        return self.app(environ, start_response)

    def _serve(self):
        self.thread = spawn(serve_http, self.sock, self._recording_app, client_timeout=5,
                            keepalive=False)

    def stop(self):
        if self.thread is not None:
            kill(self.thread)
            self.thread = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        sleep(0)

    def start(self):
        if self.sock is None:
            self.sock = green_listen(("127.0.0.1", self.port))
            self._serve()


class Node:
    def __init__(self, root, index, cluster_config):
        self.index = index
        self.device = "sd%d" % index
        self.devices = os.path.join(root, "node%d" % index)
        os.makedirs(os.path.join(self.devices, self.device))
        conf = {"devices": self.devices, "mount_check": "false"}
        self.object = ServerSlot(ObjectServer(cluster_config, conf))
        self.container = ServerSlot(container_factory(cluster_config, {}, **conf))
        self.account = ServerSlot(account_factory(cluster_config, {}, **conf))

    def slots(self):
        return (self.object, self.container, self.account)

    def stop(self):
        for slot in self.slots():
            slot.stop()

    def start(self):
        for slot in self.slots():
            slot.start()

    def object_files(self, data_dir="objects"):
        found = []
        for dirpath, _dirs, files in os.walk(os.path.join(self.devices, self.device, data_dir)):
            found.extend(os.path.join(dirpath, f) for f in files if f.endswith(".data"))
        return found


class LogCapture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    def text(self):
        return "\n".join(self.lines)


class Cluster:
    """``cluster_config`` (optional, the test salt and one policy by default) goes to every
    server and the proxy; each policy's object ring gets ``policy_replicas[index]``
    replicas (3 by default)."""

    def __init__(self, root, cluster_config=None, policy_replicas=None, **proxy_options):
        self.root = root
        self.config = cluster_config or ClusterConfig.build("test-prefix", "test-suffix")
        self.nodes = [Node(root, i, self.config) for i in range(4)]
        self.swift_dir = os.path.join(root, "rings")
        os.makedirs(self.swift_dir)
        rings = [("object", "object", 3), ("container", "container", 3),
                 ("account", "account", 3)]
        for policy in self.config.policies:
            if policy.index:
                rings.append((policy.ring_name, "object",
                              (policy_replicas or {}).get(policy.index, 3)))
        for ring_name, attr, replicas in rings:
            builder = RingBuilder(6, replicas, 0)
            for node in self.nodes:
                builder.add_dev({"ip": "127.0.0.1", "port": getattr(node, attr).port,
                                 "device": node.device, "zone": node.index + 1,
                                 "region": 1, "weight": 100})
            builder.rebalance(seed=7)
            builder.write_ring(os.path.join(self.swift_dir, ring_name + ".ring.gz"))
        self.log = LogCapture()
        self.logger = logging.getLogger("objstore.test-proxy.%s" % id(self))
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.logger.addHandler(self.log)
        self.proxy = self.make_proxy(**proxy_options)

    def make_proxy(self, cluster_config=None, **options):
        """A proxy on these nodes; ``cluster_config`` gives it other limits or policies."""
        raw = {"swift_dir": self.swift_dir, "node_timeout": "5", "conn_timeout": "0.5",
               "client_timeout": "2", "sorting_method": "none"}
        raw.update({k: str(v) for k, v in options.items()})
        return ProxyApp(cluster_config or self.config, ProxyConfig.from_section(raw),
                        logger=self.logger)

    def node_for(self, node_dict):
        for node in self.nodes:
            if node.device == node_dict["device"]:
                return node
        raise KeyError(node_dict)

    def close(self):
        for node in self.nodes:
            node.stop()


def _fast_root(tmp_path) -> str:
    """Cluster data on tmpfs when there is one: the tests measure the proxy, not fsync."""
    shm = "/dev/shm"
    if os.path.isdir(shm) and os.access(shm, os.W_OK):
        return tempfile.mkdtemp(prefix="objstore-proxy-test-", dir=shm)
    os.makedirs(tmp_path, exist_ok=True)
    return tempfile.mkdtemp(dir=tmp_path)


@pytest.fixture
def cluster(tmp_path):
    root = _fast_root(tmp_path)
    built = Cluster(root)
    yield built
    built.close()
    if root != str(tmp_path):
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def make_cluster(tmp_path):
    """make_cluster(cluster_config=..., policy_replicas=..., **proxy_options) -> Cluster."""
    built = []

    def _make(cluster_config=None, **kwargs):
        root = _fast_root(tmp_path)
        built.append((Cluster(root, cluster_config, **kwargs), root))
        return built[-1][0]
    yield _make
    for cluster, root in built:
        cluster.close()
        if root != str(tmp_path):
            shutil.rmtree(root, ignore_errors=True)
