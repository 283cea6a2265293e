"""Reading a replicated object: find a copy, then stream it, resuming on another replica.

A plain GET or HEAD asks one node at a time (:func:`find_first`): the first
primary that holds the object answers, and the next node is asked only when
one fails, says 404 or is slow.  Asking every replica on every read tripled
the object servers' work for the common case, where all copies agree.

Replicas can disagree for a while (a node missed a PUT or a DELETE while it
was down), so a client that must see the newest copy sends ``X-Newest:
true`` (copies and versioning do): then the proxy asks the primaries in
parallel (:func:`find_newest`) and takes the answer with the newest
timestamp; a 404 that carries a newer tombstone timestamp than any copy
means the object was deleted.  When every node that answered says 404
without a tombstone, either way looks further (handoffs).

Once a copy is chosen its body streams to the client chunk by chunk.  If that
node dies mid-body, :class:`ResumingBody` goes on from another node
(``If-Match`` the ETag already promised to the client; a range from the
byte reached, a whole body from the start with the bytes already sent
compared by CRC32), so the client sees one unbroken, verified body.
"""
from __future__ import annotations

import itertools
import re
from typing import Any, Callable, Iterator, Mapping, Optional

from objstore.common.concurrency import LightQueue, QueueEmpty, Timeout, spawn
from objstore.common.fast_crc32 import crc32
from objstore.proxy.controllers.obj.source import Source, SourceOpener

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
CONDITIONAL_HEADERS = ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since",
                       "range")


def find_first(opener: SourceOpener, nodes: Iterator[dict], headers: Mapping[str, str],
               query_string: str, hedge_wait: float) -> tuple[Optional[Source], list]:
    """Ask one node at a time until one holds the object; the next only on trouble.

    A node that fails, answers 5xx or 404 hands over to the next at once;
    a node that has not answered after ``hedge_wait`` seconds gets company
    (the next node is asked too, the first definite answer wins), so a hung
    node does not add its whole timeout to every read.  A 404 is never
    final while nodes remain: a primary that missed a write must not hide
    the copy another one holds.  Among the answers gathered, a tombstone
    newer than the copy found still wins.

    Returns (chosen source or None, every source that answered).
    """
    results: Any = LightQueue()
    finished = {"done": False}
    asked = {"outstanding": 0}

    def fetch_into_queue(node: dict) -> None:
        source = None
        try:
            source = opener.open(node, headers, query_string)
        finally:
            _hand_over(source, finished, results)

    def ask_next() -> bool:
        node = next(nodes, None)
        if node is None:
            return False
        asked["outstanding"] += 1
        spawn(fetch_into_queue, node)
        return True

    sources: list[Source] = []
    can_ask = ask_next()
    while asked["outstanding"]:
        try:
            item = results.get(timeout=hedge_wait if can_ask else None)
        except QueueEmpty:
            can_ask = ask_next()      # slow node: ask the next one as well
            continue
        asked["outstanding"] -= 1
        if item is not None:
            sources.append(item)
            if item.is_answer:
                break
        can_ask = ask_next()          # it failed or lacks the object: next node
    finished["done"] = True
    _take_late_answers(results, sources)
    chosen = _newest(sources)    # a newer tombstone seen on the way still wins
    for source in sources:
        if source is not chosen:
            source.close()
    return chosen, sources


def find_newest(opener: SourceOpener, nodes: Iterator[dict], replicas: int,
                headers: Mapping[str, str], query_string: str,
                straggler_wait: float) -> tuple[Optional[Source], list]:
    """Ask ``replicas`` nodes in parallel (handoffs replace failures); pick the newest.

    For a GET only the first node is asked for the body; the others get a
    HEAD, which tells their timestamps without making them read and send
    bytes that would be thrown away.  When a HEAD shows the newest copy, the
    body is then fetched from that node.

    Every answer is awaited, except that once a quorum has answered and one
    of them holds the object, a node slower than ``straggler_wait`` more
    seconds is left behind: a hung node must not add its whole timeout to
    every read.  (Its late answer is closed; its timeout still counts
    against it, so error limiting soon skips it.)

    Returns (chosen source or None, every source that answered).  The nodes
    of the other answers stay useful: a GET that dies mid-body resumes there.
    """
    results: Any = LightQueue()
    finished = {"done": False}

    probe_method = "HEAD" if opener.method == "GET" else opener.method

    def fetch(method: Optional[str] = None) -> Optional[Source]:
        for node in nodes:
            source = opener.open(node, headers, query_string, method)
            if source is None or source.status >= 500:
                continue
            return source
        return None

    def fetch_into_queue(method: str) -> None:
        source = None
        try:
            source = fetch(method)
        finally:
            _hand_over(source, finished, results)

    for slot in range(replicas):
        spawn(fetch_into_queue, opener.method if slot == 0 else probe_method)
    quorum = replicas // 2 + 1
    sources: list[Source] = []
    received = 0
    while received < replicas:
        settled = len(sources) >= quorum and any(s.is_answer for s in sources)
        try:
            item = results.get(timeout=straggler_wait if settled else None)
        except QueueEmpty:
            break
        received += 1
        if item is not None:
            sources.append(item)
    finished["done"] = True
    _take_late_answers(results, sources)
    chosen = _newest(sources)
    while chosen is None:
        # Nobody had it: keep looking (handoffs), one node at a time.
        extra = fetch()
        if extra is None:
            break
        sources.append(extra)
        chosen = _newest(sources)
    if chosen is not None and chosen.is_answer and chosen.method != opener.method:
        chosen = _fetch_body(opener, chosen, sources, headers, query_string)
    for source in sources:
        if source is not chosen:
            source.close()
    return chosen, sources


def _hand_over(source: Optional[Source], finished: dict, results: Any) -> None:
    """Queue a node's answer for the reader, or close it when the reader has gone:
    nobody would ever read or release its connection otherwise."""
    if finished["done"]:
        if source is not None:
            source.close()
    else:
        results.put(source)


def _take_late_answers(results: Any, sources: list) -> None:
    """Add the answers that arrived between the last wait and the finished flag."""
    while True:
        try:
            item = results.get_nowait()
        except QueueEmpty:
            return
        if item is not None:
            sources.append(item)


def _fetch_body(opener: SourceOpener, newest: Source, sources: list,
                headers: Mapping[str, str], query_string: str) -> Optional[Source]:
    """GET the newest copy a HEAD found, from that node or another holding the same copy.

    None when none of them serves it any more (the caller answers 503 rather
    than hand out an older copy it knows is stale).
    """
    holders = [newest] + [s for s in sources if s is not newest and s.is_answer
                          and s.freshness == newest.freshness]
    for holder in holders:
        if holder.method == opener.method:    # an equally fresh body is already open
            return holder
    for holder in holders:
        full = opener.open(holder.node, headers, query_string)
        if full is not None and full.is_answer and full.freshness == newest.freshness:
            sources.append(full)
            return full
        if full is not None:
            full.close()
    return None


def _newest(sources: list[Source]) -> Optional[Source]:
    """The newest definite answer; a newer tombstone beats older copies."""
    answers = [s for s in sources if s.is_answer]
    if not answers:
        return None
    best = max(answers, key=lambda s: s.freshness)
    tombstones = [s for s in sources if s.is_tombstone]
    if tombstones:
        newest_tombstone = max(tombstones, key=lambda s: s.timestamp)
        if newest_tombstone.timestamp > best.data_timestamp:
            return newest_tombstone
    return best


def resume_candidates(chosen: Source, sources: list, nodes: Iterator[dict]) -> Iterator[dict]:
    """Nodes to resume a broken body from: other replicas that answered alike, then more."""
    alike = [s.node for s in sources
             if s is not chosen and s.is_answer and s.node is not chosen.node
             and s.headers.get("etag") == chosen.headers.get("etag")]
    return itertools.chain(alike, nodes)


def byte_span(source: Source) -> Optional[tuple[int, int]]:
    """(first, last) byte this body covers, or None when it cannot be resumed."""
    length = source.headers.get("content-length")
    if source.status == 200 and length is not None and length.isdigit():
        return 0, int(length) - 1
    if source.status == 206:
        match = _CONTENT_RANGE.match(source.headers.get("content-range", ""))
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


class ResumingBody:
    """The WSGI app_iter of an object GET: chunks, with mid-body failover."""

    def __init__(self, source: Source, opener: SourceOpener, nodes: Iterator[dict],
                 headers: Mapping[str, str], chunk_size: int, read_timeout: float,
                 on_error: Callable[[dict, str], None]):
        self.source: Optional[Source] = source
        self.opener = opener
        self.nodes = nodes
        self.headers = {k: v for k, v in headers.items()
                        if k.lower() not in CONDITIONAL_HEADERS}
        self.chunk_size = chunk_size
        self.read_timeout = read_timeout
        self.on_error = on_error
        self.span = byte_span(source)
        self.etag = source.headers.get("etag", "").strip('"')
        self.sent = 0
        # Whole bodies need no MD5 here: the object server checks a whole
        # read against its stored checksum (CRC32, or the ETag for objects
        # written before) and cuts the body short on a mismatch, with its
        # last chunk held back.  Only a body stitched from two replicas
        # escapes that check, so a cheap CRC of what was sent lets the
        # resumed replica's copy of those bytes confirm them (see _resume).
        self._whole = source.status == 200
        self._crc = 0

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._chunks():
                if self._whole:
                    self._crc = crc32(chunk, self._crc)
                yield chunk
        finally:
            self.close()

    def _chunks(self) -> Iterator[bytes]:
        while self.source is not None:
            chunk = self._read()
            if chunk:
                self.sent += len(chunk)
                yield chunk
                continue
            if chunk is None or not self._complete():
                if chunk is not None and self.source is not None:
                    self.on_error(self.source.node,
                                  "GET body ended early at byte %d" % self.sent)
                if not self._resume():
                    return
                continue
            return

    def _complete(self) -> bool:
        if self.span is None:
            return True
        return self.sent >= self.span[1] - self.span[0] + 1

    def _read(self) -> Optional[bytes]:
        """Next chunk; b"" at end of body; None when the node failed."""
        assert self.source is not None
        try:
            with Timeout(self.read_timeout):
                return self.source.resp.read(self.chunk_size)
        except (OSError, Timeout) as err:
            self.on_error(self.source.node, "GET body read: %s" % (err or "timeout"))
            return None

    def _resume(self) -> bool:
        """Continue from the byte reached on another node; False when nobody can.

        A whole body is asked for whole again (the node then checks its
        copy against the ETag to the end) and the bytes already sent are
        read and compared by CRC: a first node that cut its body short
        because its copy was corrupt may have sent bad bytes before, and a
        body whose pieces disagree must not reach the client complete.
        A range is asked for from the byte reached.
        """
        if self.source is not None:
            self.source.close()
        self.source = None
        if self.span is None or not self.etag:
            return False
        first, last = self.span
        headers = dict(self.headers)
        if not self._whole:
            headers["Range"] = "bytes=%d-%d" % (first + self.sent, last)
        headers["If-Match"] = '"%s"' % self.etag
        wanted = 200 if self._whole else 206
        for node in self.nodes:
            source = self.opener.open(node, headers)
            if source is None:
                continue
            if source.status == wanted and source.headers.get("etag", "").strip('"') == self.etag \
                    and (not self._whole or self._same_prefix(source)):
                self.source = source
                return True
            source.close()
        return False

    def _same_prefix(self, source: Source) -> bool:
        """Read the bytes already sent from ``source``; True when their CRC matches."""
        crc, left = 0, self.sent
        try:
            while left:
                with Timeout(self.read_timeout):
                    chunk = source.resp.read(min(self.chunk_size, left))
                if not chunk:
                    break
                crc = crc32(chunk, crc)
                left -= len(chunk)
        except (OSError, Timeout) as err:
            self.on_error(source.node, "GET body read: %s" % (err or "timeout"))
            return False
        if left or crc != self._crc:
            self.on_error(source.node, "GET resume: the first %d bytes differ from those "
                          "already sent" % self.sent)
            return False
        return True

    def close(self) -> None:
        if self.source is not None:
            self.source.close()
            self.source = None
