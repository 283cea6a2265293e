"""objstore-aio refuses to start a cluster whose config would not load, before any process."""
import pytest

from objstore.aio import templates
from objstore.aio.cluster import Cluster, ClusterError
from objstore.aio.layout import Layout
from objstore.aio.state import read_state


def test_a_misspelled_option_stops_the_start_with_one_line(tmp_path):
    layout = Layout(str(tmp_path), nodes=2)
    layout.make_dirs()
    layout.write_cluster_conf()
    ports = {name: 0 for name in layout.backend_names() + ["proxy-server"]}
    layout.write_server_confs(ports, templates.PROXY_PIPELINE)
    bad = layout.server_conf("container", 2)
    with open(bad, encoding="utf-8") as handle:
        text = handle.read()
    with open(bad, "w", encoding="utf-8") as handle:
        handle.write(text.replace("[container-updater]\n", "[container-updater]\nintervall = 5\n"))
    cluster = Cluster(str(tmp_path), nodes=2, replicas=2)
    with pytest.raises(ClusterError) as err:
        cluster.start()
    assert str(err.value) == ("refusing to start: %s [container-updater]: unknown option "
                              "'intervall' (did you mean 'interval'?)" % bad)
    assert not any(read_state(layout.state_path).get("pids", {}).values())


def test_generated_configs_load(tmp_path):
    cluster = Cluster(str(tmp_path), nodes=2, replicas=2)
    cluster._check_installed()
    cluster._prepare()   # writes objstore.conf, every server config and the rings, then checks
    assert len(cluster.config_files()) == 2 + 3 * 2
