"""The object server's ``EXPIRE`` verb: the expirer's deletes for one device, in one request.

The wire format and every answer are in :mod:`objstore.obj.expire_protocol`.
Each item is decided by :func:`expiry_refusal`, the same rule a single
``DELETE`` with ``X-If-Delete-At`` follows, and its tombstone is written by
the DiskFile like any DELETE's (temp file, fsync, rename, directory fsync)
before its status is counted.  Items are decided in green threads, then
handed to a worker thread in slices of ``ITEMS_PER_HAND_OFF``, whose
tombstones (their fsyncs) are written one after the other while other slices'
overlap on the thread pool: a hand-off per item cost a tenth of the item.
Two items of one object run one after the other, oldest timestamp first, as
two DELETEs would.

How many items run at once is bounded for the whole server, not per
request: several expirers send batches at the same time, and each tombstone
is created in and renamed out of the device's one ``tmp/`` directory, whose
lock the kernel spins on.  A profile of the 10,000-object pass with 16 items
per request (up to 128 at once per server) showed a quarter of the object
servers' CPU spinning on that lock in ``rename``.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Optional

from webob import Request, Response

from objstore.common.concurrency import GreenPile, GreenPool, tpool_execute
from objstore.common.http_response import json_response, plain_response
from objstore.common.storage_policy import POLICY_INDEX_HEADER
from objstore.common.storage_request import device_of_path
from objstore.common.timestamp import Timestamp
from objstore.obj.diskfile import (DiskFile, DiskFileDeviceUnavailable, DiskFileManager,
                                   DiskFileNoSpace, DiskFileRouter)
from objstore.obj.expire_protocol import (MAX_BODY_BYTES, BatchRefused, ExpireItem,
                                          decode_items, encode_statuses)
from objstore.obj.request_body import (BodyTooLarge, ClientDisconnect, ClientTimeout,
                                       MalformedBody, iter_body)

# Items in progress at once in one server, whatever the number of requests:
# enough to keep several fsyncs in flight on the thread pool.
ITEMS_AT_ONCE = 8
# Tombstones written in one hand-off to a worker thread, one after the other.
ITEMS_PER_HAND_OFF = 16

REFUSAL_REASONS = MappingProxyType({404: "Not Found",
                                    409: "Timestamp not newer than existing object",
                                    412: "X-If-Delete-At does not match"})


def expiry_refusal(current: Optional[Timestamp], metadata: Optional[dict[str, str]],
                   if_delete_at: int, timestamp: Timestamp) -> Optional[int]:
    """Why a DELETE with ``X-If-Delete-At`` leaves the object alone; None: tombstone it.

    ``current``/``metadata`` are the object's state (:meth:`DiskFile.current_state`).
    404: nothing of the object is here, so there is nothing to vouch for;
    409: a write at the DELETE's timestamp or newer is here (a newer upload,
    or the tombstone an earlier expirer pass wrote at this very expiry);
    412: the object's ``X-Delete-At`` is another one (postponed, removed, or
    the object was deleted before its time).
    """
    if current is None:
        return 404
    if current >= timestamp:
        return 409
    stored = (metadata or {}).get("X-Delete-At", "")
    if not (stored.isascii() and stored.isdigit()) or int(stored) != if_delete_at:
        return 412
    return None


class ExpireVerb:
    """``EXPIRE /<device>`` for one object server."""

    def __init__(self, managers: DiskFileRouter, chunk_size: int, client_timeout: float,
                 logger: Any):
        self.managers = managers
        self.chunk_size = chunk_size
        self.client_timeout = client_timeout
        self.logger = logger
        self._workers = GreenPool(ITEMS_AT_ONCE)   # shared by every EXPIRE request

    def EXPIRE(self, req: Request) -> Response:
        device = device_of_path(req)
        if device is None:
            return plain_response(400, "EXPIRE names a device: /<device>")
        raw_index = req.headers.get(POLICY_INDEX_HEADER, "0")
        if not (raw_index.isascii() and raw_index.isdigit()):
            return plain_response(400, "Invalid %s: %r" % (POLICY_INDEX_HEADER, raw_index))
        manager = self.managers.get(int(raw_index))
        if manager is None:
            return plain_response(503, "No policy with index %s" % raw_index)
        if req.content_length is None:
            return plain_response(411, "EXPIRE needs a Content-Length")
        if req.content_length > MAX_BODY_BYTES:
            return plain_response(413, "body larger than %d bytes" % MAX_BODY_BYTES)
        try:
            manager.device_path(device)
            body = b"".join(iter_body(req.environ["wsgi.input"], req.content_length,
                                      self.chunk_size, self.client_timeout, MAX_BODY_BYTES))
            items = decode_items(body)
        except DiskFileDeviceUnavailable as err:
            return plain_response(507, "Insufficient storage: %s" % err)
        except BatchRefused as err:
            return plain_response(err.status, err.reason)
        except BodyTooLarge:
            return plain_response(413, "body larger than %d bytes" % MAX_BODY_BYTES)
        except MalformedBody as err:
            return plain_response(400, str(err))
        except ClientTimeout:
            return plain_response(408, "Request Timeout")
        except ClientDisconnect:
            return plain_response(499, "Client Disconnect")
        statuses = self.expire_items(manager, device, items)
        return json_response(encode_statuses(statuses))

    def expire_items(self, manager: DiskFileManager, device: str,
                     items: list[ExpireItem]) -> list[int]:
        """Each item's status, in order; an object's items one after the other."""
        statuses = [500] * len(items)
        by_object: dict[tuple[str, str, str], list[int]] = {}
        for index, item in enumerate(items):
            by_object.setdefault((item.account, item.container, item.obj), []).append(index)
        alone = [indexes[0] for indexes in by_object.values() if len(indexes) == 1]
        pile = GreenPile(self._workers)
        for start in range(0, len(alone), ITEMS_PER_HAND_OFF):
            pile.spawn(self._expire_together, manager, device, items,
                       alone[start:start + ITEMS_PER_HAND_OFF], statuses)
        for indexes in by_object.values():
            if len(indexes) > 1:
                indexes.sort(key=lambda i: items[i].timestamp)
                pile.spawn(self._expire_in_order, manager, device, items, indexes, statuses)
        for _done in pile:
            pass
        return statuses

    def _expire_in_order(self, manager: DiskFileManager, device: str, items: list[ExpireItem],
                         indexes: list[int], statuses: list[int]) -> None:
        """One object's items: each decided on the state the one before left."""
        for index in indexes:
            self._expire_together(manager, device, items, [index], statuses)

    def _expire_together(self, manager: DiskFileManager, device: str, items: list[ExpireItem],
                         indexes: list[int], statuses: list[int]) -> None:
        """Decide items of distinct objects, then write their tombstones in one hand-off
        to a worker thread (one per item cost a tenth of an item's CPU)."""
        doomed: list[tuple[int, DiskFile, bool]] = []
        for index in indexes:
            item = items[index]
            try:
                df = manager.get_diskfile(device, item.partition, item.account,
                                          item.container, item.obj)
                current, live, metadata = df.current_state()
            except Exception as err:  # noqa: BLE001 - one bad item must not fail the others
                statuses[index] = self._failed(device, item, err)
                continue
            refusal = expiry_refusal(current, metadata, item.delete_at, item.timestamp)
            if refusal is None:
                doomed.append((index, df, live))
            else:
                statuses[index] = refusal
        if not doomed:
            return
        errors = tpool_execute(_write_tombstones, [(df, items[i].timestamp)
                                                   for i, df, _live in doomed])
        for (index, _df, live), err in zip(doomed, errors):
            statuses[index] = (204 if live else 404) if err is None \
                else self._failed(device, items[index], err)

    def _failed(self, device: str, item: ExpireItem, err: BaseException) -> int:
        where = "/%s/%s/%s/%s/%s" % (device, item.partition, item.account, item.container,
                                     item.obj)
        if isinstance(err, (DiskFileNoSpace, DiskFileDeviceUnavailable)):
            self.logger.error("EXPIRE %s: %s", where, err)
            return 507
        self.logger.error("EXPIRE %s failed", where, exc_info=err)
        return 500


def _write_tombstones(deletes: list[tuple[DiskFile, Timestamp]]) -> list[Optional[Exception]]:
    """Each tombstone written and durable, in a worker thread; each one's error or None.

    Only file-system calls happen here (no logging, no green locks): the
    caller reports the errors once back in its green thread.
    """
    errors: list[Optional[Exception]] = []
    for df, timestamp in deletes:
        try:
            df.delete(timestamp)
            errors.append(None)
        except Exception as err:  # noqa: BLE001 - reported by the caller
            errors.append(err)
    return errors
