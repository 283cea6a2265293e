"""Run a real OpenStack Swift cluster on loopback as the benchmark's peer.

objstore claims to be a Swift-compatible store; the honest way to judge its
speed is to run real Swift on the same machine, shaped like objstore's
all-in-one cluster (4 nodes, 3 replicas, part power 10), and drive both with
the same client.  This module builds that Swift cluster from scratch in a
data directory: configs (our own templates below), rings (built with the
peer virtualenv's ``swift-ring-builder``), one account, container and object
server per node and one proxy, each a subprocess of the virtualenv's own
console scripts.

objstore never imports Swift: Swift lives in its own virtualenv (default
``/opt/swiftpeer``, override with ``SWIFT_PEER_VENV`` or ``--venv``) and is
only ever run as separate processes.  When the virtualenv is missing it is
created with ``python3 -m venv`` and ``pip install swift``.

Usage as a script::

    python3 bench/swift_peer.py --check          # start, smoke-test, stop
    python3 bench/swift_peer.py --serve          # start and wait for Ctrl-C
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

DEFAULT_VENV = os.environ.get("SWIFT_PEER_VENV", "/opt/swiftpeer")
# Pinned so numbers from different machines compare; override with
# SWIFT_PEER_SPEC (any pip requirement string).
DEFAULT_SWIFT_SPEC = os.environ.get("SWIFT_PEER_SPEC", "swift==2.38.3")
SERVER_KINDS = ("account", "container", "object")
USER, KEY = "test:tester", "testing"
LOOPBACK = "127.0.0.1"


def ensure_venv(venv: str = DEFAULT_VENV, spec: str = DEFAULT_SWIFT_SPEC) -> Path:
    """Return the peer virtualenv's bin dir, creating the venv when missing.

    Creating it needs network access to PyPI once; afterwards it is reused.
    """
    bin_dir = Path(venv) / "bin"
    if (bin_dir / "swift-proxy-server").exists():
        return bin_dir
    print(f"swift_peer: creating virtualenv {venv} and installing {spec}",
          file=sys.stderr)
    if not (bin_dir / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q",
                    "--upgrade", "pip"], check=True)
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q",
                    spec], check=True)
    if not (bin_dir / "swift-proxy-server").exists():
        raise RuntimeError(f"{spec} installed into {venv} but "
                           "swift-proxy-server is missing")
    return bin_dir


def free_ports(count: int) -> list[int]:
    """Reserve `count` distinct free loopback ports (bound together, then freed).

    There is a small window in which another program could grab one; the
    servers would then fail to bind and start() reports it.
    """
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


# ---------------------------------------------------------------- config text

SWIFT_CONF = """\
# Written by bench/swift_peer.py for a throw-away benchmark cluster.
[swift-hash]
swift_hash_path_prefix = {prefix}
swift_hash_path_suffix = {suffix}

[storage-policy:0]
name = replicated-3
default = yes
"""

# Options shared by every server: loopback only, no privilege drop to a
# "swift" user that does not exist here, plain directories as devices.
COMMON_DEFAULTS = """\
[DEFAULT]
bind_ip = {ip}
bind_port = {port}
workers = {workers}
user = {user}
swift_dir = {swift_dir}
log_name = {log_name}
log_level = {log_level}
"""

STORAGE_SERVER_CONF = COMMON_DEFAULTS + """\
devices = {devices}
mount_check = false
disable_fallocate = false

[pipeline:main]
pipeline = {kind}-server

[app:{kind}-server]
use = egg:swift#{kind}
"""

PROXY_CONF = COMMON_DEFAULTS + """\

[pipeline:main]
pipeline = {pipeline}

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = {memcache_servers}
# Generous pool and timeouts: on a loaded machine the defaults (2
# connections, sub-second timeouts) turn a slow token lookup into a 401,
# which would measure the benchmark's setup rather than Swift.
memcache_max_connections = 64
connect_timeout = 2.0
pool_timeout = 10.0
io_timeout = 10.0

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
{fernet_lines}
"""


@dataclass
class NodePorts:
    """The three storage-server ports of one node."""
    account: int
    container: int
    object: int

    def port_for(self, kind: str) -> int:
        return getattr(self, kind)


@dataclass
class SwiftPeer:
    """A whole Swift cluster on loopback, started and stopped as one thing.

    `workers` is each server's ``workers`` option (Swift forks that many
    worker processes under a parent); `memcache` is "auto" (run memcached
    if the binary exists), "yes" (require it) or "no" (drop the cache
    filter and let tempauth issue self-contained Fernet tokens, so Swift
    then re-reads account/container info from the backend on every request).
    """
    data_dir: Path
    nodes: int = 4
    replicas: int = 3
    part_power: int = 10
    workers: int = 1
    proxy_workers: Optional[int] = None
    memcache: str = "auto"
    venv: str = DEFAULT_VENV
    log_level: str = "INFO"
    processes: dict = field(default_factory=dict)
    proxy_port: int = 0
    memcached_used: bool = False

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.etc_dir = self.data_dir / "etc"
        self.log_dir = self.data_dir / "logs"
        self._log_files = []

    # ------------------------------------------------------------ properties
    @property
    def auth_url(self) -> str:
        return f"http://{LOOPBACK}:{self.proxy_port}/auth/v1.0"

    @property
    def user(self) -> str:
        return USER

    @property
    def key(self) -> str:
        return KEY

    def describe(self) -> dict:
        """What was run, for the results file."""
        return {
            "software": "openstack-swift",
            "version": self.swift_version(),
            "nodes": self.nodes, "replicas": self.replicas,
            "part_power": self.part_power,
            "storage_server_workers": self.workers,
            "proxy_workers": self._proxy_workers(),
            "memcached": self.memcached_used,
            "log_level": self.log_level,
        }

    def swift_version(self) -> str:
        python = Path(self.venv) / "bin" / "python"
        try:
            out = subprocess.run(
                [str(python), "-c", "import swift; print(swift.__version__)"],
                capture_output=True, text=True, timeout=60, check=True)
            return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "unknown"

    def _proxy_workers(self) -> int:
        return self.workers if self.proxy_workers is None else self.proxy_workers

    # ------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 60.0) -> None:
        """Write configs and rings, start every server, wait for health."""
        bin_dir = ensure_venv(self.venv)
        for sub in (self.etc_dir, self.log_dir):
            sub.mkdir(parents=True, exist_ok=True)
        memcached_bin = shutil.which("memcached")
        if self.memcache == "yes" and not memcached_bin:
            raise RuntimeError("memcache=yes but no memcached binary on PATH "
                               "(apt-get install memcached)")
        use_memcached = self.memcache != "no" and memcached_bin is not None
        ports = free_ports(self.nodes * len(SERVER_KINDS) + 2)
        self.proxy_port, memcached_port = ports[0], ports[1]
        node_ports = [NodePorts(*ports[2 + 3 * i: 5 + 3 * i])
                      for i in range(self.nodes)]
        try:
            self._write_swift_conf()
            self._build_rings(bin_dir, node_ports)
            if use_memcached:
                self._start_memcached(memcached_bin, memcached_port)
            self.memcached_used = use_memcached
            for index, ports_of_node in enumerate(node_ports, start=1):
                for kind in SERVER_KINDS:
                    conf = self._write_storage_conf(index, kind,
                                                    ports_of_node.port_for(kind))
                    self._spawn(f"{kind}-{index}",
                                [str(bin_dir / f"swift-{kind}-server"),
                                 str(conf), "-v"])
            proxy_conf = self._write_proxy_conf(
                memcached_port if use_memcached else None)
            self._spawn("proxy", [str(bin_dir / "swift-proxy-server"),
                                  str(proxy_conf), "-v"])
            deadline = time.monotonic() + timeout
            for index, ports_of_node in enumerate(node_ports, start=1):
                for kind in SERVER_KINDS:
                    self._wait_listening(ports_of_node.port_for(kind),
                                         f"{kind}-{index}", deadline)
            self._wait_healthcheck(deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process this peer started (their whole process groups)."""
        for name, proc in list(self.processes.items()):
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for name, proc in list(self.processes.items()):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            # Workers may outlive a parent that died first; sweep the group.
            _signal_group(proc, signal.SIGKILL)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                print(f"swift_peer: {name} (pid {proc.pid}) did not exit",
                      file=sys.stderr)
        self.processes.clear()
        for handle in self._log_files:
            handle.close()
        self._log_files.clear()

    def pids(self) -> list[int]:
        """Parent pids of every running server (workers are their children)."""
        return [proc.pid for proc in self.processes.values()
                if proc.poll() is None]

    def __enter__(self) -> "SwiftPeer":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ------------------------------------------------------------ internals
    def _write_swift_conf(self) -> None:
        (self.etc_dir / "swift.conf").write_text(SWIFT_CONF.format(
            prefix=secrets.token_hex(8), suffix=secrets.token_hex(8)))

    def _build_rings(self, bin_dir: Path, node_ports: list[NodePorts]) -> None:
        builder_cli = str(bin_dir / "swift-ring-builder")
        for kind in SERVER_KINDS:
            builder = str(self.etc_dir / f"{kind}.builder")
            _run([builder_cli, builder, "create", str(self.part_power),
                  str(self.replicas), "1"])
            for index, ports_of_node in enumerate(node_ports, start=1):
                _run([builder_cli, builder, "add", "--region", "1",
                      "--zone", str(index), "--ip", LOOPBACK,
                      "--port", str(ports_of_node.port_for(kind)),
                      "--device", f"d{index}", "--weight", "100"])
            _run([builder_cli, builder, "rebalance"], ok_codes=(0, 1))
            if not (self.etc_dir / f"{kind}.ring.gz").exists():
                raise RuntimeError(f"swift-ring-builder wrote no {kind} ring")

    def _devices_dir(self, index: int) -> Path:
        devices = self.data_dir / f"node{index}" / "devices"
        (devices / f"d{index}").mkdir(parents=True, exist_ok=True)
        return devices

    def _common_options(self, port: int, workers: int, log_name: str) -> dict:
        return dict(ip=LOOPBACK, port=port, workers=workers,
                    user=pwd.getpwuid(os.getuid()).pw_name,
                    swift_dir=self.etc_dir, log_name=log_name,
                    log_level=self.log_level)

    def _write_storage_conf(self, index: int, kind: str, port: int) -> Path:
        conf = self.etc_dir / f"{kind}-server-{index}.conf"
        conf.write_text(STORAGE_SERVER_CONF.format(
            kind=kind, devices=self._devices_dir(index),
            **self._common_options(port, self.workers, f"{kind}-{index}")))
        return conf

    def _write_proxy_conf(self, memcached_port: Optional[int]) -> Path:
        pipeline = ["catch_errors", "healthcheck", "proxy-logging", "cache",
                    "tempauth", "proxy-server"]
        if memcached_port is None:
            # Without memcached tempauth cannot store tokens; Fernet tokens
            # carry the user's groups inside the token instead.
            pipeline.remove("cache")
            fernet_lines = ("fernet_key_bench = " + _fernet_key() +
                            "\nactive_fernet_key_id = bench\n")
            memcache_servers = f"{LOOPBACK}:1"  # unused: filter not in pipeline
        else:
            fernet_lines = ""
            memcache_servers = f"{LOOPBACK}:{memcached_port}"
        conf = self.etc_dir / "proxy-server.conf"
        conf.write_text(PROXY_CONF.format(
            pipeline=" ".join(pipeline), memcache_servers=memcache_servers,
            fernet_lines=fernet_lines,
            **self._common_options(self.proxy_port, self._proxy_workers(),
                                   "proxy-server")))
        return conf

    def _start_memcached(self, binary: str, port: int) -> None:
        # -U 0: no UDP; -l: loopback only; 64 MiB is plenty for tokens/info.
        args = [binary, "-l", LOOPBACK, "-p", str(port), "-U", "0",
                "-m", "64", "-t", "1"]
        if os.getuid() == 0:
            args += ["-u", "root"]
        self._spawn("memcached", args)
        self._wait_listening(port, "memcached", time.monotonic() + 10)

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        self._log_files.append(log)
        # A new session per server so stop() can signal the parent and the
        # workers it forks as one process group, by that group's id.
        self.processes[name] = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, cwd=self.data_dir)

    def _check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                tail = _tail(self.log_dir / f"{name}.log")
                raise RuntimeError(f"swift {name} exited with {proc.returncode};"
                                   f" log tail:\n{tail}")

    def _wait_listening(self, port: int, name: str, deadline: float) -> None:
        while True:
            self._check_alive()
            try:
                socket.create_connection((LOOPBACK, port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"swift {name} not listening on {port}")
                time.sleep(0.1)

    def _wait_healthcheck(self, deadline: float) -> None:
        while True:
            self._check_alive()
            try:
                conn = http.client.HTTPConnection(LOOPBACK, self.proxy_port,
                                                  timeout=2)
                conn.request("GET", "/healthcheck")
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200 and body.strip() == b"OK":
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("swift proxy /healthcheck never answered OK")
            time.sleep(0.1)


def _fernet_key() -> str:
    """A fresh Fernet key: 32 random bytes in urlsafe base64."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _run(argv: list[str], ok_codes: tuple = (0,)) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n"
                           f"{result.stdout}{result.stderr}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def smoke_test(peer: SwiftPeer) -> None:
    """Authenticate, PUT/GET/DELETE one object: proves the peer really works."""
    from urllib.parse import urlsplit
    parts = urlsplit(peer.auth_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.request("GET", parts.path, headers={"X-Auth-User": peer.user,
                                             "X-Auth-Key": peer.key})
    resp = conn.getresponse()
    resp.read()
    if resp.status // 100 != 2:
        raise RuntimeError(f"auth failed: {resp.status}")
    token = resp.getheader("X-Auth-Token")
    storage_path = urlsplit(resp.getheader("X-Storage-Url")).path
    steps = [("PUT", "/smoke", b"", 201), ("PUT", "/smoke/o", b"hello", 201),
             ("GET", "/smoke/o", b"", 200), ("DELETE", "/smoke/o", b"", 204),
             ("DELETE", "/smoke", b"", 204)]
    for method, path, body, expected in steps:
        conn.request(method, storage_path + path, body=body,
                     headers={"X-Auth-Token": token})
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != expected:
            raise RuntimeError(f"{method} {path}: {resp.status} {data[:200]!r}")
        if method == "GET" and data != b"hello":
            raise RuntimeError(f"GET returned {data!r}")
    conn.close()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="start, run a smoke test, stop (default)")
    mode.add_argument("--serve", action="store_true",
                      help="start and keep running until Ctrl-C/SIGTERM")
    parser.add_argument("--data-dir", help="default: a new temp dir, removed "
                        "afterwards")
    parser.add_argument("--venv", default=DEFAULT_VENV)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--memcache", choices=("auto", "yes", "no"),
                        default="auto")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="swiftpeer-")
    peer = SwiftPeer(Path(data_dir), workers=args.workers,
                     memcache=args.memcache, venv=args.venv)
    started = time.monotonic()
    try:
        peer.start()
        print(f"swift peer up in {time.monotonic() - started:.1f}s: "
              f"{peer.auth_url} user={peer.user} key={peer.key} "
              f"memcached={peer.memcached_used} data={data_dir}")
        if args.serve:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        else:
            smoke_test(peer)
            print("smoke test OK")
    finally:
        peer.stop()
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
