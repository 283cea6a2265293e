"""The proxy's options, typed, with defaults that work for the all-in-one cluster."""
from __future__ import annotations

import dataclasses
import re

from objstore.common.config import ConfigError, ConfigSection

_NODE_COUNT = re.compile(r"^\s*(\d+)\s*(?:\*\s*replicas)?\s*$")


@dataclasses.dataclass
class ProxyConfig(ConfigSection):
    swift_dir: str = "/etc/objstore"
    conn_timeout: float = 0.5
    node_timeout: float = 10.0
    # a GET that stalls mid-body gives up on the node after this long (then resumes elsewhere)
    recoverable_node_timeout: float = -1.0
    client_timeout: float = 60.0
    error_suppression_interval: float = 60.0
    error_suppression_limit: int = 10
    account_autocreate: bool = True
    # GET body reads from a node: 1 MiB measured 0.7 s/GiB less proxy CPU
    # than 64 KiB for large GETs (fewer reads, wake-ups and middleware passes).
    object_chunk_size: int = 1048576
    # Upload reads: 256 KiB measured 7% faster and 10% cheaper than 64 KiB for
    # large PUTs; put_queue_depth keeps the bytes in flight near Swift's.
    client_chunk_size: int = 262144
    recheck_container_existence: float = 10.0
    recheck_account_existence: float = 60.0
    max_containers_per_account: int = 0
    allow_account_management: bool = False
    request_node_count: str = "2 * replicas"
    sorting_method: str = "shuffle"
    put_queue_depth: int = 4
    # A PUT whose Content-Length is at most this is read whole before any
    # node is asked, then sent with its headers in one write (no Expect:
    # 100-continue): for small objects the per-message costs dominate.
    whole_body_put_max: int = 65536
    # Seconds per bucket container of the expiring-objects queue.
    expiring_objects_container_divisor: int = 86400
    # Lets a GET/HEAD/POST with X-Open-Expired: true reach an object whose
    # X-Delete-At has passed but that the expirer has not removed yet.
    allow_open_expired: bool = False
    log_name: str = "proxy-server"

    def validate(self) -> None:
        if self.expiring_objects_container_divisor < 1:
            raise ConfigError("expiring_objects_container_divisor must be >= 1")
        if self.recoverable_node_timeout < 0:
            self.recoverable_node_timeout = self.node_timeout
        if not _NODE_COUNT.match(self.request_node_count):
            raise ConfigError("option 'request_node_count' must be N or 'N * replicas', got %r"
                              % self.request_node_count)
        if self.sorting_method not in ("shuffle", "none"):
            raise ConfigError("option 'sorting_method' must be shuffle or none")
        for name in ("object_chunk_size", "client_chunk_size", "put_queue_depth"):
            if getattr(self, name) <= 0:
                raise ConfigError("option %r must be positive" % name)
        if self.whole_body_put_max < 0:
            raise ConfigError("option 'whole_body_put_max' must be 0 (off) or more")

    def node_count(self, replicas: int) -> int:
        """How many nodes (primaries + handoffs) a request may try."""
        match = _NODE_COUNT.match(self.request_node_count)
        assert match is not None
        value = int(match.group(1))
        if "replicas" in self.request_node_count:
            value *= replicas
        return max(value, replicas)
