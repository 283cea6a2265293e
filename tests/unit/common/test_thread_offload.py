"""tpool_execute: blocking calls leave the hub, and every call comes back.

The pool wakes its threads by hand (a lock per idle thread, a byte per
batch of results), so the tests that matter are the ones a lost wake-up
would fail: many calls at once, calls arriving while every thread is busy,
and a blocking call that only the hub itself can finish.
"""
import os

import pytest

from objstore.common import concurrency
from objstore.common.concurrency import GreenPile, Timeout, sleep, spawn, tpool_execute

# real OS threads even if some earlier test monkey-patched this process
_real_thread = concurrency._real_thread


@pytest.fixture(autouse=True)
def no_test_hangs():
    """A lost wake-up shows as a wait that never ends: fail it instead."""
    with Timeout(30):
        yield


class _RealTimer:
    """Calls ``action`` after ``delay`` seconds from a real thread, unless cancelled."""

    def __init__(self, delay, action):
        self._cancelled = _real_thread.allocate_lock()
        self._cancelled.acquire()
        self._delay, self._action = delay, action

    def start(self):
        def wait_then_act():
            if not self._cancelled.acquire(timeout=self._delay):
                self._action()
        _real_thread.start_new_thread(wait_then_act, ())

    def cancel(self):
        self._cancelled.release()


def test_the_call_runs_in_another_os_thread_and_its_value_comes_back():
    assert tpool_execute(lambda a, b=0: a + b, 2, b=3) == 5
    assert tpool_execute(_real_thread.get_ident) != _real_thread.get_ident()


def test_an_exception_reaches_the_caller_with_its_type():
    def fail():
        raise FileNotFoundError(2, "gone", "/nowhere")

    with pytest.raises(FileNotFoundError) as raised:
        tpool_execute(fail)
    assert raised.value.filename == "/nowhere"


def test_the_hub_keeps_serving_while_a_call_blocks():
    read_fd, write_fd = os.pipe()
    # if the hub were blocked the green writer never runs; this real thread
    # then unblocks the read late, and the test fails instead of hanging
    rescue = _RealTimer(5.0, lambda: os.write(write_fd, b"late"))

    def green_writer():
        sleep(0.05)
        os.write(write_fd, b"x")

    try:
        rescue.start()
        spawn(green_writer)
        assert tpool_execute(os.read, read_fd, 16) == b"x"
    finally:
        rescue.cancel()
        os.close(read_fd)
        os.close(write_fd)


@pytest.mark.parametrize("callers", [1, 7, 300])
def test_every_call_of_a_crowd_comes_back_with_its_own_answer(callers):
    # more callers than threads: jobs queue while every thread is busy, and
    # threads go idle and wake again many times over the rounds
    def square_after_a_pause(n):
        if n % 5 == 0:
            os.sched_yield()
        return n * n

    for _round in range(5):
        pile = GreenPile(callers)
        for n in range(callers):
            pile.spawn(tpool_execute, square_after_a_pause, n)
        with Timeout(20):
            assert list(pile) == [n * n for n in range(callers)]


class _IdleListThatWaits(list):
    """The pool's idle list, holding its thread just before it lists itself
    idle until the test has queued a job: the window a lost wake-up needs."""

    def __init__(self):
        super().__init__()
        self.held = False
        self.about_to_idle = _real_thread.allocate_lock()
        self.about_to_idle.acquire()
        self.go_on = _real_thread.allocate_lock()
        self.go_on.acquire()

    def append(self, wake):
        if not self.held:  # only the first time
            self.held = True
            self.about_to_idle.release()
            assert self.go_on.acquire(timeout=10)
        super().append(wake)


def test_a_job_queued_while_the_only_thread_goes_idle_is_still_run():
    pool = concurrency._ThreadOffload(max_threads=1)
    pool._idle = idle = _IdleListThatWaits()
    with Timeout(20):
        assert pool.run(int, ("1",), {}) == 1  # the thread is now stopped in append()
        while not idle.about_to_idle.acquire(blocking=False):
            sleep(0.001)
        second = spawn(pool.run, int, ("2",), {})
        sleep(0)  # queued: no idle thread to wake, and no thread may be added
        assert pool._jobs
        idle.go_on.release()
        assert second.wait() == 2


def test_a_thread_without_our_hub_runs_the_call_itself():
    tpool_execute(int)  # the pool belongs to this (the test's) thread
    seen = {}

    def from_a_real_thread():
        seen["caller"] = _real_thread.get_ident()
        seen["ran_in"] = tpool_execute(_real_thread.get_ident)

    finished = _real_thread.allocate_lock()
    finished.acquire()

    def then_say_so():
        try:
            from_a_real_thread()
        finally:
            finished.release()

    _real_thread.start_new_thread(then_say_so, ())
    assert finished.acquire(timeout=10)
    assert seen["ran_in"] == seen["caller"]


def test_a_forked_child_gets_threads_of_its_own():
    tpool_execute(int)  # the parent's pool exists before the fork
    pid = os.fork()
    if pid == 0:  # the child: its pool's threads did not survive the fork
        code = 1
        try:
            with Timeout(10):
                answers = [tpool_execute(abs, -n) for n in range(20)]
                code = 0 if answers == list(range(20)) else 2
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # and the child took nothing of the parent's: its calls still come back
    for n in range(20):
        assert tpool_execute(abs, -n) == n
