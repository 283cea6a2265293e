"""Object requests: one controller strategy per storage policy type.

:mod:`.base` holds what every strategy shares, :mod:`.replicated` the
strategy of replicated policies, :mod:`.router` picks one for a container's
policy.  :mod:`.source` and :mod:`.putter` are the node-level pieces (one
GET/HEAD answer, one streaming PUT) any strategy builds on.
"""
from objstore.proxy.controllers.obj.base import BaseObjectController
from objstore.proxy.controllers.obj.replicated import ReplicatedObjectController
from objstore.proxy.controllers.obj.router import ObjectControllerRouter

__all__ = ["BaseObjectController", "ObjectControllerRouter", "ReplicatedObjectController"]
