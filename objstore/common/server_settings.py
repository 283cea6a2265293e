"""The ``[DEFAULT]`` options of every server and daemon config file.

They say how the process runs (address, workers, shutdown) and where the
cluster's objstore.conf is; each section of the file may inherit them too.
"""
from __future__ import annotations

import dataclasses

from objstore.common.config import ConfigError, ConfigSection


@dataclasses.dataclass(frozen=True)
class ServerSettings(ConfigSection):
    # objstore.conf (hash salt, constraints, policies); $OBJSTORE_CONF or /etc when empty
    objstore_conf: str = ""
    bind_ip: str = "127.0.0.1"
    bind_port: int = 8080
    workers: int = 0
    backlog: int = 4096
    max_clients: int = 1024
    client_timeout: float = 60.0
    graceful_shutdown_timeout: float = 30.0
    # Both set: serve HTTPS with this PEM certificate (chain) and private key.
    cert_file: str = ""
    key_file: str = ""
    log_name: str = "server"

    def validate(self) -> None:
        if not 0 <= self.bind_port <= 65535:
            raise ConfigError("option 'bind_port' must be 0..65535")
        self.require_at_least(workers=0)
        if bool(self.cert_file) != bool(self.key_file):
            raise ConfigError("options 'cert_file' and 'key_file' go together: set both "
                              "to serve HTTPS, or neither")
