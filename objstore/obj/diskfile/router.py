"""One DiskFile manager per storage policy: the object server's and daemons' way in.

A backend request names its policy (``X-Backend-Storage-Policy-Index``); the
router hands back that policy's manager, which keeps the policy's objects
under ``objects[-N]`` and its pendings under ``async_pending[-N]``.  Which
manager class serves a policy follows the policy's type; a type without one
stops the server at start rather than store objects the policy does not
describe.
"""
from __future__ import annotations

from typing import Callable, Iterator, Mapping, Optional

from objstore.common.config import ConfigError, SpaceReserve
from objstore.common.path_hash import PathHasher
from objstore.common.storage_policy import REPLICATION, PolicyCollection, StoragePolicy
from objstore.obj.diskfile.fs import FsDiskFileManager
from objstore.obj.diskfile.interface import DiskFileManager
from objstore.obj.diskfile.rules import DEFAULT_RECLAIM_AGE

ManagerFactory = Callable[[StoragePolicy], DiskFileManager]


class DiskFileRouter:
    """``router[policy_index]`` is that policy's manager on this node."""

    def __init__(self, known: PolicyCollection, make_manager: ManagerFactory):
        self._managers = {policy.index: make_manager(policy) for policy in known}

    def get(self, policy_index: int) -> Optional[DiskFileManager]:
        """The manager, or None for a policy this node does not know."""
        return self._managers.get(policy_index)

    def __getitem__(self, policy_index: int) -> DiskFileManager:
        return self._managers[policy_index]

    def __contains__(self, policy_index: object) -> bool:
        return policy_index in self._managers

    def __iter__(self) -> Iterator[DiskFileManager]:
        return iter(self._managers.values())


def fs_managers(known: PolicyCollection, devices: str, hasher: PathHasher, *,
                mount_check: bool = False,
                fallocate_reserve: "SpaceReserve | int" = 0,
                keep_cache_size: int = 5242880,
                reclaim_age: float = DEFAULT_RECLAIM_AGE) -> DiskFileRouter:
    """The managers of a node's real devices, by policy type."""
    by_type: Mapping[str, ManagerFactory] = {
        REPLICATION: lambda policy: FsDiskFileManager(
            devices, hasher, mount_check=mount_check, fallocate_reserve=fallocate_reserve,
            keep_cache_size=keep_cache_size, policy=policy, reclaim_age=reclaim_age),
    }
    for policy in known:
        if policy.policy_type not in by_type:
            raise ConfigError("storage policy %d (%s): policy_type %s has no DiskFile on "
                              "this object server" % (policy.index, policy.name,
                                                      policy.policy_type))
    return DiskFileRouter(known, lambda policy: by_type[policy.policy_type](policy))
