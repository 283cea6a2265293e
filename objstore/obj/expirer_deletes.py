"""How the object expirer deletes a batch of due objects from their replicas.

One ``EXPIRE`` request per object-server device (and policy) carries every
replica of the batch that device holds (:mod:`objstore.obj.expire_protocol`),
where one ``DELETE`` per replica used to: the HTTP around each request cost
the servers more than the delete itself.  A device gets several requests when
its share is larger than one request may carry.

Mixed versions: a node whose server predates ``EXPIRE`` answers 405 (or 404
or 501 from something that does not route the verb); from then on, for the
rest of the pass, that node gets the same deletes as single ``DELETE``
requests with ``X-If-Delete-At``, which answer with the same statuses.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, Optional, Sequence

from objstore.common.backend_client import BackendResponse
from objstore.common.concurrency import GreenPile
from objstore.common.expiring_queue import CLEAN_QUEUE_HEADER, QueueRow
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.common.timestamp import Timestamp
from objstore.obj.expire_protocol import (EXPIRE_METHOD, MAX_BODY_BYTES, MAX_ITEMS,
                                          ExpireItem, decode_statuses, encode_items)

# Object server answers that settle a replica besides 2xx: already gone or
# nothing here (404), a write as new as the expiry (409), expiry changed (412).
SETTLED = (404, 409, 412)
# What a server without the EXPIRE verb answers it.
NO_EXPIRE_VERB = (404, 405, 501)

Request = Callable[..., Optional[BackendResponse]]


@dataclasses.dataclass(frozen=True)
class DueObject:
    """A due queue row and the replicas its object has under its policy's ring."""

    name: str                      # the queue row
    row: QueueRow
    policy_index: int
    partition: int
    nodes: Sequence[Mapping[str, Any]]

    def item(self) -> ExpireItem:
        row = self.row
        return ExpireItem(str(self.partition), row.account, row.container, row.obj,
                          row.delete_at, Timestamp(row.delete_at))


def row_outcome(statuses: Sequence[Optional[int]], replicas: int) -> Optional[str]:
    """``"expired"``/``"skipped"`` once a majority of replicas settled; None to retry.

    ``"skipped"`` only when every settled replica said its expiry changed
    (412): the object stays, and so does its listing row.  Otherwise the
    listing takes a tombstone at the expiry, which is right for a replica that
    just deleted it (2xx, 404), and harmless where a newer write is (409: its
    listing row is newer and wins) — and it is how a row whose listing update
    failed last pass, its objects now tombstones (409), still reaches the listing.
    """
    settled = [s for s in statuses if s is not None and (200 <= s < 300 or s in SETTLED)]
    if len(settled) < replicas // 2 + 1:
        return None
    return "expired" if any(s != 412 for s in settled) else "skipped"


class ReplicaDeletes:
    """One pass's deletes: the EXPIRE batches, and single DELETEs for older nodes."""

    def __init__(self, request: Request, concurrency: int, logger: Any):
        self._request = request
        self.concurrency = concurrency
        self.logger = logger
        self._without_expire: set[tuple[str, int]] = set()   # nodes that predate EXPIRE

    def statuses(self, due: Sequence[DueObject]) -> list[list[Optional[int]]]:
        """Each due object's answers, one per replica (None: no answer)."""
        answers: list[list[Optional[int]]] = [[None] * len(d.nodes) for d in due]
        groups: dict[tuple[str, int, str, int], list[tuple[int, int]]] = {}
        for i, entry in enumerate(due):
            for r, node in enumerate(entry.nodes):
                key = (node["ip"], int(node["port"]), node["device"], entry.policy_index)
                groups.setdefault(key, []).append((i, r))
        pile = GreenPile(max(1, self.concurrency))
        spawned = []
        for key, members in groups.items():
            for start in range(0, len(members), MAX_ITEMS):
                chunk = members[start:start + MAX_ITEMS]
                node = due[chunk[0][0]].nodes[chunk[0][1]]
                pile.spawn(self._device_statuses, node, key[3], [due[i] for i, _r in chunk])
                spawned.append(chunk)
        for chunk, statuses in zip(spawned, pile):
            for (i, r), status in zip(chunk, statuses):
                answers[i][r] = status
        return answers

    def _device_statuses(self, node: Mapping[str, Any], policy_index: int,
                         due: list[DueObject]) -> list[Optional[int]]:
        if (node["ip"], int(node["port"])) not in self._without_expire:
            body = encode_items([d.item() for d in due])
            if len(body) > MAX_BODY_BYTES and len(due) > 1:
                half = len(due) // 2
                return (self._device_statuses(node, policy_index, due[:half])
                        + self._device_statuses(node, policy_index, due[half:]))
            resp = self._request(node, None, EXPIRE_METHOD, "",
                                 {POLICY_INDEX_HEADER: str(policy_index),
                                  "Content-Type": "application/json"}, body=body)
            if resp is None:
                return [None] * len(due)
            if resp.status == 200:
                try:
                    return list(decode_statuses(resp.body, len(due)))
                except ValueError as err:
                    self.logger.error("object expirer: EXPIRE to %s:%s/%s answered %s",
                                      node["ip"], node["port"], node["device"], err)
                    return [None] * len(due)
            if resp.status not in NO_EXPIRE_VERB:
                self.logger.error("object expirer: EXPIRE to %s:%s/%s: %d %s", node["ip"],
                                  node["port"], node["device"], resp.status, resp.reason)
                return [None] * len(due)
            self.logger.warning("object expirer: %s:%s answers EXPIRE with %d; single "
                                "DELETEs to it for this pass", node["ip"], node["port"],
                                resp.status)
            self._without_expire.add((node["ip"], int(node["port"])))
        return self._single_deletes(node, policy_index, due)

    def _single_deletes(self, node: Mapping[str, Any], policy_index: int,
                        due: list[DueObject]) -> list[Optional[int]]:
        """The same deletes one request each; no ``X-Container-*`` headers, as in EXPIRE."""
        pile = GreenPile(max(1, self.concurrency))
        for entry in due:
            row = entry.row
            headers = {"X-Timestamp": Timestamp(row.delete_at).internal,
                       "X-If-Delete-At": row.delete_at_header,
                       POLICY_INDEX_HEADER: str(policy_index), CLEAN_QUEUE_HEADER: "no"}
            pile.spawn(self._request, node, entry.partition, "DELETE",
                       "/%s/%s/%s" % (row.account, row.container, row.obj), headers)
        return [None if resp is None else resp.status for resp in pile]
