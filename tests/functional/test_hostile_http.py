"""Malformed HTTP against the real cluster over raw sockets (issue 15's framing rules).

The cases and the judging live in ``bench/hostile_probe.py``, which runs
thousands of them against any endpoint; here a fixed table (every framing
rule, with the status it must get and a closed connection) and a few hundred
seeded random cases run against the session cluster.
"""
import importlib.util
import os
import random
import sys

import pytest

from objstore.aio.cluster import USERS

_PROBE_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "hostile_probe.py")
_spec = importlib.util.spec_from_file_location("hostile_probe", _PROBE_PATH)
hostile_probe = importlib.util.module_from_spec(_spec)
sys.modules["hostile_probe"] = hostile_probe  # dataclasses look their module up there
_spec.loader.exec_module(hostile_probe)


@pytest.fixture(scope="module")
def probe(cluster):
    probe = hostile_probe.Probe(cluster.proxy_url, "test:tester", USERS["test:tester"])
    probe.setup()
    return probe


TABLE = [case.name for case in hostile_probe.framing_cases(
    hostile_probe.Target("h", 1, "t", "/v1/a", "c", "v"), "x")]


@pytest.mark.parametrize("name", TABLE)
def test_framing_table(probe, name):
    case = next(c for c in hostile_probe.framing_cases(probe.target, "table")
                if c.name == name)
    outcome = hostile_probe.exchange(probe.host, probe.port, case.payload, timeout=10,
                                     half_close=case.half_close, idle=5)
    assert hostile_probe.judge(case, outcome) == []
    assert outcome.replies[0].headers.get("connection", "").lower() == "close"
    if case.upload:
        assert probe.check_nothing_stored([case]) == []


def test_valid_requests_share_a_connection(probe):
    case = hostile_probe.valid_pipelined(probe.target)
    outcome = hostile_probe.exchange(probe.host, probe.port, case.payload)
    assert [reply.status for reply in outcome.replies] == [200, 200]


def test_seeded_fuzz(cluster, probe):
    cases = hostile_probe.all_cases(probe.target, random.Random(15), 300, "fuzz")
    figures = probe.run(cases)
    figures["failures"].extend("traceback in %s" % path
                               for path in hostile_probe.tracebacks_in(cluster.logs_dir))
    assert figures["failures"] == []
    assert figures["seconds"] < 60
