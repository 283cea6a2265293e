"""The object server's replication verbs: ``REPLICATE`` and ``SSYNC``.

The wire format is :mod:`objstore.obj.sync_protocol`; storage is the
DiskFile manager of the request's policy.  A received file is written like
any PUT (temp file, checksum against its ETag, fsync, rename, directory
fsync) and only when it is newer than what the node already holds.
"""
from __future__ import annotations

import sys
from typing import Any

from webob import Request, Response

from objstore.common.http_response import json_response, plain_response
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.common.storage_request import split_backend_path
from objstore.obj import sync_protocol as proto
from objstore.obj.diskfile import DiskFileManager, DiskFileRouter
from objstore.obj.diskfile.fs_partitions import is_suffix
from objstore.obj.diskfile.interface import ObjectFileInvalid
from objstore.obj.diskfile.rules import wanted_files
from objstore.obj.request_body import (ClientDisconnect, ClientTimeout, MalformedBody,
                                       iter_body)


class ReplicationVerbs:
    """REPLICATE and SSYNC for one object server."""

    def __init__(self, managers: DiskFileRouter, chunk_size: int, client_timeout: float,
                 logger: Any):
        self.managers = managers
        self.chunk_size = chunk_size
        self.client_timeout = client_timeout
        self.logger = logger

    def _target(self, req: Request) -> tuple[DiskFileManager, str, str, str]:
        device, partition, rest = split_backend_path(req, 2, 3)
        raw_index = req.headers.get(POLICY_INDEX_HEADER, "0")
        if not raw_index.isascii() or not raw_index.isdigit() \
                or self.managers.get(int(raw_index)) is None:
            raise proto.SyncProtocolError("unknown storage policy %r" % raw_index)
        manager = self.managers[int(raw_index)]
        return manager, str(device), str(partition), rest or ""

    def REPLICATE(self, req: Request) -> Response:
        try:
            manager, device, partition, rest = self._target(req)
            suffixes = [s for s in rest.split("-") if s]
            if not all(is_suffix(s) for s in suffixes):
                raise proto.SyncProtocolError("bad suffix list %r" % rest)
        except proto.SyncProtocolError as err:
            return plain_response(400, str(err))
        hashes = manager.suffix_hashes(device, partition, suffixes)
        return json_response(proto.encode_json(hashes))

    def SSYNC(self, req: Request) -> Response:
        phase = req.headers.get(proto.PHASE_HEADER, "")
        try:
            manager, device, partition, rest = self._target(req)
            if rest:
                raise proto.SyncProtocolError("SSYNC names a partition, not a suffix")
            body = iter_body(req.environ["wsgi.input"], req.content_length,
                             self.chunk_size, self.client_timeout, sys.maxsize)
            if phase == proto.MISSING_CHECK:
                return self._missing_check(manager, device, partition, b"".join(body))
            if phase == proto.UPDATES:
                return self._updates(manager, device, partition, body)
            raise proto.SyncProtocolError("%s must be %s or %s" % (
                proto.PHASE_HEADER, proto.MISSING_CHECK, proto.UPDATES))
        except (proto.SyncProtocolError, MalformedBody) as err:
            return plain_response(400, str(err))
        except ClientTimeout:
            return plain_response(408, "Request Timeout")
        except ClientDisconnect:
            return plain_response(499, "Client Disconnect")

    def _missing_check(self, manager: DiskFileManager, device: str, partition: str,
                       body: bytes) -> Response:
        offered = proto.decode_json_body(body, "hashes")
        local_by_suffix: dict[str, dict[str, list[str]]] = {}
        wanted: dict[str, list[str]] = {}
        for name_hash, names in offered.items():
            suffix = name_hash[-3:]
            if not is_suffix(suffix):
                raise proto.SyncProtocolError("bad object hash %r" % name_hash)
            if suffix not in local_by_suffix:
                local_by_suffix[suffix] = manager.list_hashes(device, partition, suffix)
            need = wanted_files(local_by_suffix[suffix].get(name_hash, []), names)
            if need:
                wanted[name_hash] = need
        return json_response(proto.encode_json({"wanted": wanted}))

    def _updates(self, manager: DiskFileManager, device: str, partition: str,
                 body: Any) -> Response:
        stored = skipped = 0
        refused = []
        for name_hash, name, metadata, chunks in proto.RecordReader(body):
            try:
                if manager.receive_file(device, partition, name_hash, name, metadata, chunks):
                    stored += 1
                else:
                    skipped += 1
            except ObjectFileInvalid as err:
                self.logger.error("sync into %s/%s refused %s/%s: %s", device, partition,
                                  name_hash, name, err)
                refused.append("%s/%s: %s" % (name_hash, name, err))
        return json_response(proto.encode_json({"stored": stored, "skipped": skipped,
                                                "refused": refused}))
