"""Rounds per key: joiners share the leader's round and each gets its own result."""
import time

import pytest

from objstore.common.concurrency import GreenPile
from objstore.common.concurrency import sleep as green_sleep
from objstore.common.gathering import Arrivals, Gatherer


class Recorder:
    def __init__(self, fail=False):
        self.rounds = []
        self.fail = fail

    def handle(self, items):
        self.rounds.append(list(items))
        green_sleep(0.005)     # a round takes a while; others queue meanwhile
        if self.fail:
            raise RuntimeError("round failed")
        return [item * 10 for item in items]


def submit_all(gatherer, recorder, jobs):
    pile = GreenPile(len(jobs))
    for key, item in jobs:
        pile.spawn(gatherer.submit, key, item, recorder.handle)
    return list(pile)


def test_each_member_gets_its_own_result_from_few_rounds():
    recorder = Recorder()
    results = submit_all(Gatherer(2), recorder, [("k", i) for i in range(40)])
    assert results == [i * 10 for i in range(40)]
    assert sorted(i for r in recorder.rounds for i in r) == list(range(40))
    assert len(recorder.rounds) <= 3


def test_keys_never_share_a_round_and_rounds_are_capped():
    recorder = Recorder()
    jobs = [("a" if i % 2 else "b", i) for i in range(40)]
    assert submit_all(Gatherer(2, max_items=5), recorder, jobs) == [i * 10 for i in range(40)]
    for items in recorder.rounds:
        assert len(items) <= 5
        assert len({i % 2 for i in items}) == 1


def test_a_failed_round_fails_every_member_and_the_next_round_runs():
    recorder = Recorder(fail=True)
    gatherer = Gatherer(2)
    pile = GreenPile(6)
    for i in range(6):
        pile.spawn(_outcome, gatherer, i, recorder.handle)
    assert list(pile) == ["round failed"] * 6
    recorder.fail = False
    assert gatherer.submit("k", 7, recorder.handle) == 70


def _outcome(gatherer, item, handle):
    try:
        return gatherer.submit("k", item, handle)
    except RuntimeError as err:
        return str(err)


def test_a_lone_item_is_handled_at_once():
    recorder = Recorder()
    assert Gatherer(2).submit("k", 3, recorder.handle) == 30
    assert recorder.rounds == [[3]]


@pytest.mark.parametrize("rounds", [0, 1, 8])
def test_any_number_of_gather_rounds_works(rounds):
    recorder = Recorder()
    assert submit_all(Gatherer(rounds), recorder, [("k", i) for i in range(10)]) == \
        [i * 10 for i in range(10)]


# -- waiting for work on its way -------------------------------------------

def _write_then_submit(gatherer, arrivals, recorder, item, write_time):
    """An object write: its fsyncs (``write_time``), then its container update."""
    with arrivals.coming():
        green_sleep(write_time)
    return gatherer.submit("k", item, recorder.handle)


def _spawn_writes(gatherer, arrivals, recorder, write_times):
    pile = GreenPile(len(write_times))
    for item, write_time in enumerate(write_times):
        pile.spawn(_write_then_submit, gatherer, arrivals, recorder, item, write_time)
    return pile


def test_a_round_waits_for_work_already_on_its_way():
    # Writes finishing 0, 10, 20 and 30 ms apart: without waiting, the first
    # goes alone; waiting for what was in flight puts all four in one round.
    recorder = Recorder()
    arrivals = Arrivals()
    gatherer = Gatherer(2, arrivals=arrivals, max_wait=1.0)
    pile = _spawn_writes(gatherer, arrivals, recorder, [0, 0.01, 0.02, 0.03])
    assert list(pile) == [0, 10, 20, 30]
    assert recorder.rounds == [[0, 1, 2, 3]]
    assert arrivals.entered == arrivals.left == 4


def test_without_arrivals_the_same_writes_take_more_rounds():
    recorder = Recorder()
    arrivals = Arrivals()      # counted, but the gatherer does not look
    pile = _spawn_writes(Gatherer(2), arrivals, recorder, [0, 0.01, 0.02, 0.03])
    assert list(pile) == [0, 10, 20, 30]
    assert len(recorder.rounds) >= 2


def test_the_wait_is_bounded():
    recorder = Recorder()
    arrivals = Arrivals()
    gatherer = Gatherer(2, arrivals=arrivals, max_wait=0.02)
    pile = _spawn_writes(gatherer, arrivals, recorder, [0, 0.5])
    started = time.monotonic()
    first = pile.next()
    assert first == 0
    assert time.monotonic() - started < 0.3   # did not wait for the 0.5 s write
    assert list(pile) == [10]
    assert recorder.rounds == [[0], [1]]


def test_a_lone_writer_does_not_wait_for_itself():
    recorder = Recorder()
    arrivals = Arrivals()
    gatherer = Gatherer(2, arrivals=arrivals, max_wait=5.0)
    started = time.monotonic()
    assert _write_then_submit(gatherer, arrivals, recorder, 4, 0) == 40
    assert time.monotonic() - started < 1.0


def test_work_that_never_submits_still_lets_the_round_go():
    # A write that fails in its fsyncs leaves the block and submits nothing.
    recorder = Recorder()
    arrivals = Arrivals()
    gatherer = Gatherer(2, arrivals=arrivals, max_wait=5.0)

    def failing_write():
        with pytest.raises(OSError):
            with arrivals.coming():
                green_sleep(0.02)
                raise OSError("disk gone")

    pile = GreenPile(2)
    pile.spawn(failing_write)
    pile.spawn(_write_then_submit, gatherer, arrivals, recorder, 1, 0.001)
    started = time.monotonic()
    assert list(pile) == [None, 10]
    assert time.monotonic() - started < 1.0
    assert arrivals.left == 2
