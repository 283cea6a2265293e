"""Base for background daemons (replicators, auditors, updaters, expirer, reaper).

A daemon does its work in :meth:`Daemon.run_once`; tests and operators call
that directly (``objstore-server <daemon> <conf> --once``), so no test ever
waits on a sleep.  :meth:`Daemon.run_forever` repeats it with a jittered
interval and survives a failed pass.
"""
from __future__ import annotations

import abc
import dataclasses
import os
import random
import time
from typing import Any, Mapping, Optional

from objstore.common.cluster_config import ClusterConfig, load_cluster_config
from objstore.common.concurrency import sleep
from objstore.common.config import ConfigSection, merge_conf, read_config_file
from objstore.common.config_check import check_server_config
from objstore.common.logs import get_logger
from objstore.common.pipeline import DAEMON_GROUP, entry_point


@dataclasses.dataclass
class DaemonConfig(ConfigSection):
    devices: str = "/srv/node"
    mount_check: bool = False
    swift_dir: str = "/etc/objstore"
    interval: float = 30.0
    log_name: str = ""


def is_local_device(node: Mapping[str, Any], device_path: str, bind_ip: str,
                    bind_port: int) -> bool:
    """True when the ring device ``node`` is ``device_path`` on this node.

    A node is known by the address its server binds (``bind_ip``/``bind_port``
    from the config's ``[DEFAULT]``); a wildcard ip or a zero port matches any.
    """
    if node["device"] != os.path.basename(device_path):
        return False
    if bind_port and int(node["port"]) != int(bind_port):
        return False
    return bind_ip in ("", "0.0.0.0", "::") or node["ip"] == bind_ip


class Daemon(abc.ABC):
    """Subclasses set ``name`` and ``config_class`` and implement :meth:`run_once`.

    ``conf`` is the daemon's own section (every option checked), ``inherited``
    the file's ``[DEFAULT]``; ``cluster`` the cluster's settings.
    """

    name = "daemon"
    config_class: type[DaemonConfig] = DaemonConfig

    def __init__(self, cluster: ClusterConfig, conf: Optional[Mapping[str, Any]] = None, *,
                 inherited: Optional[Mapping[str, Any]] = None, logger: Any = None):
        self.cluster = cluster
        self.raw_conf = merge_conf(inherited, conf)
        self.conf = self.config_class.from_section(conf, section_name=self.name,
                                                   inherited=inherited)
        self.logger = logger or get_logger(self.conf.log_name or self.name, self.raw_conf)
        self._stopping = False

    @abc.abstractmethod
    def run_once(self) -> Any:
        """Do one full pass over the work; return a summary for tests and logs."""

    @property
    def stopping(self) -> bool:
        """True once stop() was called: long passes check it to end early."""
        return self._stopping

    def stop(self) -> None:
        """Ask run_forever to end after the current pass; safe from a signal handler."""
        self._stopping = True

    def run_forever(self) -> None:
        """Pass after pass until :meth:`stop`; a failed pass is logged, not fatal."""
        # Start at a random point of the interval so many nodes do not pulse together.
        self._wait(random.random() * min(self.conf.interval, 5.0))
        while not self._stopping:
            began = time.time()
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - a daemon must outlive one bad pass
                self.logger.exception("%s pass failed", self.name)
            elapsed = time.time() - began
            self._wait(max(0.0, self.conf.interval - elapsed))

    def _wait(self, seconds: float) -> None:
        # Short slices: a signal handler can only set a flag, and the hub must
        # wake up to notice it.
        deadline = time.time() + seconds
        while not self._stopping and time.time() < deadline:
            sleep(min(0.5, max(0.0, deadline - time.time())))


def build_daemon(kind: str, conf_path: str, logger: Any = None) -> Daemon:
    """The daemon ``kind`` as configured in ``conf_path``, after the whole file is checked."""
    conf_file = read_config_file(conf_path)
    own = conf_file.own(kind)
    cluster = load_cluster_config(server_conf=merge_conf(conf_file.defaults, own))
    check_server_config(conf_path)
    daemon_class = entry_point(DAEMON_GROUP, kind)
    return daemon_class(cluster, own, inherited=conf_file.global_conf(), logger=logger)
