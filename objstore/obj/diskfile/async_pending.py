"""An async pending: a container update the object server could not deliver.

Stored as ``devices/<dev>/async_pending[-<policy>]/<suffix>/<hash>-<timestamp>``
(see :mod:`.fs`) in this versioned encoding::

    blob = b"OSA" version(b"\\x01") UTF-8-JSON

where the JSON object holds ``op`` (``PUT``/``DELETE``), ``account``,
``container``, ``obj``, ``headers`` (the update's headers, str to str),
``policy_index``, and ``nodes``: the container replicas still to be told, each
``{"ip", "port", "device", "partition"}``.  Keeping the nodes lets the updater
deliver without a ring; once a ring exists the updater may ask it instead.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Optional

from objstore.common.timestamp import Timestamp

MAGIC = b"OSA"
VERSION_1 = 1


class AsyncPendingCorrupt(ValueError):
    """Bytes that are not an async pending this code can read."""


@dataclasses.dataclass
class ContainerNode:
    ip: str
    port: int
    device: str
    partition: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class AsyncUpdate:
    op: str
    account: str
    container: str
    obj: str
    headers: dict[str, str]
    nodes: list[ContainerNode]
    policy_index: int = 0
    # Where the implementation stored it (a path, a key); not part of the encoding.
    location: Optional[Any] = dataclasses.field(default=None, compare=False)

    @property
    def timestamp(self) -> Timestamp:
        return Timestamp(self.headers["X-Timestamp"])


def encode_async(update: AsyncUpdate) -> bytes:
    body = {"op": update.op, "account": update.account, "container": update.container,
            "obj": update.obj, "headers": dict(update.headers),
            "policy_index": int(update.policy_index),
            "nodes": [node.as_dict() for node in update.nodes]}
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return MAGIC + bytes([VERSION_1]) + text.encode("utf-8", "surrogateescape")


def decode_async(blob: bytes) -> AsyncUpdate:
    if len(blob) < 4 or not blob.startswith(MAGIC):
        raise AsyncPendingCorrupt("not an async pending")
    if blob[3] != VERSION_1:
        raise AsyncPendingCorrupt("unknown async pending version %d" % blob[3])
    try:
        body = json.loads(blob[4:].decode("utf-8", "surrogateescape"))
        nodes = [ContainerNode(ip=str(n["ip"]), port=int(n["port"]),
                               device=str(n["device"]), partition=str(n["partition"]))
                 for n in body["nodes"]]
        update = AsyncUpdate(op=str(body["op"]), account=str(body["account"]),
                             container=str(body["container"]), obj=str(body["obj"]),
                             headers={str(k): str(v) for k, v in body["headers"].items()},
                             nodes=nodes, policy_index=int(body.get("policy_index", 0)))
        update.timestamp  # must be readable
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise AsyncPendingCorrupt("bad async pending: %s" % err) from None
    return update
