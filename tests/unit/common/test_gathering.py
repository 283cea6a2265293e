"""Rounds per key: joiners share the leader's round and each gets its own result."""
import pytest

from objstore.common.concurrency import GreenPile
from objstore.common.concurrency import sleep as green_sleep
from objstore.common.gathering import Gatherer


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
