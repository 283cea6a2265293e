"""The database layout walker every DB daemon uses: find, filter by partition, remove."""
import os

from objstore.account.backend import AccountBroker
from objstore.common.db_files import iter_db_files, iter_devices, iter_partitions, remove_db
from objstore.common.path_hash import PathHasher
from objstore.container.backend import ContainerBroker

HASHER = PathHasher.from_salt("test-prefix", "test-suffix")


def _containers(device, names_by_part):
    made = {}
    for part, names in names_by_part.items():
        for name in names:
            broker = ContainerBroker.for_container(HASHER, str(device), part, "AUTH_a", name)
            broker.initialize(1000, account="AUTH_a", container=name)
            made[name] = broker.db_file
    return made


def test_walks_every_db_of_its_kind_and_skips_strays(tmp_path):
    device = tmp_path / "d1"
    device.mkdir()
    made = _containers(device, {3: ["a", "b"], 17: ["c"]})
    AccountBroker.for_account(HASHER, str(device), 3, "AUTH_a").initialize(1000,
                                                                           account="AUTH_a")
    # strays another process may be in the middle of: no .db in a hash dir, a file
    (device / "containers" / "3" / "abc" / "deadbeef").mkdir(parents=True)
    (device / "containers" / "junk").write_text("x")
    found = list(ContainerBroker.iter_on_device(str(device)))
    assert sorted(f.path for f in found) == sorted(made.values())
    assert {f.partition for f in found} == {3, 17}
    assert all(os.path.basename(f.path) == f.name_hash + ".db" for f in found)
    assert [f.partition for f in AccountBroker.iter_on_device(str(device))] == [3]
    assert list(iter_partitions(str(device), "containers")) == [3, 17]
    assert [f.path for f in iter_db_files(str(device), "containers", 17)] == [made["c"]]
    assert list(iter_db_files(str(tmp_path / "missing"), "containers")) == []


def test_remove_db_cleans_empty_parents_only(tmp_path):
    device = tmp_path / "d1"
    device.mkdir()
    made = _containers(device, {5: ["a", "b"]})
    remove_db(made["a"])
    assert not os.path.exists(os.path.dirname(made["a"]))
    assert os.path.exists(made["b"])
    remove_db(made["b"])
    assert not (device / "containers" / "5").exists()
    assert (device / "containers").is_dir()


def test_iter_devices_skips_unmounted(tmp_path):
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    (tmp_path / "notadir").write_text("")
    assert list(iter_devices(str(tmp_path), False)) == [str(tmp_path / "d1"),
                                                        str(tmp_path / "d2")]
    assert list(iter_devices(str(tmp_path), True)) == []
