"""The batched expiry request: many due objects of one device in one backend request.

The object expirer used to send one ``DELETE`` with ``X-If-Delete-At`` per
replica of every due object; on a small machine the HTTP around each of
those cost twice the delete itself.  ``EXPIRE`` carries many such deletes
for one device of one object server::

    EXPIRE /<device>
    X-Backend-Storage-Policy-Index: <policy index>
    Content-Type: application/json
    Content-Length: <at most MAX_BODY_BYTES>

    {"items": [{"partition": "17", "account": "AUTH_a", "container": "c",
                "object": "o", "x-if-delete-at": "1700000000",
                "x-timestamp": "1700000000.00000"}, ...]}

at most ``MAX_ITEMS`` items, names as text (JSON strings).  The answer is
``200`` with ``{"statuses": [204, 404, 412, ...]}``: one status per item, in
order, each exactly what a single ``DELETE`` of that object with those
``X-If-Delete-At`` and ``X-Timestamp`` headers would answer:

- ``204`` (the object was live) or ``404`` (it was already past its time):
  a tombstone timestamped ``x-timestamp`` is fsynced and renamed into place;
- ``404`` also when the device holds nothing of the object (nothing written);
- ``409`` when a write as new as ``x-timestamp`` or newer is there;
- ``412`` when the object's ``X-Delete-At`` is not ``x-if-delete-at`` (its
  expiry changed, or it was deleted before its time);
- ``507`` (device full) or ``500`` for an item the server could not do.

Unlike a single DELETE, an item updates neither the container listing nor
the expiring-objects queue: the expirer tells both itself, in batches.

The whole request is refused, nothing done, with ``400`` (a body that is not
this JSON shape, nested deeper than an item, or an item with a missing or
malformed field), ``411`` (no ``Content-Length``), ``413`` (more than
``MAX_ITEMS`` items or ``MAX_BODY_BYTES`` bytes), ``503`` (a policy the node
does not know) or ``507`` (device unavailable).  A server older than this
verb answers ``405``; the expirer then sends that node single DELETEs.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Sequence

from objstore.common.timestamp import InvalidTimestamp, Timestamp

EXPIRE_METHOD = "EXPIRE"
MAX_ITEMS = 1000
# An item is at most ~1.6 KB (a 1024-byte object name, 256-byte account and
# container names, JSON escaping aside): room for MAX_ITEMS of the usual size.
MAX_BODY_BYTES = 2 * 1024 * 1024
FIELDS = ("partition", "account", "container", "object", "x-if-delete-at", "x-timestamp")


class BatchRefused(Exception):
    """The whole request is refused; ``status`` says how (400, 411, 413)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class ExpireItem:
    """One object replica to expire: the fields of a single expiring DELETE."""

    partition: str
    account: str
    container: str
    obj: str
    delete_at: int
    timestamp: Timestamp


def _digits(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit()


def _text(item: dict, field: str) -> str:
    value = item.get(field)
    if not isinstance(value, str) or not value:
        raise BatchRefused(400, "item field %r must be a non-empty string" % field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BatchRefused(400, "item field %r is not valid UTF-8" % field) from None
    return value


def _decode_item(item: Any) -> ExpireItem:
    if not isinstance(item, dict) or set(item) != set(FIELDS):
        raise BatchRefused(400, "each item must be an object with exactly the fields %s"
                           % ", ".join(FIELDS))
    partition, delete_at = item["partition"], item["x-if-delete-at"]
    if not _digits(partition) or not _digits(delete_at):
        raise BatchRefused(400, "item partition and x-if-delete-at must be digit strings")
    stamp = item["x-timestamp"]
    try:
        timestamp = Timestamp(stamp) if isinstance(stamp, str) else None
    except (InvalidTimestamp, ValueError):
        timestamp = None
    if timestamp is None:
        raise BatchRefused(400, "item x-timestamp %r is not a timestamp" % (stamp,))
    return ExpireItem(partition, _text(item, "account"), _text(item, "container"),
                      _text(item, "object"), int(delete_at), timestamp)


def decode_items(body: bytes) -> list[ExpireItem]:
    """The items of a request body; :class:`BatchRefused` for anything else."""
    if len(body) > MAX_BODY_BYTES:
        raise BatchRefused(413, "body larger than %d bytes" % MAX_BODY_BYTES)
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BatchRefused(400, "body is not JSON") from None
    except RecursionError:
        raise BatchRefused(400, "body nested too deep") from None
    if not isinstance(doc, dict) or set(doc) != {"items"} or not isinstance(doc["items"], list):
        raise BatchRefused(400, 'body must be {"items": [...]}')
    if len(doc["items"]) > MAX_ITEMS:
        raise BatchRefused(413, "more than %d items" % MAX_ITEMS)
    return [_decode_item(item) for item in doc["items"]]


def encode_item(item: ExpireItem) -> dict[str, str]:
    return {"partition": str(item.partition), "account": item.account,
            "container": item.container, "object": item.obj,
            "x-if-delete-at": str(item.delete_at), "x-timestamp": item.timestamp.internal}


def encode_items(items: Sequence[ExpireItem]) -> bytes:
    return json.dumps({"items": [encode_item(i) for i in items]}).encode("utf-8")


def encode_statuses(statuses: Sequence[int]) -> bytes:
    return json.dumps({"statuses": list(statuses)}).encode("ascii")


def decode_statuses(body: bytes, count: int) -> list[int]:
    """The per-item statuses of an answer to ``count`` items; ValueError if it is not one."""
    doc = json.loads(body.decode("utf-8"))
    statuses = doc.get("statuses") if isinstance(doc, dict) else None
    if not isinstance(statuses, list) or len(statuses) != count or not all(
            isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599
            for s in statuses):
        raise ValueError("answer does not hold %d statuses" % count)
    return statuses
