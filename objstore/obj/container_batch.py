"""Container updates that arrive together leave together: one ``UPDATE`` per device.

Many uploads into one container make every object server report rows to
the same container replica at the same moment.  Profiled at 16 concurrent
4 KiB PUTs, the container servers spent about 2 ms of CPU per row update,
most of it the request around the row (connection, green thread, headers,
response), since group commit already shares the COMMIT.  So the first
update for a replica leads: while the previous batch to that replica is
still in flight, and for a few turns of the hub after, the updates that
arrive join its batch (:mod:`objstore.common.gathering`), and it waits a
few milliseconds more for the writes that were already in their fsyncs when
it arrived (:meth:`ContainerUpdateBatcher.writing`); then it sends
them as one ``UPDATE`` (the format is :mod:`objstore.common.object_row_batch`)
and hands every member its answer.  Rounds are per container server device,
not per container: rows for several containers on that device travel as
sections of one request, so uploads spread over many containers batch as
well as uploads into one.
Nobody is answered before the container server answered for its row, so
an object write reports exactly what a single update would: the rows of a
failed batch become async pendings like a failed single update.

A container server that does not know ``UPDATE`` (405, a mixed-version
cluster during an upgrade) gets the batch's rows one request each; one that
knows ``UPDATE`` but not sections (400) gets one ``UPDATE`` per container.
"""
from __future__ import annotations

import logging
from typing import ContextManager, NamedTuple, Optional

from objstore.common.backend_client import BackendError, backend_request
from objstore.common.gathering import Arrivals, Gatherer
from objstore.common.http_text import wsgi_to_str
from objstore.common.object_row_batch import (MAX_BATCH_ROWS, OBJECT_RECORDS, OBJECT_SECTIONS,
                                              RECORD_TYPE_HEADER, RowSection, encode_row_batch,
                                              encode_sections, object_row,
                                              parse_section_statuses)
from objstore.common.reserved_names import ALLOW_RESERVED_HEADER
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.obj.container_update import send_update
from objstore.obj.diskfile import AsyncUpdate, ContainerNode

# Turns of the hub a leader waits for more updates when none is in flight.
GATHER_ROUNDS = 2
# Longest a batch waits for writes that were in their fsyncs when it opened.
# Under 16 concurrent PUTs a write's fsyncs (data, hash dir, a new suffix
# dir) took 10-30 ms here; waits of 6, 20 and 50 ms made batches of 2.2,
# 2.7 and 3.1 rows.  The bound is what one update may lose in latency.
WRITES_WAIT = 0.015


class _Member(NamedTuple):
    """One update in a round, with the row it was found to make."""
    node: ContainerNode
    update: AsyncUpdate
    row: dict


class ContainerUpdateBatcher:
    """Sends one process's container updates, grouped per container replica."""

    def __init__(self, conn_timeout: float, node_timeout: float, logger: logging.Logger,
                 max_rows: int = MAX_BATCH_ROWS, gather_rounds: int = GATHER_ROUNDS,
                 writes_wait: float = WRITES_WAIT):
        self.conn_timeout = conn_timeout
        self.node_timeout = node_timeout
        self.logger = logger
        self._writes = Arrivals()
        self._gatherer = Gatherer(gather_rounds, max_items=max_rows, arrivals=self._writes,
                                  max_wait=writes_wait)
        self.requests = 0     # requests sent (for tests and the curious)
        self.rows = 0         # rows they carried

    def writing(self) -> ContextManager[None]:
        """Wrap a write's durable step; its container updates must follow at once."""
        return self._writes.coming()

    def send(self, node: ContainerNode, update: AsyncUpdate) -> bool:
        """True when ``node`` took ``update``'s row (a 2xx for it or its batch)."""
        row = _row_of(update)
        if row is None:
            # Not expressible as a row (an override that is not a number):
            # the single request lets the container server judge it.
            return self._send_one(node, update)
        key = (node.ip, node.port, node.device)
        return self._gatherer.submit(key, _Member(node, update, row), self._deliver)

    def _deliver(self, members: list[_Member]) -> list[bool]:
        """One round for one device: a request for one container's rows, or
        one with a section per container."""
        by_container: dict[tuple, list[_Member]] = {}
        for member in members:
            key = (member.node.partition, member.update.account, member.update.container)
            by_container.setdefault(key, []).append(member)
        groups = list(by_container.values())
        if len(groups) == 1:
            return self._deliver_rows(members)
        statuses = self._deliver_sections(groups)
        outcome: dict[int, bool] = {}
        for group, status in zip(groups, statuses):
            if status is None:   # not understood: this container's rows on their own
                results = self._deliver_rows(group)
            else:
                results = [200 <= status < 300] * len(group)
            outcome.update((id(member), result) for member, result in zip(group, results))
        return [outcome[id(member)] for member in members]

    def _deliver_sections(self, groups: list[list[_Member]]) -> list[Optional[int]]:
        """Each group's status from one sectioned ``UPDATE`` (0: failed); None
        for every group when the server does not know sections."""
        node = groups[0][0].node
        sections = [RowSection(group[0].node.partition, group[0].update.account,
                               group[0].update.container, [member.row for member in group])
                    for group in groups]
        headers = self._batch_headers([member.update for group in groups for member in group])
        headers[RECORD_TYPE_HEADER] = OBJECT_SECTIONS
        rows = sum(len(group) for group in groups)
        self.requests += 1
        self.rows += rows
        where = "%s:%s/%s" % (node.ip, node.port, node.device)
        try:
            resp = backend_request(node.ip, node.port, node.device, None, "UPDATE", "",
                                   headers=headers, body=encode_sections(sections),
                                   conn_timeout=self.conn_timeout,
                                   response_timeout=self.node_timeout)
        except (BackendError, OSError) as err:
            self.logger.warning("container update of %d rows in %d containers to %s failed: "
                                "%s", rows, len(sections), where, err)
            return [0] * len(groups)
        if resp.status in (400, 405):
            return [None] * len(groups)
        try:
            if resp.status != 200:
                raise ValueError("answered %d" % resp.status)
            statuses: list[Optional[int]] = list(parse_section_statuses(resp.body,
                                                                        len(sections)))
        except ValueError as err:
            self.logger.warning("container update of %d rows in %d containers to %s: %s",
                                rows, len(sections), where, err)
            return [0] * len(groups)
        for section, status in zip(sections, statuses):
            if not 200 <= (status or 0) < 300:
                self.logger.warning("container update of %d rows to %s/%s/%s/%s answered %s",
                                    len(section.rows), where, section.partition,
                                    section.account, section.container, status)
        return statuses

    def _deliver_rows(self, members: list[_Member]) -> list[bool]:
        """One container's rows in one ``UPDATE``."""
        node, first = members[0].node, members[0].update
        if len(members) == 1:
            return [self._send_one(node, first)]
        updates = [member.update for member in members]
        headers = self._batch_headers(updates)
        headers[RECORD_TYPE_HEADER] = OBJECT_RECORDS
        path = "/%s/%s" % (first.account, first.container)
        self.requests += 1
        self.rows += len(members)
        try:
            resp = backend_request(node.ip, node.port, node.device, node.partition, "UPDATE",
                                   path, headers=headers,
                                   body=encode_row_batch([member.row for member in members]),
                                   conn_timeout=self.conn_timeout,
                                   response_timeout=self.node_timeout)
        except (BackendError, OSError) as err:
            self.logger.warning("container update of %d rows to %s:%s/%s%s failed: %s",
                                len(members), node.ip, node.port, node.device, path, err)
            return [False] * len(members)
        if 200 <= resp.status < 300:
            return [True] * len(members)
        if resp.status == 405:
            return [self._send_one(node, update) for update in updates]
        self.logger.warning("container update of %d rows to %s:%s/%s%s answered %d",
                            len(members), node.ip, node.port, node.device, path, resp.status)
        return [False] * len(members)

    @staticmethod
    def _batch_headers(updates: list[AsyncUpdate]) -> dict[str, str]:
        headers = {"Content-Type": "application/json",
                   "X-Trans-Id": updates[0].headers.get("X-Trans-Id", "")}
        if any("\x00" in update.obj or "\x00" in update.container for update in updates):
            headers[ALLOW_RESERVED_HEADER] = "true"
        return headers

    def _send_one(self, node: ContainerNode, update: AsyncUpdate) -> bool:
        self.requests += 1
        self.rows += 1
        return send_update(node, update, self.conn_timeout, self.node_timeout, self.logger)


def _row_of(update: AsyncUpdate) -> Optional[dict]:
    """The batch row for ``update``, or None when its headers do not make one."""
    headers = {name.lower(): value for name, value in update.headers.items()}
    try:
        policy_index = int(headers[POLICY_INDEX_HEADER.lower()])
        timestamp = headers["x-timestamp"]
        if update.op == "DELETE":
            return object_row(update.obj, timestamp, True, policy_index)
        if update.op != "PUT":
            return None
        size = int(headers.get("x-size", "0"))
    except (KeyError, ValueError):
        return None
    if size < 0 or "x-content-type" not in headers or "x-etag" not in headers:
        return None
    return object_row(update.obj, timestamp, False, policy_index, size,
                      wsgi_to_str(headers["x-content-type"]), wsgi_to_str(headers["x-etag"]))
