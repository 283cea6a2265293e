"""Which object controller strategy serves a container's storage policy.

The strategy follows the policy's type (``replication`` today,
``erasure_coding`` next).  A policy whose type has no strategy stops the
proxy at start: serving its containers with another type's strategy would
store objects in a way the policy does not promise.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping, Optional

from objstore.common.config import ConfigError
from objstore.common.storage_policy import REPLICATION, PolicyCollection, StoragePolicy
from objstore.proxy.controllers.base import ProxyContext
from objstore.proxy.controllers.obj.base import BaseObjectController
from objstore.proxy.controllers.obj.replicated import ReplicatedObjectController

STRATEGIES: Mapping[str, type[BaseObjectController]] = MappingProxyType({
    REPLICATION: ReplicatedObjectController,
})


class UnknownPolicy(LookupError):
    """A container names a policy index this proxy's objstore.conf does not define."""


class ObjectControllerRouter:
    """Maps each configured policy to its strategy; built once per proxy."""

    def __init__(self, known: PolicyCollection,
                 strategies: Mapping[str, type[BaseObjectController]] = STRATEGIES):
        for policy in known:
            if policy.policy_type not in strategies:
                raise ConfigError("storage policy %d (%s): policy_type %s is not supported "
                                  "by this proxy" % (policy.index, policy.name,
                                                     policy.policy_type))
        self.policies = known
        self._strategies = dict(strategies)

    def policy_for(self, container_info: Mapping) -> StoragePolicy:
        """The policy of a container, from its info (policy 0 when the info has none)."""
        raw: Optional[str] = container_info.get("storage_policy")
        policy = self.policies.get_by_index(raw)
        if policy is None:
            raise UnknownPolicy(raw)
        return policy

    def strategy(self, policy: StoragePolicy) -> type[BaseObjectController]:
        return self._strategies[policy.policy_type]

    def controller(self, ctx: ProxyContext, account: str, container: str, obj: str,
                   container_info: Mapping) -> BaseObjectController:
        """The controller for one object request; raises UnknownPolicy."""
        policy = self.policy_for(container_info)
        return self.strategy(policy)(ctx, account, container, obj, policy)
