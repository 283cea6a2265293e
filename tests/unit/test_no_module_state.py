"""No objstore module keeps cluster state (or any other mutable state) at module level.

Cluster settings live in one ClusterConfig that is passed down; a module-level
dict, list or set, a ``global`` statement or a module-level instance of a
cluster-state type would let two clusters in one process see each other.
"""
import collections
import importlib
import pkgutil
import re
import types

import objstore
from objstore.common.capabilities import Capabilities
from objstore.common.cluster_config import ClusterConfig
from objstore.common.constraints import Constraints
from objstore.common.path_hash import PathHasher
from objstore.common.storage_policy import PolicyCollection, StoragePolicy
from objstore.proxy.info_cache import InfoCache

MUTABLE = (dict, list, set, bytearray, collections.deque)
CLUSTER_STATE = (ClusterConfig, Constraints, PolicyCollection, StoragePolicy, PathHasher,
                 Capabilities, InfoCache)
# (module, name): why it may stay.
ALLOWED = {
    ("objstore.common.storage_request", "status_map"): "webob's own table, imported",
    ("objstore.obj.server", "status_map"): "webob's own table, imported",
    ("objstore.middleware.bulk_report", "status_reasons"): "webob's own table, imported",
}
GLOBAL_STATEMENT = re.compile(r"^\s*(global|nonlocal)\s", re.M)


def all_modules():
    found = [objstore]
    for info in pkgutil.walk_packages(objstore.__path__, "objstore."):
        found.append(importlib.import_module(info.name))
    return found


def test_every_module_is_found():
    names = {module.__name__ for module in all_modules()}
    assert {"objstore.proxy.server", "objstore.middleware.tempauth",
            "objstore.common.cluster_config", "objstore.aio.cluster"} <= names
    assert len(names) > 60


def test_no_module_level_mutable_or_cluster_state():
    offenders = []
    for module in all_modules():
        for name, value in vars(module).items():
            if name.startswith("__") or (module.__name__, name) in ALLOWED:
                continue
            if isinstance(value, (types.ModuleType, type, types.FunctionType)):
                continue
            if isinstance(value, MUTABLE) or isinstance(value, CLUSTER_STATE):
                offenders.append("%s.%s (%s)" % (module.__name__, name, type(value).__name__))
    assert offenders == []


def test_no_global_statements():
    offenders = []
    for module in all_modules():
        with open(module.__file__, encoding="utf-8") as handle:
            if GLOBAL_STATEMENT.search(handle.read()):
                offenders.append(module.__name__)
    assert offenders == []
