import dataclasses
import hashlib

import pytest

from objstore.common.cluster_config import load_cluster_config
from objstore.common.config import (ConfigError, ConfigSection, SpaceReserve, merge_conf,
                                    read_config_file, read_ini, to_bool, to_list)
from objstore.common.constraints import Constraints, MetadataError, check_metadata, valid_utf8


@dataclasses.dataclass
class Sample(ConfigSection):
    port: int = 80
    ratio: float = 0.5
    enabled: bool = False
    names: list = dataclasses.field(default_factory=list)
    label: str = "x"


def test_typed_conversion_and_defaults():
    conf = Sample.from_section({"port": "8080", "enabled": "yes", "names": "a, b c"})
    assert conf == Sample(port=8080, ratio=0.5, enabled=True, names=["a", "b", "c"], label="x")


def test_bad_value_names_file_section_and_option():
    raw = {"port": "eighty", "__file__": "/etc/x.conf", "__section__": "app:srv"}
    with pytest.raises(ConfigError) as err:
        Sample.from_section(raw)
    assert str(err.value) == ("/etc/x.conf [app:srv]: option 'port': expected an integer, "
                              "got 'eighty'")


def test_unknown_option_names_the_closest_valid_one():
    raw = {"enabeld": "yes", "__file__": "/etc/x.conf", "__section__": "filter:s"}
    with pytest.raises(ConfigError) as err:
        Sample.from_section(raw)
    assert str(err.value) == ("/etc/x.conf [filter:s]: unknown option 'enabeld' "
                              "(did you mean 'enabled'?)")
    assert "\n" not in str(err.value)


def test_inherited_defaults_are_taken_when_known_and_left_otherwise():
    conf = Sample.from_section({"label": "own"}, inherited={"port": "81", "bind_ip": "::1",
                                                            "label": "default"})
    assert (conf.port, conf.label) == (81, "own")
    with pytest.raises(ConfigError, match="option 'port'"):
        Sample.from_section({}, inherited={"port": "x"})


def test_merge_conf_section_wins():
    assert merge_conf({"a": "1", "b": "1"}, {"b": "2"}) == {"a": "1", "b": "2"}
    assert merge_conf(None, None) == {}


def test_read_config_file_keeps_default_apart(tmp_path):
    path = tmp_path / "x.conf"
    path.write_text("[DEFAULT]\nlog_level = DEBUG\n[app:a]\nuse = egg:objstore#x\n")
    conf_file = read_config_file(str(path))
    assert conf_file.defaults == {"log_level": "DEBUG"}
    assert conf_file.own("app:a") == {"use": "egg:objstore#x", "__file__": str(path),
                                      "__section__": "app:a"}
    with pytest.raises(ConfigError, match=r"no \[app:b\] section"):
        conf_file.own("app:b")


def test_bool_and_list_helpers():
    assert to_bool("On") is True and to_bool("0") is False
    with pytest.raises(ValueError):
        to_bool("maybe")
    assert to_list("a,b  c") == ["a", "b", "c"]


def test_read_ini_merges_defaults_and_keeps_case(tmp_path):
    path = tmp_path / "x.conf"
    path.write_text("[DEFAULT]\nlog_level = DEBUG\n[filter:tempauth]\nuser_Test_Tester = k%s .admin\n")
    sections = read_ini(str(path))
    assert sections["filter:tempauth"]["user_Test_Tester"] == "k%s .admin"
    assert sections["filter:tempauth"]["log_level"] == "DEBUG"


def test_read_ini_errors_are_config_errors(tmp_path):
    with pytest.raises(ConfigError):
        read_ini(str(tmp_path / "missing.conf"))
    bad = tmp_path / "bad.conf"
    bad.write_text("no section header\n")
    with pytest.raises(ConfigError):
        read_ini(str(bad))


def test_cluster_config_sets_salt_constraints_and_policies(tmp_path):
    conf = tmp_path / "objstore.conf"
    conf.write_text("[hash]\nhash_path_prefix = test-prefix\nhash_path_suffix = test-suffix\n"
                    "[constraints]\nmax_meta_count = 10\n"
                    "[storage-policy:0]\nname = gold\n[storage-policy:1]\nname = silver\n"
                    "default = yes\n")
    loaded = load_cluster_config(str(conf))
    assert loaded.constraints.max_meta_count == 10
    assert loaded.policies.default.name == "silver"
    assert loaded.policies.get_by_index(1).data_dir == "objects-1"
    assert loaded.policies.get_by_name("GOLD").index == 0
    assert loaded.hasher.hash_path("a") == hashlib.md5(b"test-prefix/atest-suffix").hexdigest()
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.constraints.max_meta_count = 11


def test_cluster_config_refuses_unknown_sections_and_options(tmp_path):
    conf = tmp_path / "objstore.conf"
    conf.write_text("[hash]\nhash_path_suffix = s\n[constraint]\n")
    with pytest.raises(ConfigError, match=r"unknown section \[constraint\] "
                                          r"\(did you mean \[constraints\]\?\)"):
        load_cluster_config(str(conf))
    conf.write_text("[hash]\nhash_path_suffix = s\n[constraints]\nmax_file_sise = 5\n")
    with pytest.raises(ConfigError) as err:
        load_cluster_config(str(conf))
    assert str(err.value) == ("%s [constraints]: unknown option 'max_file_sise' "
                              "(did you mean 'max_file_size'?)" % conf)


def test_policy_collection_rules():
    from objstore.common.storage_policy import PolicyCollection, StoragePolicy
    with pytest.raises(ConfigError, match="deprecated"):
        PolicyCollection([StoragePolicy(index=0, name="gold", default=True, deprecated=True)])
    with pytest.raises(ConfigError, match="name"):
        PolicyCollection([StoragePolicy(index=0, name="gold"),
                          StoragePolicy(index=1, name="silver", aliases=["GOLD"])])
    known = PolicyCollection([StoragePolicy(index=0, name="gold"),
                              StoragePolicy(index=1, name="silver", aliases=["cheap"]),
                              StoragePolicy(index=2, name="tin", deprecated=True)])
    assert known.default.name == "gold"               # none named: policy 0
    assert known.get_by_name("Cheap").index == 1
    assert [p["name"] for p in known.info()] == ["gold", "silver"]


def test_cluster_config_without_salt_refuses(tmp_path):
    conf = tmp_path / "objstore.conf"
    conf.write_text("[hash]\n")
    with pytest.raises(ConfigError, match="hash_path_prefix"):
        load_cluster_config(str(conf))


def test_metadata_limits():
    limits = Constraints()
    check_metadata({"X-Object-Meta-" + "a" * 128: "v" * 256}, "object", limits)
    with pytest.raises(MetadataError):
        check_metadata({"X-Object-Meta-" + "a" * 129: "v"}, "object", limits)
    with pytest.raises(MetadataError):
        check_metadata({"X-Object-Meta-a": "v" * 257}, "object", limits)
    with pytest.raises(MetadataError):
        check_metadata({"X-Container-Meta-%d" % i: "v" for i in range(91)}, "container", limits)
    with pytest.raises(MetadataError):
        check_metadata({"X-Account-Meta-%02d" % i: "v" * 200 for i in range(21)}, "account",
                       limits)
    with pytest.raises(MetadataError):
        check_metadata({"X-Object-Meta-": "v"}, "object", limits)


def test_valid_utf8():
    assert valid_utf8("héllo")
    assert not valid_utf8("a\x00b")
    assert not valid_utf8(b"\xff")


@pytest.mark.parametrize("text, amount, percent", [
    ("1%", 1.0, True), (" 0.5% ", 0.5, True), ("100%", 100.0, True),
    ("0", 0.0, False), ("10737418240", 10737418240.0, False)])
def test_space_reserve_reads_bytes_or_a_percentage(text, amount, percent):
    reserve = SpaceReserve.parse(text)
    assert (reserve.amount, reserve.percent) == (amount, percent)
    assert SpaceReserve.parse(str(reserve)) == reserve


@pytest.mark.parametrize("text", ["", "1 GB", "-1", "101%", "%", "nan"])
def test_space_reserve_refuses_garbage(text):
    with pytest.raises(ValueError):
        SpaceReserve.parse(text)


def test_space_reserve_is_crossed_when_a_write_leaves_no_more_than_it():
    one_percent = SpaceReserve.parse("1%")
    assert not one_percent.crossed_by(0, free=20, total=1000)
    assert one_percent.crossed_by(10, free=20, total=1000)      # 1.0% left: at the reserve
    assert not one_percent.crossed_by(9, free=20, total=1000)
    assert SpaceReserve.parse("100").crossed_by(1, free=100, total=1000)
    assert not SpaceReserve.parse("100").crossed_by(1, free=102, total=1000)
    assert not SpaceReserve.parse("0").crossed_by(10 ** 12, free=0, total=1000)


def test_space_reserve_option_in_a_section():
    @dataclasses.dataclass
    class Section(ConfigSection):
        reserve: SpaceReserve = SpaceReserve(1.0, percent=True)

    assert Section.from_section({}).reserve == SpaceReserve(1.0, percent=True)
    assert Section.from_section({"reserve": "4096"}).reserve == SpaceReserve(4096.0)
    with pytest.raises(ConfigError, match="reserve"):
        Section.from_section({"reserve": "lots"})
