"""The sending side of object replication: compare digests, offer, stream files.

One :class:`SyncSender` talks to one remote device for one partition and
policy (see :mod:`objstore.obj.sync_protocol` for the wire format).  It only
reads local files through the DiskFile manager; the receiver decides what it
keeps.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterable, Optional

from objstore.common.backend_client import (BackendConnection, BackendError,
                                            backend_request, quote_backend_path)
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.obj import sync_protocol as proto
from objstore.obj.diskfile import DiskFileManager, DiskFileNotExist
from objstore.obj.throttle import RateLimiter


class SyncFailed(Exception):
    """The remote did not answer as the protocol says (the pass counts a failure).

    ``unavailable`` is True when the remote could not take the partition at
    all: unreachable, or its device unmounted (507).  The replicator then
    gives the partition's replica to a handoff instead.
    """

    def __init__(self, message: str, unavailable: bool = False):
        super().__init__(message)
        self.unavailable = unavailable


@dataclasses.dataclass
class SyncResult:
    sent: int = 0            # files the remote stored
    bytes_sent: int = 0
    # ``{hash: [names]}`` of local files the remote now holds (or has newer):
    # what a drained handoff may remove.
    in_sync: dict = dataclasses.field(default_factory=dict)
    refused: list = dataclasses.field(default_factory=list)


class SyncSender:
    def __init__(self, manager: DiskFileManager, device: str, partition: str,
                 node: dict, conn_timeout: float, node_timeout: float,
                 limiter: Optional[RateLimiter] = None, chunk_size: int = 65536):
        self.manager = manager
        self.device = device
        self.partition = str(partition)
        self.node = node
        self.conn_timeout = conn_timeout
        self.node_timeout = node_timeout
        self.limiter = limiter or RateLimiter(0)
        self.chunk_size = chunk_size
        self.headers = {POLICY_INDEX_HEADER: str(manager.policy_index)}

    def _json(self, method: str, suffix_path: str = "", body: bytes = b"",
              phase: str = "") -> Any:
        headers = dict(self.headers)
        if phase:
            headers[proto.PHASE_HEADER] = phase
        path = "/" + suffix_path if suffix_path else ""
        try:
            resp = backend_request(self.node["ip"], self.node["port"], self.node["device"],
                                   self.partition, method, path, headers=headers,
                                   body=body, conn_timeout=self.conn_timeout,
                                   response_timeout=self.node_timeout)
        except BackendError as err:
            raise SyncFailed(str(err), unavailable=True) from None
        if resp.status != 200:
            raise SyncFailed("%s %s/%s: %d %s" % (method, self.node["device"],
                                                  self.partition, resp.status,
                                                  resp.body[:200]),
                             unavailable=resp.status == 507)
        try:
            return json.loads(resp.body)
        except ValueError:
            raise SyncFailed("%s answered no JSON" % method) from None

    def remote_hashes(self, recalculate: Iterable[str] = ()) -> dict[str, str]:
        """The remote's suffix digests, recomputing ``recalculate`` there first."""
        doc = self._json("REPLICATE", "-".join(sorted(recalculate)))
        if not isinstance(doc, dict):
            raise SyncFailed("REPLICATE answered %r" % (doc,))
        return doc

    def sync(self, suffixes: Iterable[str]) -> SyncResult:
        """Bring the remote up to date with the local files of ``suffixes``."""
        local: dict[str, list[str]] = {}
        for suffix in suffixes:
            local.update(self.manager.list_hashes(self.device, self.partition, suffix))
        result = SyncResult()
        if not local:
            return result
        body = proto.encode_json({"hashes": local})
        wanted = self._json("SSYNC", body=body, phase=proto.MISSING_CHECK).get("wanted")
        if not isinstance(wanted, dict):
            raise SyncFailed("missing-check answered no 'wanted'")
        if wanted:
            answer = self._send_updates(wanted, result)
            result.sent = int(answer.get("stored", 0))
            result.refused = list(answer.get("refused", []))
        refused_files = {entry.split(":", 1)[0] for entry in result.refused}
        for name_hash, names in local.items():
            if not any("%s/%s" % (name_hash, n) in refused_files for n in names):
                result.in_sync[name_hash] = names
        return result

    def _send_updates(self, wanted: dict, result: SyncResult) -> dict:
        conn = BackendConnection(self.node["ip"], self.node["port"], self.conn_timeout,
                                 self.node_timeout)
        try:
            headers = dict(self.headers, **{proto.PHASE_HEADER: proto.UPDATES,
                                            "Connection": "close"})
            conn.putrequest("SSYNC", quote_backend_path(self.node["device"],
                                                        self.partition, ""),
                            headers, chunked=True)
            for name_hash in sorted(wanted):
                for name in wanted[name_hash]:
                    self._send_file(conn, name_hash, name, result)
            conn.finish()
            resp = conn.getresponse()
            data = resp.read()
        except BackendError as err:
            raise SyncFailed(str(err)) from None
        finally:
            conn.close()
        if resp.status != 200:
            raise SyncFailed("SSYNC updates: %d %s" % (resp.status, data[:200]))
        try:
            return json.loads(data)
        except ValueError:
            raise SyncFailed("SSYNC updates answered no JSON") from None

    def _send_file(self, conn: BackendConnection, name_hash: str, name: str,
                   result: SyncResult) -> None:
        try:
            stored = self.manager.read_file(self.device, self.partition, name_hash, name,
                                            self.chunk_size)
        except DiskFileNotExist:
            return  # replaced since the offer: the next pass sends the new state
        conn.send(proto.encode_record_header(name_hash, name, stored.size, stored.metadata))
        for chunk in stored.chunks:
            conn.send(chunk)
            result.bytes_sent += len(chunk)
            self.limiter.consume(len(chunk))
