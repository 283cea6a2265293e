"""``Cluster``: a whole objstore cluster on one machine, as one Python object.

The functional and probe tests drive it directly; ``objstore-aio`` is a thin
command line around it.  Every server is a real ``objstore-server`` process
listening on loopback, so the tests exercise exactly what an operator runs.
"""
from __future__ import annotations

import http.client
import os
import socket
import ssl
import time
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Optional

from objstore.aio import supervisor as procs
from objstore.aio.layout import (DAEMONS_BY_KIND, DAEMONS_LAST, STORAGE_KINDS, Layout,
                                 LayoutError, ProcessSpec, assign_ports, port_is_free)
from objstore.aio.state import locked_state, read_state
from objstore.aio.templates import PROXY_PIPELINE
from objstore.aio.tls import TlsError, ensure_certificate, tls_files
from objstore.common.cluster_config import load_cluster_config
from objstore.common.config import ConfigError, read_ini
from objstore.common.config_check import check_server_config
from objstore.common.pipeline import APP_GROUP, DAEMON_GROUP, FILTER_GROUP, entry_point

# The tempauth users every aio has (the same as Swift's all-in-one).
USERS: Mapping[str, str] = MappingProxyType({
    "test:tester": "testing",
    "test:tester2": "testing2",
    "test:tester3": "testing3",
    "test2:tester2": "testing2",
    "test5:tester5": "testing5",
    "admin:admin": "admin",
})
APP_ENTRY_POINTS = MappingProxyType({"proxy": "proxy", "object": "object",
                                     "container": "container", "account": "account"})


class ClusterError(RuntimeError):
    """The cluster could not do what was asked; the message says why and where to look."""


def _quiet(message: str) -> None:
    """Default reporter: say nothing."""


class Cluster:
    """Build, start, inspect and stop the all-in-one cluster kept in ``data_dir``."""

    def __init__(self, data_dir: str, port: int = 0, nodes: int = 4, replicas: int = 3,
                 bind_ip: str = "127.0.0.1",
                 say: Optional[Callable[[str], None]] = None,
                 background_daemons: bool = True,
                 proxy_options: Optional[Mapping[str, str]] = None,
                 tls: bool = False) -> None:
        if nodes < 1:
            raise ClusterError("--nodes must be at least 1")
        if not 1 <= replicas <= nodes:
            raise ClusterError("--replicas must be between 1 and the number of nodes (%d)"
                               % nodes)
        self.layout = Layout(data_dir, nodes, bind_ip)
        self.requested_port = port
        self.replicas = replicas
        self.say = say or _quiet
        # False: updaters etc. run only when run_daemons_once() is called, so a
        # test decides exactly when the cluster heals.
        self.background_daemons = background_daemons
        # Set in [app:proxy-server] at every start (a test cluster that needs
        # an option off by default, e.g. allow_open_expired).
        self.proxy_options = dict(proxy_options or {})
        # The proxy serves HTTPS with a certificate from this cluster's own CA.
        self.tls = tls
        self.supervisor = procs.Supervisor()
        self.ports: dict[str, int] = {}
        self.skipped_daemons: list[str] = []
        self.dropped_filters: list[str] = []

    @classmethod
    def attach(cls, data_dir: str, say: Optional[Callable[[str], None]] = None) -> "Cluster":
        """The cluster recorded in ``data_dir`` (for status/stop/stop-node from elsewhere)."""
        layout = Layout(data_dir)
        state = read_state(layout.state_path)
        if not state.get("ports"):
            raise ClusterError("%s holds no objstore-aio cluster (no %s)"
                               % (layout.data_dir, layout.state_path))
        cluster = cls(data_dir, port=state["ports"].get("proxy-server", 0),
                      nodes=state.get("nodes", 4), replicas=state.get("replicas", 3),
                      bind_ip=state.get("bind_ip", "127.0.0.1"), say=say,
                      tls=state.get("tls", False))
        cluster.ports = dict(state["ports"])
        cluster.skipped_daemons = list(state.get("skipped_daemons", []))
        return cluster

    # -- what and where -------------------------------------------------------
    @property
    def data_dir(self) -> str:
        return self.layout.data_dir

    @property
    def logs_dir(self) -> str:
        return self.layout.logs_dir

    @property
    def proxy_port(self) -> int:
        return self.ports["proxy-server"]

    @property
    def proxy_url(self) -> str:
        host = "[%s]" % self.layout.bind_ip if ":" in self.layout.bind_ip else self.layout.bind_ip
        return "%s://%s:%d" % ("https" if self.tls else "http", host, self.proxy_port)

    @property
    def ca_file(self) -> Optional[str]:
        """The CA certificate HTTPS clients must trust (None without --tls)."""
        return tls_files(self.layout.tls_dir).ca_file if self.tls else None

    @property
    def auth_url(self) -> str:
        return self.proxy_url + "/auth/v1.0"

    @property
    def proxy_log(self) -> str:
        return self.layout.log_file("proxy-server")

    def devices(self) -> list[str]:
        """Every node's device directories, node 1 first."""
        return [self.layout.device_path(node) for node in range(1, self.layout.nodes + 1)]

    def node_devices(self, node: int) -> list[str]:
        return [self.layout.device_path(self._check_node(node))]

    def hash_path_salt(self) -> tuple[str, str]:
        """(prefix, suffix) from this cluster's objstore.conf, for tests that find files."""
        section = read_ini(self.layout.cluster_conf).get("hash", {})
        return section.get("hash_path_prefix", ""), section.get("hash_path_suffix", "")

    def specs(self) -> list[ProcessSpec]:
        return [spec for spec in self.layout.process_specs(self.ports)
                if spec.name not in self.skipped_daemons]

    def _startable_specs(self) -> list[ProcessSpec]:
        return [spec for spec in self.specs()
                if self.background_daemons or not spec.is_daemon]

    # -- whole cluster -----------------------------------------------------------
    def start(self, timeout: float = 120.0) -> "Cluster":
        """Build what is missing, start every process, return once the proxy is healthy."""
        self._refuse_if_running()
        self._check_installed()
        self._prepare()
        specs = self._startable_specs()
        pids = {spec.name: self.supervisor.spawn(spec) for spec in specs}
        with locked_state(self.layout.state_path) as state:
            state["pids"] = pids
            state["supervisor_pid"] = os.getpid()
        try:
            self._wait_ready(specs, timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every process (SIGTERM, a grace period, then SIGKILL); data stays."""
        # the proxy first so no request is half-served by a stopping backend
        specs = list(reversed(self.specs()))
        self._stop_specs(specs)
        with locked_state(self.layout.state_path) as state:
            if state.get("supervisor_pid") == os.getpid():
                state["supervisor_pid"] = None

    def status(self) -> list[dict[str, Any]]:
        """One row per process: name, node, kind, port, pid, up."""
        state = read_state(self.layout.state_path)
        rows = []
        for spec in self.specs():
            pid = state["pids"].get(spec.name)
            rows.append({"name": spec.name, "node": spec.node, "kind": spec.kind,
                         "port": spec.port, "pid": pid,
                         "up": procs.is_running(pid, spec)})
        return rows

    def supervisor_pid(self) -> Optional[int]:
        pid = read_state(self.layout.state_path).get("supervisor_pid")
        return pid if procs.is_our_supervisor(pid) else None

    def reap(self) -> list[str]:
        """Collect exited children; return the names of those that died unasked."""
        exited = self.supervisor.reap()
        if not exited:
            return []
        state = read_state(self.layout.state_path)
        names = []
        for name, pid in state["pids"].items():
            if pid in exited:
                names.append("%s (exit status %s; see %s)" % (
                    name, exited[pid], self.layout.log_file(name)))
        return names

    # -- one node ---------------------------------------------------------------
    def stop_node(self, node: int) -> None:
        """Stop every server and daemon of ``node`` (as if the machine went down)."""
        self._check_node(node)
        self._stop_specs([spec for spec in self.specs() if spec.node == node])

    def _stop_specs(self, specs: list[ProcessSpec]) -> None:
        # Forget the pids first: a supervisor reaping them meanwhile then knows
        # they were stopped on purpose, not crashed.
        with locked_state(self.layout.state_path) as state:
            pids = [state["pids"].get(spec.name) for spec in specs]
            for spec in specs:
                state["pids"][spec.name] = None
        self.supervisor.stop(pids, specs)

    def start_node(self, node: int, timeout: float = 60.0) -> None:
        """Start the servers and daemons of ``node`` that are not running."""
        self._check_node(node)
        state = read_state(self.layout.state_path)
        specs = [spec for spec in self._startable_specs() if spec.node == node
                 and not procs.is_running(state["pids"].get(spec.name), spec)]
        pids = {spec.name: self.supervisor.spawn(spec) for spec in specs}
        with locked_state(self.layout.state_path) as state:
            state["pids"].update(pids)
        self._wait_ready(specs, timeout)

    def run_daemons_once(self, timeout: float = 120.0,
                         kinds: Optional[Iterable[str]] = None) -> None:
        """One pass of every daemon of every running node, object daemons first.

        Objects' async updates reach the containers before the containers
        report to the accounts, so one call settles every count; the
        expirers run last, once the accounts list the queue's buckets.
        ``kinds`` (daemon names such as ``container-replicator``) limits the
        pass to those daemons.
        """
        state = read_state(self.layout.state_path)
        up_nodes = {spec.node for spec in self.specs()
                    if not spec.is_daemon and spec.node
                    and procs.is_running(state["pids"].get(spec.name), spec)}
        known = {daemon for names in DAEMONS_BY_KIND.values() for daemon in names}
        wanted = set(kinds) if kinds else known
        if wanted - known:
            raise ClusterError("no daemon named %s (daemons: %s)" % (
                ", ".join(sorted(wanted - known)), ", ".join(sorted(known))))
        daemons = [spec for spec in self.specs() if spec.is_daemon and spec.node in up_nodes
                   and spec.kind in wanted]
        ordered = [spec for kind in STORAGE_KINDS for spec in daemons
                   if spec.kind in DAEMONS_BY_KIND[kind]]
        ordered.sort(key=lambda spec: spec.kind in DAEMONS_LAST)  # stable: keeps the rest
        if not ordered:
            return
        log_file = self.layout.log_file("run-daemons")
        if procs.run_once(ordered, log_file, timeout) != 0:
            raise ClusterError("a daemon pass failed; see %s" % log_file)

    # -- internals ----------------------------------------------------------------
    def _check_node(self, node: int) -> int:
        if not 1 <= int(node) <= self.layout.nodes:
            raise ClusterError("there is no node %s (nodes are 1..%d)" % (node, self.layout.nodes))
        return int(node)

    def _refuse_if_running(self) -> None:
        state = read_state(self.layout.state_path)
        owner = state.get("supervisor_pid")
        if owner and owner != os.getpid() and procs.is_our_supervisor(owner):
            raise ClusterError("a cluster is already running from %s (objstore-aio pid %d); "
                               "stop it with: objstore-aio --data-dir %s stop"
                               % (self.data_dir, owner, self.data_dir))
        if state.get("ports"):
            # processes left behind by an objstore-aio that was killed outright
            leftover = Cluster.attach(self.data_dir)
            if any(row["up"] for row in leftover.status()):
                self.say("stopping processes left over from a previous run")
                leftover.stop()

    def _check_installed(self) -> None:
        """Fail early and clearly when a server's code is missing; skip missing extras."""
        for name in APP_ENTRY_POINTS.values():
            try:
                entry_point(APP_GROUP, name)
            except Exception as err:  # noqa: BLE001 - any import failure means "not usable"
                raise ClusterError("cannot load the %s server: %s" % (name, err)) from None
        self.skipped_daemons = []
        for kind in STORAGE_KINDS:
            for daemon in DAEMONS_BY_KIND[kind]:
                try:
                    entry_point(DAEMON_GROUP, daemon)
                except Exception as err:  # noqa: BLE001
                    self.say("warning: not running %s (not installed: %s)" % (daemon, err))
                    self.skipped_daemons.extend(
                        "%s-%d" % (daemon, node) for node in range(1, self.layout.nodes + 1))
        self.dropped_filters = []
        for name in PROXY_PIPELINE[:-1]:
            try:
                entry_point(FILTER_GROUP, name)
            except Exception as err:  # noqa: BLE001
                self.say("warning: proxy pipeline without %s (not installed: %s)" % (name, err))
                self.dropped_filters.append(name)

    def _prepare(self) -> None:
        layout = self.layout
        layout.make_dirs()
        state = read_state(layout.state_path)
        recorded_nodes = state.get("nodes")
        if recorded_nodes and recorded_nodes != layout.nodes:
            raise ClusterError("%s was created with %d nodes; start it with --nodes %d "
                               "or use another --data-dir"
                               % (self.data_dir, recorded_nodes, recorded_nodes))
        ring_replicas = layout.ring_replicas()
        if ring_replicas is not None and ring_replicas != self.replicas:
            raise ClusterError("%s was created with %d replicas; start it with --replicas %d "
                               "or use another --data-dir"
                               % (self.data_dir, ring_replicas, ring_replicas))
        if self.requested_port and not port_is_free(layout.bind_ip, self.requested_port):
            raise ClusterError("port %d on %s is in use; pick another with --port (0: any free)"
                               % (self.requested_port, layout.bind_ip))
        self.ports = assign_ports(layout, state.get("ports", {}), self.requested_port)
        if layout.write_cluster_conf():
            self.say("created %s with a new random hash salt" % layout.cluster_conf)
        pipeline = [name for name in PROXY_PIPELINE if name not in self.dropped_filters]
        try:
            tls = None
            if self.tls:
                made = ensure_certificate(layout.tls_dir, layout.bind_ip)
                tls = (made.cert_file, made.key_file)
            layout.write_server_confs(self.ports, pipeline, tls)
            layout.set_proxy_app_options(self.proxy_options)
            layout.write_rings(self.ports, self.replicas)
        except (LayoutError, TlsError) as err:
            raise ClusterError(str(err)) from None
        self._check_configs()
        with locked_state(layout.state_path) as state:
            state.update(nodes=layout.nodes, replicas=self.replicas, bind_ip=layout.bind_ip,
                         ports=self.ports, skipped_daemons=self.skipped_daemons,
                         dropped_filters=self.dropped_filters, tls=self.tls)

    def config_files(self) -> list[str]:
        """objstore.conf and every server's config file, as the servers read them."""
        layout = self.layout
        return [layout.cluster_conf, layout.proxy_conf] + [
            layout.server_conf(kind, node)
            for kind in STORAGE_KINDS for node in range(1, layout.nodes + 1)]

    def _check_configs(self) -> None:
        """Refuse to start a cluster whose generated config would not load."""
        cluster_conf, *server_confs = self.config_files()
        try:
            load_cluster_config(cluster_conf)
            for path in server_confs:
                check_server_config(path)
        except ConfigError as err:
            raise ClusterError("refusing to start: %s" % err) from None

    def _wait_ready(self, specs: list[ProcessSpec], timeout: float) -> None:
        """Until every server accepts connections and the proxy's /healthcheck says OK."""
        state = read_state(self.layout.state_path)
        deadline = time.time() + timeout
        waiting = [spec for spec in specs if not spec.is_daemon]
        while waiting:
            for spec in specs:
                if not procs.is_running(state["pids"].get(spec.name), spec):
                    raise ClusterError("%s exited while starting; its log says:\n%s"
                                       % (spec.name, _tail(spec.log_file)))
            waiting = [spec for spec in waiting if not self._answers(spec)]
            if waiting and time.time() > deadline:
                raise ClusterError("not ready after %ds: %s (logs in %s)" % (
                    timeout, ", ".join(spec.name for spec in waiting), self.logs_dir))
            if waiting:
                time.sleep(0.1)

    def _answers(self, spec: ProcessSpec) -> bool:
        assert spec.port is not None
        if spec.kind != "proxy":
            try:
                socket.create_connection((self.layout.bind_ip, spec.port), timeout=1).close()
                return True
            except OSError:
                return False
        if "healthcheck" in self.dropped_filters:
            return self._get("/info")[0] == 200
        return self._get("/healthcheck") == (200, b"OK")

    def _get(self, path: str) -> tuple[int, bytes]:
        if self.tls:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.layout.bind_ip, self.proxy_port, timeout=2,
                context=ssl.create_default_context(cafile=self.ca_file))
        else:
            conn = http.client.HTTPConnection(self.layout.bind_ip, self.proxy_port, timeout=2)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException):
            return 0, b""
        finally:
            conn.close()


def _tail(path: str, lines: int = 20) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no log at %s)" % path
