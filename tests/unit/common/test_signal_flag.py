"""SignalFlag: a signal handler wakes a waiting green thread without any polling."""
import os
import signal

import pytest

from objstore.common import concurrency


def test_a_real_signal_wakes_the_waiter_and_nothing_else_does():
    flag = concurrency.SignalFlag()
    woken = []

    def waiter():
        flag.wait()
        woken.append(True)

    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: flag.raise_flag())
    try:
        thread = concurrency.spawn(waiter)
        # Unraised, the waiter stays blocked (green: this thread still runs).
        with pytest.raises(concurrency.Timeout):
            with concurrency.Timeout(0.2):
                thread.wait()
        assert woken == [] and not flag.raised
        os.kill(os.getpid(), signal.SIGUSR1)
        with concurrency.Timeout(10):
            thread.wait()
        assert woken == [True] and flag.raised
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_raised_before_waiting_returns_at_once_and_many_raises_never_block():
    flag = concurrency.SignalFlag()
    for _ in range(100000):    # far more than a pipe holds: the extra writes are dropped
        flag.raise_flag()
    with concurrency.Timeout(10):
        flag.wait()
