"""One page of an account or container listing, straight from the name index.

Both brokers list the same way: rows in name order (SQLite compares TEXT as
UTF-8 bytes, which is Swift's order), optionally narrowed by marker,
end_marker and prefix, and rolled up by a delimiter.  Every query is a range
scan of the ``(deleted, name)`` index; a rolled-up prefix is skipped by
restarting the scan just past it, never by reading through it.
"""
from __future__ import annotations

import sqlite3
from typing import Any, Callable, Optional

from objstore.common.listing_format import SubdirEntry
from objstore.common.reserved_names import FIRST_UNRESERVED


def list_rows(conn: sqlite3.Connection, item_table: str, columns: str,
              make_entry: Callable[[tuple], Any], limit: int, marker: str = "",
              end_marker: str = "", prefix: str = "", delimiter: str = "",
              path: Optional[str] = None, reverse: bool = False,
              show_reserved: bool = True) -> list[Any]:
    """A listing page in name order (UTF-8 byte order), rolled up by ``delimiter``.

    Every query is a range scan of the ``(deleted, name)`` index.  When a
    row rolls up into a ``subdir``, the scan restarts past everything under
    that prefix instead of reading through it, so a page costs at most
    ``limit`` index steps plus one query per rolled-up prefix.

    ``path`` (Swift's older directory listing) lists the entries directly
    under ``path/``: deeper names are skipped, not rolled up, and so is the
    directory's own marker object ``path/`` (a tree walker that listed it
    would descend into the same directory forever).
    """
    if path is not None:
        prefix = path.rstrip("/") + "/" if path else ""
        delimiter = "/"
    limit = max(0, int(limit))
    results: list[Any] = []
    if limit == 0:
        return results
    original_marker = marker
    # Bounds: (low, low_inclusive), (high, high_inclusive); None = unbounded.
    low: Optional[str] = None
    low_incl = False
    high: Optional[str] = None
    high_incl = False
    if reverse:
        if marker:
            high, high_incl = marker, False
        if end_marker:
            low, low_incl = end_marker, False
    else:
        if marker:
            low, low_incl = marker, False
        if end_marker:
            high, high_incl = end_marker, False
    if prefix:
        prefix_end = _next_prefix(prefix)
        if low is None or prefix > low:
            low, low_incl = prefix, True
        if prefix_end is not None and (high is None or prefix_end <= high):
            high, high_incl = prefix_end, False
    if not show_reserved and (low is None or low < FIRST_UNRESERVED):
        # every reserved name sorts before the first unreserved one
        low, low_incl = FIRST_UNRESERVED, True
    sql_head = "SELECT %s FROM %s INDEXED BY ix_%s_deleted_name WHERE deleted = 0" % (
        columns, item_table, item_table)
    order = " ORDER BY name DESC" if reverse else " ORDER BY name"
    while len(results) < limit:
        where = []
        params: list[Any] = []
        if low is not None:
            where.append("name >= ?" if low_incl else "name > ?")
            params.append(low)
        if high is not None:
            where.append("name <= ?" if high_incl else "name < ?")
            params.append(high)
        sql = sql_head + "".join(" AND " + w for w in where) + order + " LIMIT ?"
        wanted = limit - len(results)
        params.append(wanted)
        # Iterate the cursor (sqlite steps lazily): after a roll-up the
        # rest of this query's rows are never read.
        seen = 0
        name = ""
        restarted = False
        for row in conn.execute(sql, params):
            seen += 1
            name = row[0]
            if path is not None and prefix and name == prefix:
                continue
            if delimiter:
                cut = name.find(delimiter, len(prefix))
                if cut >= 0:
                    subdir = name[:cut + len(delimiter)]
                    if path is not None:
                        if len(name) == len(subdir):
                            results.append(make_entry(row))
                            continue
                    elif subdir != original_marker:
                        results.append(SubdirEntry(subdir))
                    # Skip everything under ``subdir`` with a fresh query.
                    if reverse:
                        # In ``path`` mode the object named exactly ``subdir``
                        # is listed, so the bound includes it.
                        high, high_incl = subdir, path is not None
                    else:
                        low, low_incl = _next_prefix(subdir), True
                        if low is None:
                            return results
                    restarted = True
                    break
            results.append(make_entry(row))
        if not restarted:
            if seen < wanted:
                break
            # A full batch without a roll-up: continue after its last name.
            if reverse:
                high, high_incl = name, False
            else:
                low, low_incl = name, False
    return results[:limit]


def _next_prefix(prefix: str) -> Optional[str]:
    """The smallest string greater than every string that starts with ``prefix``.

    Code point order is UTF-8 byte order, so bumping the last character works
    for SQLite's byte-wise comparison too.  None when no such string exists.
    """
    while prefix:
        last = ord(prefix[-1])
        bumped = last + 1
        if 0xD800 <= bumped <= 0xDFFF:
            bumped = 0xE000
        if bumped <= 0x10FFFF:
            return prefix[:-1] + chr(bumped)
        prefix = prefix[:-1]
    return None
