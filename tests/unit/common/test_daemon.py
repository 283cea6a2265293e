import dataclasses

from objstore.common import concurrency
from objstore.common.cluster_config import ClusterConfig
from objstore.common.daemon import Daemon, DaemonConfig

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


@dataclasses.dataclass
class CountingConfig(DaemonConfig):
    fail_first: bool = False


class CountingDaemon(Daemon):
    name = "counting"
    config_class = CountingConfig

    def __init__(self, conf=None):
        super().__init__(CLUSTER, conf)
        self.passes = 0

    def run_once(self):
        self.passes += 1
        if self.conf.fail_first and self.passes == 1:
            raise RuntimeError("first pass fails")
        if self.passes >= 3:
            self.stop()
        return self.passes


def test_run_once_returns_summary():
    assert CountingDaemon({"interval": "0"}).run_once() == 1


def test_run_forever_survives_a_failed_pass_and_stops():
    daemon = CountingDaemon({"interval": "0.01", "fail_first": "true"})
    thread = concurrency.spawn(daemon.run_forever)
    with concurrency.Timeout(10):
        thread.wait()
    assert daemon.passes == 3
