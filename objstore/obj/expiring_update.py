"""Keeping the expiring-objects queue in step with an object's ``X-Delete-At``.

The proxy names the queue container replicas for the object's new
``X-Delete-At`` (``X-Delete-At-Container``/``-Host``/``-Device``/
``-Partition``).  When a write changes the value, the row of the old value
is removed and a row for the new one added, through the same container
update path (and async pendings) as the object's own listing.  Nobody names
the replicas of the old row's bucket, so unless it is the new bucket, its
removal is queued for the object updater, which looks them up in the ring.
"""
from __future__ import annotations

from typing import Mapping, Optional

from objstore.common.expiring_queue import (EXPIRING_ACCOUNT, ROW_CONTENT_TYPE, ROW_ETAG,
                                            queue_container, queue_row)
from objstore.common.timestamp import Timestamp
from objstore.obj.container_update import BadContainerHeaders, parse_container_nodes, \
    update_headers
from objstore.obj.diskfile import AsyncUpdate

# The queue's containers live in the default policy whatever the object's policy.
QUEUE_POLICY_INDEX = 0


def _delete_at(value: Optional[str]) -> Optional[int]:
    if value and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def queue_updates(headers: Mapping[str, str], account: str, container: str, obj: str,
                  policy_index: int, timestamp: Timestamp, trans_id: str,
                  old_value: Optional[str], new_value: Optional[str],
                  divisor: int) -> list[AsyncUpdate]:
    """The queue row removals/additions a write from ``old_value`` to ``new_value`` needs.

    ``policy_index`` is the object's (it picks where pendings are stored);
    the rows themselves are recorded under :data:`QUEUE_POLICY_INDEX`.
    """
    old, new = _delete_at(old_value), _delete_at(new_value)
    if old == new:
        return []
    new_nodes = parse_container_nodes(headers, "X-Delete-At") if new is not None else []
    new_bucket = None
    if new is not None:
        new_bucket = headers.get("X-Delete-At-Container", "").strip() or \
            queue_container(new, divisor)
        if not new_bucket.isascii() or not new_bucket.isdigit():
            raise BadContainerHeaders("bad X-Delete-At-Container %r" % new_bucket)
    updates = []
    if old is not None:
        old_bucket = queue_container(old, divisor)
        updates.append(AsyncUpdate(
            op="DELETE", account=EXPIRING_ACCOUNT, container=old_bucket,
            obj=queue_row(old, account, container, obj),
            headers=update_headers("DELETE", timestamp, QUEUE_POLICY_INDEX, trans_id),
            nodes=list(new_nodes) if old_bucket == new_bucket else [],
            policy_index=policy_index))
    if new is not None and new_nodes:
        # Without named replicas another object node records the row.
        updates.append(AsyncUpdate(
            op="PUT", account=EXPIRING_ACCOUNT, container=new_bucket,
            obj=queue_row(new, account, container, obj),
            headers=update_headers("PUT", timestamp, QUEUE_POLICY_INDEX, trans_id, 0,
                                   ROW_CONTENT_TYPE, ROW_ETAG),
            nodes=new_nodes, policy_index=policy_index))
    return updates
