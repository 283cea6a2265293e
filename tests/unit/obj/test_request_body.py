"""Reading a PUT body: framing errors, deadlines, and fairness between uploads."""
import io

import pytest

from objstore.common.concurrency import GreenPile
from objstore.obj.request_body import BodyTooLarge, ClientDisconnect, iter_body


class AlwaysReady(io.RawIOBase):
    """A client whose bytes are always there: reads never block (never yield)."""

    def __init__(self, size):
        self.left = size

    def read(self, size=-1):
        take = min(size, self.left)
        self.left -= take
        return b"x" * take


def test_chunks_add_up_to_the_length():
    chunks = list(iter_body(AlwaysReady(10), 10, 4, 5.0, 100))
    assert chunks == [b"xxxx", b"xxxx", b"xx"]


def test_short_body_is_a_disconnect_and_too_long_chunked_is_413():
    with pytest.raises(ClientDisconnect):
        list(iter_body(AlwaysReady(5), 10, 4, 5.0, 100))
    with pytest.raises(BodyTooLarge):
        list(iter_body(AlwaysReady(50), None, 4, 5.0, 20))


def test_uploads_that_never_block_still_take_turns():
    """Two bodies whose reads never block interleave instead of running one after the other."""
    order = []

    def upload(name):
        for _chunk in iter_body(AlwaysReady(40), 40, 4, 5.0, 100):
            order.append(name)

    pile = GreenPile(2)
    pile.spawn(upload, "a")
    pile.spawn(upload, "b")
    list(pile)
    assert sorted(order) == ["a"] * 10 + ["b"] * 10
    # without a yield between chunks, all ten of "a" would come before any "b"
    assert order.index("b") < order.index("a") + 3
    assert order[:6].count("a") <= 4


def test_a_single_chunk_body_does_not_yield(monkeypatch):
    """Small bodies (one chunk) pay no extra switch."""
    calls = []
    monkeypatch.setattr("objstore.obj.request_body.sleep", lambda s: calls.append(s))
    list(iter_body(AlwaysReady(4), 4, 4, 5.0, 100))
    assert calls == []
    list(iter_body(AlwaysReady(8), 8, 4, 5.0, 100))
    assert calls == [0]
