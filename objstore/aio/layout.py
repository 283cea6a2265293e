"""Where everything of an all-in-one cluster lives, and how it is first built.

One data directory holds the whole cluster so that deleting it is a clean
reset and reusing it keeps every object::

    <data>/etc/objstore.conf            hash salt (random, generated once), policies
    <data>/etc/{account,container,object,object-1}.ring.gz (+ .builder)
    <data>/etc/proxy-server.conf
    <data>/etc/{object,container,account}-server-<N>.conf
    <data>/node<N>/devices/d<N>/        node N's one device (zone N)
    <data>/logs/<server>.log            one log per server and daemon
    <data>/run/state.json               ports and pids (see ``state``)

Ports of the backend servers are picked free on first start and recorded in
the state file; a restart reuses them when they are still free (the rings name
them), otherwise picks new ones and rewrites the rings and configs.
"""
from __future__ import annotations

import dataclasses
import os
import re
import secrets
import socket
from types import MappingProxyType
from typing import Iterable, Mapping, Optional

from objstore.aio import templates
from objstore.common.durable_fs import mkdirs, write_file_atomic
from objstore.ring.builder import RingBuilder

STORAGE_KINDS = ("object", "container", "account")
# The daemons each storage server's config file has a section for.
DAEMONS_BY_KIND: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "object": ("object-replicator", "object-auditor", "object-updater", "object-expirer"),
    "container": ("container-updater", "container-replicator", "container-auditor"),
    "account": ("account-replicator", "account-auditor", "account-reaper"),
})
# Options older aio configs carry that no server reads any more: a restart
# removes them, since an unknown option stops a server at start.
RETIRED_OPTIONS: Mapping[str, tuple[tuple[str, str], ...]] = MappingProxyType({})
# Daemons a pass runs after all the others: the expirer lists the queue's
# buckets, which the account learns of from the container updaters.
DAEMONS_LAST = ("object-expirer",)
# Daemons whose passes on the different nodes run side by side in one
# run-daemons pass: each node's expirer works its own share of the queue
# (``processes``/``process``), so one after another they only add up waits.
DAEMONS_SIDE_BY_SIDE = ("object-expirer",)
PART_POWER = 10
DAEMON_INTERVAL = 5
# The replicators, auditors and reaper walk every partition or database of a
# node each pass: every few seconds would keep a laptop (and a CI machine) busy.
DB_DAEMON_INTERVAL = 30
DB_DAEMONS = frozenset(("object-auditor", "container-replicator", "container-auditor", "account-replicator",
                        "account-auditor", "account-reaper"))
# The aio holds little data and its tests run the auditor on demand: a rate
# limit would only make `run-daemons --once` wait.  Real hosts keep the defaults.
AIO_AUDITOR_RATES: Mapping[str, str] = MappingProxyType({
    "files_per_second": "0", "bytes_per_second": "0"})
# Storage policies of the aio, by index: gold (0, the default) has the
# cluster's replica count, silver (1) at most two replicas.
SILVER_REPLICAS = 2


class LayoutError(RuntimeError):
    """The data directory cannot be used as asked (the message says why)."""


@dataclasses.dataclass(frozen=True)
class ProcessSpec:
    """One process of the cluster: a server or a daemon."""

    name: str          # proxy-server, object-server-2, object-updater-2, ...
    kind: str          # what ``objstore-server`` is told to run: proxy, object, object-updater
    node: int          # 0 for the proxy
    conf: str
    port: Optional[int]
    log_file: str

    @property
    def is_daemon(self) -> bool:
        return self.port is None


class Layout:
    """Paths of one aio data directory; pure path arithmetic plus config/ring writers."""

    def __init__(self, data_dir: str, nodes: int = 4, bind_ip: str = "127.0.0.1") -> None:
        self.data_dir = os.path.abspath(data_dir)
        self.nodes = nodes
        self.bind_ip = bind_ip

    # -- paths --------------------------------------------------------------
    @property
    def etc_dir(self) -> str:
        return os.path.join(self.data_dir, "etc")

    @property
    def logs_dir(self) -> str:
        return os.path.join(self.data_dir, "logs")

    @property
    def run_dir(self) -> str:
        return os.path.join(self.data_dir, "run")

    @property
    def state_path(self) -> str:
        return os.path.join(self.run_dir, "state.json")

    @property
    def cluster_conf(self) -> str:
        return os.path.join(self.etc_dir, "objstore.conf")

    @property
    def proxy_conf(self) -> str:
        return os.path.join(self.etc_dir, "proxy-server.conf")

    @property
    def tls_dir(self) -> str:
        return os.path.join(self.data_dir, "tls")

    def server_conf(self, kind: str, node: int) -> str:
        return os.path.join(self.etc_dir, "%s-server-%d.conf" % (kind, node))

    def node_devices_dir(self, node: int) -> str:
        return os.path.join(self.data_dir, "node%d" % node, "devices")

    @staticmethod
    def device_name(node: int) -> str:
        return "d%d" % node

    def device_path(self, node: int) -> str:
        return os.path.join(self.node_devices_dir(node), self.device_name(node))

    def ring_path(self, kind: str) -> str:
        return os.path.join(self.etc_dir, "%s.ring.gz" % kind)

    def builder_path(self, kind: str) -> str:
        return os.path.join(self.etc_dir, "%s.builder" % kind)

    def log_file(self, process_name: str) -> str:
        return os.path.join(self.logs_dir, "%s.log" % process_name)

    # -- processes ----------------------------------------------------------
    def process_specs(self, ports: dict[str, int]) -> list[ProcessSpec]:
        """Every process of the cluster, storage servers first, the proxy last."""
        specs = []
        for node in range(1, self.nodes + 1):
            for kind in STORAGE_KINDS:
                name = "%s-server-%d" % (kind, node)
                specs.append(ProcessSpec(name, kind, node, self.server_conf(kind, node),
                                         ports[name], self.log_file(name)))
        for node in range(1, self.nodes + 1):
            for kind in STORAGE_KINDS:
                for daemon in DAEMONS_BY_KIND[kind]:
                    name = "%s-%d" % (daemon, node)
                    specs.append(ProcessSpec(name, daemon, node, self.server_conf(kind, node),
                                             None, self.log_file(name)))
        specs.append(ProcessSpec("proxy-server", "proxy", 0, self.proxy_conf,
                                 ports["proxy-server"], self.log_file("proxy-server")))
        return specs

    def backend_names(self) -> list[str]:
        return ["%s-server-%d" % (kind, node)
                for node in range(1, self.nodes + 1) for kind in STORAGE_KINDS]

    # -- building -----------------------------------------------------------
    def make_dirs(self) -> None:
        for path in (self.etc_dir, self.logs_dir, self.run_dir):
            mkdirs(path)
        for node in range(1, self.nodes + 1):
            mkdirs(self.device_path(node))

    def write_cluster_conf(self) -> bool:
        """Write objstore.conf with a fresh random salt, unless it exists.  True if written.

        A data dir made before the aio had its second policy gains that
        policy's section; policy 0 keeps the name it was created with.
        """
        if os.path.exists(self.cluster_conf):
            for index, text in sorted(templates.AIO_POLICY_SECTIONS.items()):
                if index:
                    _ensure_section_text(self.cluster_conf, "storage-policy:%d" % index, text)
            return False
        policies = "\n".join(text for _index, text in
                             sorted(templates.AIO_POLICY_SECTIONS.items()))
        text = templates.render("objstore.conf", {
            "hash_path_prefix": secrets.token_hex(8),
            "hash_path_suffix": secrets.token_hex(8),
            "storage_policies": policies,
        })
        write_file_atomic(self.cluster_conf, text.encode("utf-8"))
        return True

    def write_server_confs(self, ports: dict[str, int], pipeline: Iterable[str],
                           tls: Optional[tuple[str, str]] = None) -> None:
        """Write missing configs; in existing ones refresh only ``bind_port``, the
        pipeline and the proxy's ``cert_file``/``key_file`` (``tls``, or plain HTTP)."""
        pipeline = list(pipeline)
        for node in range(1, self.nodes + 1):
            for kind in STORAGE_KINDS:
                path = self.server_conf(kind, node)
                port = ports["%s-server-%d" % (kind, node)]
                daemon_logs = {templates.log_file_key(daemon):
                               self.log_file("%s-%d" % (daemon, node))
                               for daemon in DAEMONS_BY_KIND[kind]}
                expirer_share = self.expirer_share(node)
                if os.path.exists(path):
                    _set_option(path, "DEFAULT", "bind_port", str(port))
                    for section, key in RETIRED_OPTIONS.get(kind, ()):
                        _drop_option(path, section, key)
                    for daemon in DAEMONS_BY_KIND[kind]:
                        interval = DB_DAEMON_INTERVAL if daemon in DB_DAEMONS else DAEMON_INTERVAL
                        options = {"interval": str(interval),
                                   "log_file": daemon_logs[templates.log_file_key(daemon)]}
                        if kind == "account":
                            # older account configs name no ring directory
                            options["swift_dir"] = self.etc_dir
                        if daemon == "object-auditor":
                            options.update(AIO_AUDITOR_RATES)
                        if daemon == "object-expirer":
                            options.update(processes=expirer_share["expirer_processes"],
                                           process=expirer_share["expirer_process"])
                        _ensure_section(path, daemon, options)
                    continue
                values = self._common_values(self.log_file("%s-server-%d" % (kind, node)))
                values.update(daemon_logs, devices=self.node_devices_dir(node),
                              bind_port=str(port), **expirer_share)
                name = "%s-server.conf" % kind
                write_file_atomic(path, templates.render(name, values).encode("utf-8"))
        pipeline_text = " ".join(pipeline)
        values = self._common_values(self.log_file("proxy-server"))
        cert_file, key_file = tls or ("", "")
        values.update(bind_port=str(ports["proxy-server"]), pipeline=pipeline_text,
                      token_secret=secrets.token_hex(16), cert_file=cert_file,
                      key_file=key_file)
        fresh_text = templates.render("proxy-server.conf", values)
        if os.path.exists(self.proxy_conf):
            _set_option(self.proxy_conf, "DEFAULT", "bind_port", str(ports["proxy-server"]))
            _set_option(self.proxy_conf, "pipeline:main", "pipeline", pipeline_text)
            for key, value in (("cert_file", cert_file), ("key_file", key_file)):
                _set_option(self.proxy_conf, "DEFAULT", key, value, add=True)
            # A filter added to objstore since this config was written needs its
            # section too; the operator's other edits stay as they are.
            for name in list(pipeline)[:-1]:
                _ensure_section_text(self.proxy_conf, "filter:%s" % name, fresh_text)
            return
        write_file_atomic(self.proxy_conf, fresh_text.encode("utf-8"))

    def set_proxy_app_options(self, options: Mapping[str, str]) -> None:
        """Set options of ``[app:proxy-server]`` in the proxy's config, adding missing ones."""
        for key, value in options.items():
            _put_option(self.proxy_conf, "app:proxy-server", key, value)

    def expirer_share(self, node: int) -> dict[str, str]:
        """Every node runs an expirer; each takes its share of the queue."""
        return {"expirer_processes": str(self.nodes), "expirer_process": str(node - 1)}

    def _common_values(self, log_file: str) -> dict[str, str]:
        values = dict(templates.SAMPLE_VALUES)
        values.update(objstore_conf=self.cluster_conf, swift_dir=self.etc_dir,
                      bind_ip=self.bind_ip, log_file=log_file,
                      daemon_interval=str(DAEMON_INTERVAL),
                      db_daemon_interval=str(DB_DAEMON_INTERVAL),
                      **{"auditor_" + key: rate for key, rate in AIO_AUDITOR_RATES.items()},
                      # Sites answer at http://<container>.<account>.localhost:<port>/.
                      storage_domain="localhost")
        return values

    @staticmethod
    def ring_replica_counts(replicas: int) -> dict[str, int]:
        """Every ring of the aio (``object-1`` is silver's) and its replica count."""
        counts = {kind: replicas for kind in STORAGE_KINDS}
        counts["object-1"] = min(SILVER_REPLICAS, replicas)
        return counts

    def write_rings(self, ports: dict[str, int], replicas: int) -> None:
        """(Re)write every ring so it names ``ports``; build the ones missing.

        The first build rebalances with a fixed seed; later calls only change
        the ports recorded in the saved builder, so no partition ever moves
        and the data already on the devices stays where the ring looks for it.
        A data dir older than silver gets its ring here.
        """
        for ring_name, ring_replicas in self.ring_replica_counts(replicas).items():
            kind = ring_name.split("-", 1)[0]
            builder_path = self.builder_path(ring_name)
            if os.path.exists(builder_path):
                builder = RingBuilder.load(builder_path)
                changed = False
                for dev in builder.devs:
                    if dev is None:
                        continue
                    want = ports["%s-server-%d" % (kind, dev["zone"])]
                    if dev["port"] != want:
                        dev["port"] = want
                        changed = True
                if not changed and os.path.exists(self.ring_path(ring_name)):
                    continue
            else:
                if ring_replicas > self.nodes:
                    raise LayoutError("%d replicas need at least %d nodes (got --nodes %d)"
                                      % (ring_replicas, ring_replicas, self.nodes))
                builder = RingBuilder(PART_POWER, ring_replicas, 0)
                for node in range(1, self.nodes + 1):
                    builder.add_dev({"region": 1, "zone": node, "ip": self.bind_ip,
                                     "port": ports["%s-server-%d" % (kind, node)],
                                     "device": self.device_name(node), "weight": 100})
                builder.rebalance(seed=1)
            builder.save(builder_path)
            builder.write_ring(self.ring_path(ring_name))

    def ring_replicas(self) -> Optional[int]:
        """Replica count of an existing object ring builder, or None."""
        path = self.builder_path("object")
        if not os.path.exists(path):
            return None
        return RingBuilder.load(path).replicas


def _set_option(path: str, section: str, key: str, value: str, add: bool = False) -> None:
    """Change ``key = …`` inside ``[section]`` of an INI file, leaving every other line alone.

    ``add``: a config written before the option existed gets it at the end of the section.
    """
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines(keepends=True)
    current = None
    end_of_section = None
    option = re.compile(r"^\s*%s\s*=" % re.escape(key))
    new_line = "%s = %s\n" % (key, value)
    for index, line in enumerate(lines):
        header = re.match(r"^\s*\[([^\]]+)\]", line)
        if header:
            if current == section:
                end_of_section = index
            current = header.group(1).strip()
            continue
        if current == section and option.match(line):
            if line != new_line:
                lines[index] = new_line
                write_file_atomic(path, "".join(lines).encode("utf-8"))
            return
    if not add:
        raise LayoutError("%s: no %s option in [%s]" % (path, key, section))
    if end_of_section is None and current != section:
        raise LayoutError("%s: no [%s] section" % (path, section))
    lines.insert(len(lines) if end_of_section is None else end_of_section, new_line)
    write_file_atomic(path, "".join(lines).encode("utf-8"))


def _put_option(path: str, section: str, key: str, value: str) -> None:
    """``_set_option``, or a new ``key = value`` line right under ``[section]`` when absent."""
    try:
        _set_option(path, section, key, value)
        return
    except LayoutError:
        pass
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    header = re.search(r"^\s*\[%s\]\s*\n" % re.escape(section), text, re.MULTILINE)
    if header is None:
        raise LayoutError("%s: no [%s] section" % (path, section))
    text = text[:header.end()] + "%s = %s\n" % (key, value) + text[header.end():]
    write_file_atomic(path, text.encode("utf-8"))


def _drop_option(path: str, section: str, key: str) -> None:
    """Remove ``key = …`` from ``[section]`` when present; every other line stays."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines(keepends=True)
    current = None
    option = re.compile(r"^\s*%s\s*=" % re.escape(key))
    kept = []
    for line in lines:
        header = re.match(r"^\s*\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
        elif current == section and option.match(line):
            continue
        kept.append(line)
    if len(kept) != len(lines):
        write_file_atomic(path, "".join(kept).encode("utf-8"))


def _ensure_section(path: str, section: str, options: dict[str, str]) -> None:
    """Append ``[section]`` to an existing config that predates a newly added daemon."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if re.search(r"^\s*\[%s\]" % re.escape(section), text, re.MULTILINE):
        return
    lines = ["", "[%s]" % section] + ["%s = %s" % item for item in options.items()]
    write_file_atomic(path, (text.rstrip("\n") + "\n" + "\n".join(lines) + "\n").encode("utf-8"))


def _ensure_section_text(path: str, section: str, template_text: str) -> None:
    """Append ``[section]`` as ``template_text`` words it, when ``path`` lacks it."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if re.search(r"^\s*\[%s\]" % re.escape(section), text, re.MULTILINE):
        return
    found = re.search(r"^\[%s\]\n.*?(?=^\[|\Z)" % re.escape(section), template_text,
                      re.MULTILINE | re.DOTALL)
    if not found:
        raise LayoutError("the proxy template has no [%s] section" % section)
    block = found.group(0).rstrip("\n")
    write_file_atomic(path, (text.rstrip("\n") + "\n\n" + block + "\n").encode("utf-8"))


def port_is_free(ip: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((ip, port))
        except OSError:
            return False
    return True


def pick_free_ports(ip: str, count: int, avoid: Iterable[int] = ()) -> list[int]:
    """``count`` distinct ports the kernel says are free now (held open until all are picked)."""
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    held, ports = [], []
    avoid = set(avoid)
    try:
        while len(ports) < count:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.bind((ip, 0))
            held.append(sock)
            port = sock.getsockname()[1]
            if port not in avoid:
                ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return ports


def assign_ports(layout: Layout, recorded: dict[str, int], proxy_port: int) -> dict[str, int]:
    """Ports for every server: recorded ones that are still free, new free ones otherwise."""
    names = layout.backend_names()
    ports: dict[str, int] = {}
    for name in names:
        port = recorded.get(name)
        if port and port != proxy_port and port not in ports.values() \
                and port_is_free(layout.bind_ip, port):
            ports[name] = port
    missing = [name for name in names if name not in ports]
    if proxy_port == 0:
        missing.append("proxy-server")
    else:
        ports["proxy-server"] = proxy_port
    fresh = pick_free_ports(layout.bind_ip, len(missing), avoid=list(ports.values()))
    ports.update(zip(missing, fresh))
    return ports
