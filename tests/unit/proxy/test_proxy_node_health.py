"""Error limiting, node iteration and the quorum rule, without any servers."""
import logging

from objstore.proxy.node_health import NodeHealth
from objstore.proxy.node_iter import NodeIter
from objstore.proxy.responses import best_status, quorum_size
from objstore.proxy.settings import ProxyConfig


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Capture(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def make_health(limit=2, interval=60):
    logger = logging.getLogger("test-node-health")
    logger.propagate = False
    capture = Capture()
    logger.handlers = [capture]
    clock = Clock()
    return NodeHealth(interval, limit, logger, clock=clock), clock, capture


NODE = {"ip": "10.0.0.1", "port": 6200, "device": "sdb"}


def test_limited_after_limit_errors_and_recovers_after_interval():
    health, clock, capture = make_health(limit=2, interval=60)
    for _ in range(2):
        health.error_occurred(NODE, "boom")
    assert not health.is_limited(NODE)
    health.error_occurred(NODE, "boom")
    assert health.is_limited(NODE)
    assert any("error limiting 10.0.0.1:6200/sdb" in line for line in capture.lines)
    clock.now += 61
    assert not health.is_limited(NODE)
    health.error_occurred(NODE, "again")
    assert not health.is_limited(NODE), "the count restarted after a quiet interval"


def test_limit_now():
    health, _clock, capture = make_health()
    health.limit_now(NODE, "507")
    assert health.is_limited(NODE)
    assert "error limiting 10.0.0.1:6200/sdb" in capture.lines[-1]


class FakeRing:
    replica_count = 3

    def __init__(self, count=6):
        self.devs = [{"ip": "10.0.0.%d" % i, "port": 6200, "device": "d%d" % i, "id": i}
                     for i in range(count)]

    def get_part_nodes(self, part):
        return self.devs[:3]

    def get_more_nodes(self, part):
        return iter(self.devs[3:])


def test_node_iter_skips_limited_and_stops_at_node_count():
    health, _clock, _capture = make_health(limit=0)
    ring = FakeRing()
    health.error_occurred(ring.devs[1], "down")
    nodes = list(NodeIter(ring, 0, health, node_count=4))
    assert [n["id"] for n in nodes] == [0, 2, 3, 4]


def test_request_node_count_setting():
    assert ProxyConfig().node_count(3) == 6
    assert ProxyConfig.from_section({"request_node_count": "4"}).node_count(3) == 4
    assert ProxyConfig.from_section({"request_node_count": "1"}).node_count(3) == 3
    assert ProxyConfig.from_section({"node_timeout": "7"}).recoverable_node_timeout == 7


def test_best_status_rule():
    assert quorum_size(3) == 2 and quorum_size(4) == 3 and quorum_size(1) == 1
    assert best_status([201, 201, 503], 3) == 201
    assert best_status([201, 503], 3) is None
    assert best_status([204, 404, 404], 3) == 404
    assert best_status([201, 202, 201], 3) == 201
    assert best_status([422, 422, 201], 3) == 422
    assert best_status([], 3) is None
