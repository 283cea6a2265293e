"""The aio's data directory: configs, rings, ports and state, without starting anything."""
import os
import re
import socket

import pytest

from objstore.aio import templates
from objstore.aio.layout import Layout, LayoutError, _set_option, assign_ports
from objstore.aio.state import locked_state, read_state
from objstore.common.config import read_ini
from objstore.common.config_check import check_server_config
from objstore.ring.ring import Ring

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


@pytest.mark.parametrize("name", sorted(templates.TEMPLATES))
def test_etc_samples_match_templates(name):
    path = os.path.join(REPO, "etc", templates.sample_file_name(name))
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == templates.render_sample(name), (
            "etc/ is stale: run python -m objstore.aio.templates etc")


def _ports(layout, base):
    names = layout.backend_names() + ["proxy-server"]
    return {name: base + i for i, name in enumerate(names)}


def test_build_writes_configs_and_rings_naming_the_ports(tmp_path):
    layout = Layout(str(tmp_path), nodes=4)
    layout.make_dirs()
    assert layout.write_cluster_conf()
    assert not layout.write_cluster_conf()  # the salt is generated once
    ports = _ports(layout, 41000)
    layout.write_server_confs(ports, templates.PROXY_PIPELINE)
    layout.write_rings(ports, replicas=3)

    salt = read_ini(layout.cluster_conf)["hash"]
    assert len(salt["hash_path_prefix"]) == 16 and len(salt["hash_path_suffix"]) == 16
    conf = read_ini(layout.server_conf("object", 2))
    assert conf["DEFAULT"]["bind_port"] == str(ports["object-server-2"])
    assert conf["DEFAULT"]["devices"] == layout.node_devices_dir(2)
    assert conf["object-updater"]["log_file"] == layout.log_file("object-updater-2")
    proxy = read_ini(layout.proxy_conf)
    assert proxy["pipeline:main"]["pipeline"].split() == list(templates.PROXY_PIPELINE)
    assert len(proxy["filter:tempauth"]["token_secret"]) == 32

    ring = Ring(layout.ring_path("container"))
    assert ring.replica_count == 3
    assert sorted(dev["port"] for dev in ring.devs if dev) == sorted(
        ports["container-server-%d" % n] for n in range(1, 5))
    for part in (0, 7, 1023):
        zones = [dev["zone"] for dev in ring.get_part_nodes(part)]
        assert len(set(zones)) == 3
    for node in range(1, 5):
        assert os.path.isdir(layout.device_path(node))


def test_new_ports_rewrite_rings_without_moving_partitions(tmp_path):
    layout = Layout(str(tmp_path), nodes=4)
    layout.make_dirs()
    layout.write_cluster_conf()
    first = _ports(layout, 41000)
    layout.write_server_confs(first, templates.PROXY_PIPELINE)
    layout.write_rings(first, replicas=3)
    before = Ring(layout.ring_path("object"))
    placement = [[dev["id"] for dev in before.get_part_nodes(p)] for p in range(1024)]
    secret = read_ini(layout.proxy_conf)["filter:tempauth"]["token_secret"]

    second = dict(first, **{"object-server-3": 42003, "proxy-server": 42999})
    layout.write_server_confs(second, ["healthcheck", "proxy-server"])
    layout.write_rings(second, replicas=3)

    after = Ring(layout.ring_path("object"))
    assert [[dev["id"] for dev in after.get_part_nodes(p)] for p in range(1024)] == placement
    assert {dev["port"] for dev in after.devs if dev["zone"] == 3} == {42003}
    assert read_ini(layout.server_conf("object", 3))["DEFAULT"]["bind_port"] == "42003"
    proxy = read_ini(layout.proxy_conf)
    assert proxy["DEFAULT"]["bind_port"] == "42999"
    assert proxy["pipeline:main"]["pipeline"] == "healthcheck proxy-server"
    assert proxy["filter:tempauth"]["token_secret"] == secret


def test_more_replicas_than_nodes_is_refused(tmp_path):
    layout = Layout(str(tmp_path), nodes=2)
    layout.make_dirs()
    with pytest.raises(LayoutError):
        layout.write_rings(_ports(layout, 41000), replicas=3)


def test_assign_ports_keeps_free_recorded_ports_and_replaces_busy_ones(tmp_path):
    layout = Layout(str(tmp_path), nodes=2)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    free_port = free.getsockname()[1]
    free.close()
    try:
        recorded = {"object-server-1": free_port, "object-server-2": busy.getsockname()[1]}
        ports = assign_ports(layout, recorded, proxy_port=0)
    finally:
        busy.close()
    assert ports["object-server-1"] == free_port
    assert ports["object-server-2"] != recorded["object-server-2"]
    assert set(ports) == set(layout.backend_names()) | {"proxy-server"}
    assert len(set(ports.values())) == len(ports)
    assert assign_ports(layout, {}, proxy_port=18080)["proxy-server"] == 18080


def test_set_option_changes_only_that_section(tmp_path):
    path = tmp_path / "x.conf"
    path.write_text("[DEFAULT]\nbind_port = 1\n# note\n[other]\nbind_port = 2\n")
    _set_option(str(path), "other", "bind_port", "3")
    assert path.read_text() == "[DEFAULT]\nbind_port = 1\n# note\n[other]\nbind_port = 3\n"
    with pytest.raises(LayoutError):
        _set_option(str(path), "other", "missing", "1")


def test_state_round_trips_and_survives_garbage(tmp_path):
    path = str(tmp_path / "run" / "state.json")
    assert read_state(path)["pids"] == {}
    with locked_state(path) as state:
        state["pids"]["proxy-server"] = 42
    assert read_state(path)["pids"] == {"proxy-server": 42}
    with open(path, "w") as handle:
        handle.write("{half")
    assert read_state(path)["pids"] == {}


def test_existing_config_gains_a_newly_added_daemon_section(tmp_path):
    layout = Layout(str(tmp_path), nodes=1)
    layout.make_dirs()
    ports = _ports(layout, 41000)
    layout.write_server_confs(ports, templates.PROXY_PIPELINE)
    path = layout.server_conf("container", 1)
    text = open(path).read()
    with open(path, "w") as handle:
        handle.write(text[:text.index("[container-updater]")])
    layout.write_server_confs(ports, templates.PROXY_PIPELINE)
    section = read_ini(path)["container-updater"]
    assert section["log_file"] == layout.log_file("container-updater-1")
    assert section["devices"] == layout.node_devices_dir(1)


def test_existing_proxy_config_gains_sections_for_new_filters(tmp_path):
    """A data dir made before a filter existed must still start once the filter ships."""
    layout = Layout(str(tmp_path), nodes=1)
    layout.make_dirs()
    ports = _ports(layout, 42000)
    old_pipeline = [name for name in templates.PROXY_PIPELINE if name != "dlo"]
    layout.write_server_confs(ports, old_pipeline)
    text = open(layout.proxy_conf).read()
    start = text.index("[filter:dlo]")
    end = text.find("\n[", start + 1)
    with open(layout.proxy_conf, "w") as handle:
        handle.write(text[:start] + (text[end + 1:] if end != -1 else ""))
    secret = read_ini(layout.proxy_conf)["filter:tempauth"]["token_secret"]
    assert "filter:dlo" not in read_ini(layout.proxy_conf)

    layout.write_server_confs(ports, templates.PROXY_PIPELINE)
    sections = read_ini(layout.proxy_conf)
    assert sections["filter:dlo"]["use"] == "egg:objstore#dlo"
    assert sections["pipeline:main"]["pipeline"] == " ".join(templates.PROXY_PIPELINE)
    assert sections["filter:tempauth"]["token_secret"] == secret  # tokens stay valid


def test_existing_account_config_gains_its_daemons_and_ring_dir(tmp_path):
    """Account configs written before the account daemons had no ring directory."""
    layout = Layout(str(tmp_path), nodes=1)
    layout.make_dirs()
    ports = _ports(layout, 42000)
    layout.write_server_confs(ports, templates.PROXY_PIPELINE)
    path = layout.server_conf("account", 1)
    text = open(path).read()
    old = text[:text.index("[account-replicator]")]
    old = "\n".join(line for line in old.split("\n") if not line.startswith("swift_dir"))
    with open(path, "w") as handle:
        handle.write(old)
    assert "swift_dir" not in read_ini(path)["DEFAULT"]

    layout.write_server_confs(ports, templates.PROXY_PIPELINE)
    after = read_ini(path)
    for daemon in ("account-replicator", "account-auditor", "account-reaper"):
        assert after[daemon]["swift_dir"] == layout.etc_dir
    assert after["DEFAULT"]["bind_port"] == str(ports["account-server-1"])
    check_server_config(path)


def test_new_cluster_has_gold_and_silver_with_their_own_rings(tmp_path):
    layout = Layout(str(tmp_path), nodes=4)
    layout.make_dirs()
    layout.write_cluster_conf()
    layout.write_rings(_ports(layout, 41000), replicas=3)
    sections = read_ini(layout.cluster_conf)
    gold, silver = sections["storage-policy:0"], sections["storage-policy:1"]
    assert (gold["name"], gold["default"]) == ("gold", "yes")
    assert silver["name"] == "silver" and "default" not in silver
    assert Ring(layout.ring_path("object")).replica_count == 3
    assert Ring(layout.ring_path("object-1")).replica_count == 2


def test_data_dir_from_before_silver_gains_its_section_and_ring(tmp_path):
    layout = Layout(str(tmp_path), nodes=4)
    layout.make_dirs()
    old_conf = templates.render("objstore.conf", {
        "hash_path_prefix": "p", "hash_path_suffix": "s",
        "storage_policies": templates.SAMPLE_POLICIES})
    with open(layout.cluster_conf, "w", encoding="utf-8") as handle:
        handle.write(old_conf)
    ports = _ports(layout, 41000)
    layout.write_rings(ports, replicas=3)
    os.unlink(layout.ring_path("object-1"))
    os.unlink(layout.builder_path("object-1"))
    placement = Ring(layout.ring_path("object")).get_part_nodes(7)

    assert not layout.write_cluster_conf()       # the salt and policy 0 stay
    assert not layout.write_cluster_conf()       # and the section is added once
    layout.write_rings(ports, replicas=3)
    sections = read_ini(layout.cluster_conf)
    assert sections["hash"]["hash_path_prefix"] == "p"
    assert sections["storage-policy:0"]["name"] == "Policy-0"
    assert sections["storage-policy:1"]["name"] == "silver"
    with open(layout.cluster_conf, encoding="utf-8") as handle:
        assert len(re.findall(r"(?m)^\[storage-policy:1\]", handle.read())) == 1
    assert Ring(layout.ring_path("object-1")).replica_count == 2
    assert Ring(layout.ring_path("object")).get_part_nodes(7) == placement


@pytest.mark.parametrize("added", ["cors", "container_quotas", "account_quotas"])
def test_data_dir_from_before_cors_and_quotas_gains_their_sections(tmp_path, added):
    """A proxy config written without a filter gains its section, its options commented."""
    layout = Layout(str(tmp_path), nodes=1)
    layout.make_dirs()
    ports = _ports(layout, 42000)
    old_pipeline = [name for name in templates.PROXY_PIPELINE if name != added]
    layout.write_server_confs(ports, old_pipeline)
    text = open(layout.proxy_conf).read()
    start = text.index("[filter:%s]" % added)
    end = text.find("\n[", start + 1)
    with open(layout.proxy_conf, "w") as handle:
        handle.write(text[:start] + (text[end + 1:] if end != -1 else ""))
    assert "filter:%s" % added not in read_ini(layout.proxy_conf)

    layout.write_server_confs(ports, templates.PROXY_PIPELINE)
    sections = read_ini(layout.proxy_conf)
    assert sections["filter:%s" % added]["use"] == "egg:objstore#%s" % added
    assert sections["pipeline:main"]["pipeline"] == " ".join(templates.PROXY_PIPELINE)
    if added == "cors":
        assert "# strict_cors_mode = true" in open(layout.proxy_conf).read()
