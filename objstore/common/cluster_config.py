"""objstore.conf: what every process of one cluster must agree on.

:func:`load_cluster_config` reads it once at start-up into a
:class:`ClusterConfig` that is handed to the proxy, each server, each daemon
and each middleware.  Nothing is kept in module globals: two clusters in one
process (tests, tools) never see each other's salt, limits or policies.  A
process that cannot load it refuses to start.
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Mapping, Optional

from objstore.common.capabilities import Capabilities
from objstore.common.config import (ConfigError, ConfigSection, cluster_conf_path,
                                    read_config_file)
from objstore.common.constraints import Constraints
from objstore.common.http_wire import HeadLimits
from objstore.common.path_hash import HashPathNotConfigured, PathHasher
from objstore.common.storage_policy import PolicyCollection, StoragePolicy

POLICY_SECTION_PREFIX = "storage-policy:"


@dataclasses.dataclass(frozen=True)
class HashSettings(ConfigSection):
    hash_path_prefix: str = ""
    hash_path_suffix: str = ""


@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    """The cluster-wide settings of one cluster, immutable once built.

    ``capabilities`` is the /info registry the proxy pipeline's factories
    fill while it loads; it travels with the config so that each pipeline
    has its own.
    """
    hasher: PathHasher
    constraints: Constraints = dataclasses.field(default_factory=Constraints)
    policies: PolicyCollection = dataclasses.field(default_factory=PolicyCollection)
    capabilities: Capabilities = dataclasses.field(default_factory=Capabilities,
                                                   compare=False)
    path: str = ""

    @classmethod
    def build(cls, hash_path_prefix: str = "", hash_path_suffix: str = "", *,
              constraints: Optional[Constraints] = None,
              policies: Optional[PolicyCollection] = None, path: str = "") -> "ClusterConfig":
        """A cluster config from values (tests, tools); refuses an unsalted cluster."""
        return cls(hasher=PathHasher.from_salt(hash_path_prefix, hash_path_suffix),
                   constraints=constraints or Constraints(),
                   policies=policies or PolicyCollection(), path=path)


def load_cluster_config(path: Optional[str] = None,
                        server_conf: Optional[Mapping[str, str]] = None) -> ClusterConfig:
    """Read objstore.conf (every section and option checked) into a ClusterConfig."""
    path = path or cluster_conf_path(server_conf)
    conf_file = read_config_file(path)
    hash_settings = HashSettings()
    limits = Constraints()
    policy_list = []
    for name in conf_file.sections:
        raw = conf_file.own(name)
        if name == "hash":
            hash_settings = HashSettings.from_section(raw, inherited=conf_file.defaults)
        elif name == "constraints":
            limits = Constraints.from_section(raw, inherited=conf_file.defaults)
        elif name.startswith(POLICY_SECTION_PREFIX):
            policy_list.append(_policy(raw, name, path))
        else:
            raise _unknown_section(path, name)
    try:
        hasher = PathHasher.from_salt(hash_settings.hash_path_prefix,
                                      hash_settings.hash_path_suffix)
        policies = PolicyCollection(policy_list or None)
    except (HashPathNotConfigured, ConfigError) as err:
        raise ConfigError("%s: %s" % (path, err)) from None
    return ClusterConfig(hasher=hasher, constraints=limits, policies=policies, path=path)


def _unknown_section(path: str, name: str) -> ConfigError:
    close = difflib.get_close_matches(name, ("hash", "constraints", "storage-policy:0"),
                                      n=1, cutoff=0.5)
    hint = "did you mean [%s]?" % close[0] if close else \
        "valid: [hash], [constraints], [storage-policy:N]"
    return ConfigError("%s: unknown section [%s] (%s)" % (path, name, hint))


def _policy(raw: dict, name: str, path: str) -> StoragePolicy:
    try:
        index = int(name[len(POLICY_SECTION_PREFIX):])
    except ValueError:
        raise ConfigError("%s: bad section name [%s]" % (path, name)) from None
    if "index" in raw:
        raise ConfigError("%s [%s]: the index is in the section name, not an option"
                          % (path, name))
    raw = dict(raw, index=str(index))
    raw.setdefault("name", "Policy-%d" % index)
    return StoragePolicy.from_section(raw)


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
