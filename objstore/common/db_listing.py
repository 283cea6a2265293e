"""One page of an account or container listing, straight from the name index.

Both brokers list the same way: rows in name order (SQLite compares TEXT as
UTF-8 bytes, which is Swift's order), optionally narrowed by marker,
end_marker and prefix, and rolled up by a delimiter.  Every query is a range
scan of the ``(deleted, name)`` index; a rolled-up prefix is skipped by
seeking just past it, never by reading through it.

A page without a delimiter is one query.  With a delimiter, rows are read
by range scans in Python, and a run of rolled-up prefixes (a container's
top level of 1,000 "directories") is skipped by one recursive query that
seeks from prefix to prefix inside SQLite: each seek there costs a few
microseconds, a fresh query from Python several times that.  The whole page
is read in one read transaction, so its queries see one snapshot.
"""
from __future__ import annotations

import sqlite3
from typing import Any, Callable, Optional

from objstore.common.listing_format import SubdirEntry
from objstore.common.reserved_names import FIRST_UNRESERVED

# A bound on names: (value, inclusive), or None for no bound.
Bound = Optional[tuple[str, bool]]


def list_rows(conn: sqlite3.Connection, item_table: str, columns: str,
              make_entry: Optional[Callable[[tuple], Any]], limit: int, marker: str = "",
              end_marker: str = "", prefix: str = "", delimiter: str = "",
              path: Optional[str] = None, reverse: bool = False,
              show_reserved: bool = True) -> list[Any]:
    """A listing page in name order (UTF-8 byte order), rolled up by ``delimiter``.

    ``columns`` start with ``name``; each row becomes ``make_entry(row)``, or
    stays the row tuple when ``make_entry`` is None (a page of 10,000 rows
    then costs no call per row).  A rolled-up prefix is a ``SubdirEntry``.

    ``path`` (Swift's older directory listing) lists the entries directly
    under ``path/``: deeper names are skipped, not rolled up, and so is the
    directory's own marker object ``path/`` (a tree walker that listed it
    would descend into the same directory forever).
    """
    if path is not None:
        prefix = path.rstrip("/") + "/" if path else ""
        delimiter = "/"
    limit = max(0, int(limit))
    if limit == 0:
        return []
    low: Bound = None
    high: Bound = None
    if marker:
        if reverse:
            high = (marker, False)
        else:
            low = (marker, False)
    if end_marker:
        if reverse:
            low = (end_marker, False)
        else:
            high = (end_marker, False)
    if prefix:
        prefix_end = _next_prefix(prefix)
        if low is None or prefix > low[0]:
            low = (prefix, True)
        if prefix_end is not None and (high is None or prefix_end <= high[0]):
            high = (prefix_end, False)
    if not show_reserved and (low is None or low[0] < FIRST_UNRESERVED):
        # every reserved name sorts before the first unreserved one
        low = (FIRST_UNRESERVED, True)
    table = _Table(item_table, columns)
    if not delimiter:
        rows = conn.execute(*table.range_query(low, high, reverse, limit)).fetchall()
        return rows if make_entry is None else list(map(make_entry, rows))
    page = _RolledUpPage(conn, table, make_entry, limit, prefix, delimiter, path is not None,
                         reverse, marker, low, high)
    if conn.in_transaction:     # the caller's transaction is the snapshot
        return page.collect()
    conn.execute("BEGIN")
    try:
        entries = page.collect()
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    conn.execute("COMMIT")
    return entries


class _Table:
    """The SQL for one item table's listing queries (texts repeat, so SQLite's
    statement cache keeps them prepared)."""

    def __init__(self, item_table: str, columns: str):
        self.source = "%s INDEXED BY ix_%s_deleted_name" % (item_table, item_table)
        self.head = "SELECT %s FROM %s WHERE deleted = 0" % (columns, self.source)

    def range_query(self, low: Bound, high: Bound, reverse: bool,
                    limit: int) -> tuple[str, list[Any]]:
        """Rows between the bounds, in name order (reversed), at most ``limit``."""
        sql = [self.head]
        params: list[Any] = []
        if low is not None:
            sql.append(" AND name >= ?" if low[1] else " AND name > ?")
            params.append(low[0])
        if high is not None:
            sql.append(" AND name <= ?" if high[1] else " AND name < ?")
            params.append(high[0])
        sql.append(" ORDER BY name DESC LIMIT ?" if reverse else " ORDER BY name LIMIT ?")
        params.append(limit)
        return "".join(sql), params

    def walk_query(self, far: Bound, reverse: bool, path_mode: bool) -> str:
        """Names of a run of rolled-up rows, each found by a seek past the previous one.

        ``walk`` starts from ``:start`` (a rolled-up name already listed)
        and, while its last name rolls up, seeks the first name past that
        name's prefix (``:prefix_len`` characters of prefix, then the
        delimiter).  Forward, "past" is the prefix with its last character
        (the delimiter's) bumped to ``:bump``; in reverse it is below the
        prefix (in ``path`` mode the object named exactly the prefix is
        listed, so it is not skipped).  The walk ends at a name that does
        not roll up, at ``:steps`` names, or with a NULL when the range is
        exhausted.  Python decides what each name means; SQLite only seeks.
        """
        cut = "instr(substr(walk.name, :prefix_len + 1), :delimiter)"
        subdir_len = ":prefix_len + %s + length(:delimiter) - 1" % cut
        rolls_up = "%s > 0" % cut
        if path_mode:
            # a name that ends with the delimiter is a directory marker
            # object, listed rather than rolled up
            rolls_up += " AND length(walk.name) > %s" % subdir_len
        if reverse:
            past = "name %s substr(walk.name, 1, %s)" % ("<=" if path_mode else "<", subdir_len)
            order = "DESC"
        else:
            past = "name >= substr(walk.name, 1, %s - 1) || :bump" % subdir_len
            order = ""
        if far is not None:
            if reverse:
                past += " AND name >= :far" if far[1] else " AND name > :far"
            else:
                past += " AND name <= :far" if far[1] else " AND name < :far"
        return ("WITH RECURSIVE walk(name) AS (VALUES(:start) UNION ALL "
                "SELECT (SELECT name FROM %s WHERE deleted = 0 AND %s ORDER BY name %s LIMIT 1) "
                "FROM walk WHERE %s LIMIT :steps) SELECT name FROM walk" % (
                    self.source, past, order, rolls_up))


class _RolledUpPage:
    """One page listed with a delimiter: range scans, and walks over runs of prefixes.

    ``low`` and ``high`` bound the names still to read; each scan or walk
    lists what it read and moves the bound it read from.
    """

    def __init__(self, conn: sqlite3.Connection, table: _Table,
                 make_entry: Optional[Callable[[tuple], Any]], limit: int, prefix: str,
                 delimiter: str, path_mode: bool, reverse: bool, marker: str,
                 low: Bound, high: Bound):
        self.conn = conn
        self.table = table
        self.make_entry = make_entry
        self.limit = limit
        self.prefix = prefix
        self.delimiter = delimiter
        self.path_mode = path_mode
        self.reverse = reverse
        self.marker = marker
        self.low = low
        self.high = high
        self.results: list[Any] = []
        self.done = False
        # A rolled-up name a walk goes on from, instead of the next scan.
        self.walk_from: Optional[str] = None
        # Forward, a walk seeks to the prefix with the delimiter's last
        # character bumped; without such a character (U+10FFFF) the scans
        # restart one prefix at a time, as _next_prefix decides.
        self.bump = _next_prefix(delimiter[-1])

    def collect(self) -> list[Any]:
        while len(self.results) < self.limit and not self.done:
            if self.walk_from is None:
                self._scan()
            else:
                self._walk(self.walk_from)
        return self.results[:self.limit]

    def _skip(self, subdir: str) -> None:
        """Move the bound past every name under ``subdir``."""
        if self.reverse:
            # In ``path`` mode the object named exactly ``subdir`` is
            # listed, so the bound includes it.
            self.high = (subdir, self.path_mode)
        else:
            after = _next_prefix(subdir)
            if after is None:
                self.done = True
            else:
                self.low = (after, True)

    def _scan(self) -> None:
        """List rows in order until one rolls up (then skip its prefix) or the batch ends."""
        results = self.results
        prefix, delimiter, path_mode = self.prefix, self.delimiter, self.path_mode
        marker, make_entry = self.marker, self.make_entry
        wanted = self.limit - len(results)
        cursor = self.conn.execute(*self.table.range_query(self.low, self.high, self.reverse,
                                                           wanted))
        # Iterate the cursor (sqlite steps lazily): after a roll-up the rest
        # of this query's rows are never read.
        seen = 0
        name = ""
        for row in cursor:
            seen += 1
            name = row[0]
            if path_mode and prefix and name == prefix:
                continue
            cut = name.find(delimiter, len(prefix))
            if cut < 0:
                results.append(row if make_entry is None else make_entry(row))
                continue
            subdir = name[:cut + len(delimiter)]
            if path_mode:
                if len(name) == len(subdir):
                    results.append(row if make_entry is None else make_entry(row))
                    continue
            elif subdir != marker:
                results.append(SubdirEntry(subdir))
            cursor.close()
            self._skip(subdir)
            # A roll-up on a scan's first row is the second in a row: more
            # are likely, and a walk skips them inside SQLite.
            if seen == 1 and (self.reverse or self.bump is not None):
                self.walk_from = name
            return
        if seen < wanted:
            self.done = True
        elif self.reverse:
            # A full batch without a roll-up: continue after its last name.
            self.high = (name, False)
        else:
            self.low = (name, False)

    def _walk(self, start: str) -> None:
        """Skip the run of rolled-up names that follows ``start`` (already listed)."""
        results = self.results
        self.walk_from = None
        far = self.low if self.reverse else self.high
        params = {"start": start, "prefix_len": len(self.prefix), "delimiter": self.delimiter,
                  "bump": self.bump, "far": None if far is None else far[0],
                  # one more name than the page needs, for a prefix equal
                  # to the marker (skipped, not listed)
                  "steps": self.limit - len(results) + 2}
        names = [row[0] for row in self.conn.execute(
            self.table.walk_query(far, self.reverse, self.path_mode), params)]
        for name in names[1:]:
            if name is None:
                self.done = True    # nothing left in the range
                return
            subdir = _rolled_up_subdir(name, self.prefix, self.delimiter, self.path_mode)
            if subdir is None:
                # Listed as a row: the next scan starts with it.
                if self.reverse:
                    self.high = (name, True)
                else:
                    self.low = (name, True)
                return
            if not self.path_mode and subdir != self.marker:
                results.append(SubdirEntry(subdir))
            self._skip(subdir)
            if self.done:
                return
        if len(names) > 1:
            # The walk stopped at its step count: go on from its last name.
            self.walk_from = names[-1]


def _rolled_up_subdir(name: str, prefix: str, delimiter: str, path_mode: bool) -> Optional[str]:
    """The prefix ``name`` rolls up into, or None when ``name`` is listed as a row."""
    cut = name.find(delimiter, len(prefix))
    if cut < 0:
        return None
    subdir = name[:cut + len(delimiter)]
    if path_mode and len(name) == len(subdir):
        return None
    return subdir


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
