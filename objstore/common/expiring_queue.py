"""Names in the queue of objects to expire (the hidden ``.expiring_objects`` account).

Every write that sets ``X-Delete-At`` leaves one row in a container of that
account, so the object expirer finds due objects by listing a few
containers instead of walking every disk.  Containers are time buckets
(``delete_at`` rounded down to a multiple of the divisor), so the expirer
lists only the buckets already due.  A row is named
``<delete_at>-<account>/<container>/<object>``, with ``delete_at`` as ten
digits so that a bucket lists its rows in expiry order.
"""
from __future__ import annotations

import dataclasses

EXPIRING_ACCOUNT = ".expiring_objects"
DEFAULT_CONTAINER_DIVISOR = 86400
# Rows carry no data; these are what the container server records for them.
ROW_CONTENT_TYPE = "text/plain"
ROW_ETAG = "d41d8cd98f00b204e9800998ecf8427e"  # md5 of nothing
# Sent by the expirer with its DELETE: it removes the row itself once the
# replicas answered, so the object server must not queue a second removal.
CLEAN_QUEUE_HEADER = "X-Backend-Clean-Expiring-Object-Queue"
# Sent by the proxy (only when its allow_open_expired option lets a client's
# X-Open-Expired through): serve an object whose X-Delete-At has passed but
# that the expirer has not removed yet.
OPEN_EXPIRED_HEADER = "X-Backend-Open-Expired"


def _ten_digits(value: int) -> str:
    return "%010d" % value


def queue_container(delete_at: int, divisor: int = DEFAULT_CONTAINER_DIVISOR) -> str:
    """The bucket container holding the rows of objects due at ``delete_at``."""
    if divisor < 1:
        raise ValueError("expiring_objects_container_divisor must be >= 1")
    return _ten_digits(int(delete_at) // divisor * divisor)


def queue_row(delete_at: int, account: str, container: str, obj: str) -> str:
    """The row naming one object's expiry."""
    return "%s-%s/%s/%s" % (_ten_digits(int(delete_at)), account, container, obj)


@dataclasses.dataclass(frozen=True)
class QueueRow:
    delete_at: int
    account: str
    container: str
    obj: str

    @property
    def delete_at_header(self) -> str:
        """The value the object stores as ``X-Delete-At`` (as the proxy wrote it)."""
        return str(self.delete_at)


def parse_queue_row(name: str) -> QueueRow:
    """Split a row name; ``ValueError`` for a name this module did not make."""
    stamp, sep, path = name.partition("-")
    if not sep or not stamp.isascii() or not stamp.isdigit():
        raise ValueError("not an expiring-object row: %r" % name)
    account, sep1, rest = path.partition("/")
    container, sep2, obj = rest.partition("/")
    if not (sep1 and sep2 and account and container and obj):
        raise ValueError("not an expiring-object row: %r" % name)
    return QueueRow(int(stamp), account, container, obj)


def bucket_is_due(container: str, now: float) -> bool:
    """True when the bucket ``container`` may hold rows due by ``now``."""
    return container.isascii() and container.isdigit() and int(container) <= now
