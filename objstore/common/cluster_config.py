"""objstore.conf: what every process of one cluster must agree on.

Loading it sets the hash-path salt, the constraints and the storage policies
for this process; a process that cannot load it refuses to start.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping, Optional

from objstore.common.config import ConfigError, ConfigSection, cluster_conf_path, read_ini
from objstore.common.constraints import Constraints, set_constraints
from objstore.common.http_wire import HeadLimits
from objstore.common.path_hash import HashPathNotConfigured, configure_hash_path
from objstore.common.storage_policy import PolicyCollection, StoragePolicy, set_policies


@dataclasses.dataclass
class HashSettings(ConfigSection):
    hash_path_prefix: str = ""
    hash_path_suffix: str = ""


@dataclasses.dataclass
class ClusterConfig:
    path: str
    hash: HashSettings
    constraints: Constraints
    policies: PolicyCollection


def load_cluster_config(path: Optional[str] = None,
                        server_conf: Optional[Mapping[str, str]] = None) -> ClusterConfig:
    """Read objstore.conf and make its settings this process's settings."""
    path = path or cluster_conf_path(server_conf)
    sections = read_ini(path)
    hash_settings = HashSettings.from_section(sections.get("hash", {}), section_name="hash")
    try:
        configure_hash_path(hash_settings.hash_path_prefix, hash_settings.hash_path_suffix)
    except HashPathNotConfigured as err:
        raise ConfigError("%s: %s" % (path, err)) from None
    limits = Constraints.from_section(sections.get("constraints", {}), section_name="constraints")
    policy_list = []
    for name, raw in sections.items():
        if not name.startswith("storage-policy:"):
            continue
        try:
            index = int(name.split(":", 1)[1])
        except ValueError:
            raise ConfigError("%s: bad section name [%s]" % (path, name)) from None
        raw = dict(raw, index=str(index))
        raw.setdefault("name", "Policy-%d" % index)
        policy_list.append(StoragePolicy.from_section(raw, section_name=name))
    collection = PolicyCollection(policy_list or None)
    set_constraints(limits)
    set_policies(collection)
    return ClusterConfig(path=path, hash=hash_settings, constraints=limits, policies=collection)


# Headers a backend request carries besides the client's metadata (timestamps,
# policy index, container update targets, ...), with room to spare.
BACKEND_HEADER_ALLOWANCE = 64


def request_head_limits(limits: Constraints) -> HeadLimits:
    """How many and how long request headers a server reads before answering 400.

    Enough for ``max_meta_count`` metadata items plus the headers HTTP and the
    backend protocol add, so a request with too many metadata items reaches
    the metadata check (a 400 that says so) rather than failing in the parser.
    """
    return HeadLimits(
        max_line=limits.max_header_size + 2,
        max_header_count=limits.max_meta_count + max(limits.extra_header_count, 0)
        + BACKEND_HEADER_ALLOWANCE)
