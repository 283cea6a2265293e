"""Ring: file format round trip, lookups, handoffs, reloading."""
import gzip
import hashlib
import json
import os
import subprocess
import sys

import pytest

from objstore.common.path_hash import HashPathNotConfigured, PathHasher
from objstore.ring.builder import RingBuilder
from objstore.ring.ring import Ring, load_ring
from objstore.ring.ring_data import MAGIC, RingFileError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
NODE_KEYS = {"id", "region", "zone", "ip", "port", "replication_ip", "replication_port",
             "device", "weight", "meta", "index"}


HASHER = PathHasher.from_salt("test-prefix", "test-suffix")


def build(part_power=8, zones=4, per_zone=2, replicas=3, seed=1):
    builder = RingBuilder(part_power, replicas, 0)
    for zone in range(zones):
        for i in range(per_zone):
            builder.add_dev({"region": 1, "zone": zone, "ip": "10.0.%d.%d" % (zone, i),
                             "port": 6200 + i, "device": "sdb%d" % i, "weight": 100,
                             "meta": "z%d" % zone})
    builder.rebalance(seed=seed)
    return builder


@pytest.fixture
def ring_dir(tmp_path):
    build().write_ring(str(tmp_path / "object.ring.gz"))
    return tmp_path


def test_written_ring_gives_identical_placement(tmp_path):
    builder = build()
    path = str(tmp_path / "object.ring.gz")
    builder.write_ring(path)
    ring = Ring(path, HASHER)
    assert ring.partition_count == 256 and ring.replica_count == 3
    for part in range(ring.partition_count):
        nodes = ring.get_part_nodes(part)
        assert [n["id"] for n in nodes] == builder.replica_devices(part)
        assert [n["index"] for n in nodes] == [0, 1, 2]
    assert [d["id"] for d in ring.devs if d] == list(range(8))
    # the format starts with its magic and version inside gzip, and holds no pickle
    raw = gzip.decompress(open(path, "rb").read())
    assert raw.startswith(MAGIC + b"\x00\x01")
    # writing twice gives the same bytes: the file only changes when the ring does
    builder.write_ring(str(tmp_path / "again.ring.gz"))
    assert open(path, "rb").read() == open(str(tmp_path / "again.ring.gz"), "rb").read()


def test_get_part_is_top_bits_of_salted_md5(ring_dir):
    ring = load_ring(str(ring_dir), "object", HASHER)
    digest = hashlib.md5(b"test-prefix/a/c/o" + b"test-suffix").digest()
    expected = int.from_bytes(digest[:4], "big") >> (32 - 8)
    assert ring.get_part("a", "c", "o") == expected
    part, nodes = ring.get_nodes("a", "c", "o")
    assert part == expected
    assert len(nodes) == 3 and len({n["id"] for n in nodes}) == 3
    for node in nodes:
        assert NODE_KEYS <= set(node)
    assert ring.get_nodes("a")[0] == ring.get_part("a")
    assert ring.get_nodes("a", "c")[0] == ring.get_part("a", "c")


def test_returned_nodes_are_copies(ring_dir):
    ring = load_ring(str(ring_dir), "object", HASHER)
    _part, nodes = ring.get_nodes("a", "c", "o")
    nodes[0]["ip"] = "changed"
    assert ring.get_nodes("a", "c", "o")[1][0]["ip"] != "changed"


def test_handoffs_never_repeat_a_primary_and_prefer_new_zones(ring_dir):
    ring = load_ring(str(ring_dir), "object", HASHER)
    for part in range(0, 256, 7):
        primaries = ring.get_part_nodes(part)
        handoffs = list(ring.get_more_nodes(part))
        primary_ids = {n["id"] for n in primaries}
        handoff_ids = [n["id"] for n in handoffs]
        assert not primary_ids & set(handoff_ids)
        assert len(handoff_ids) == len(set(handoff_ids)) == 8 - 3
        # the first handoff is in the one zone no primary uses
        unused_zone = {0, 1, 2, 3} - {n["zone"] for n in primaries}
        assert handoffs[0]["zone"] in unused_zone
        assert [n["index"] for n in handoffs] == list(range(3, 8))


def test_handoffs_are_stable_across_processes(ring_dir):
    ring = load_ring(str(ring_dir), "object", HASHER)
    here = {part: [n["id"] for n in ring.get_more_nodes(part)] for part in (0, 17, 255)}
    script = (
        "import json, sys\n"
        "from objstore.common.path_hash import PathHasher\n"
        "from objstore.ring.ring import load_ring\n"
        "hasher = PathHasher.from_salt('test-prefix', 'test-suffix')\n"
        "ring = load_ring(sys.argv[1], 'object', hasher)\n"
        "print(json.dumps({p: [n['id'] for n in ring.get_more_nodes(p)] for p in (0, 17, 255)}"
        " | {'nodes': ring.get_nodes('a', 'c', 'o')[1][0]['id']}))\n")
    env = dict(os.environ, PYTHONPATH=REPO, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", script, str(ring_dir)], env=env,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    there = json.loads(out)
    assert {int(k): v for k, v in there.items() if k != "nodes"} == here
    assert there["nodes"] == ring.get_nodes("a", "c", "o")[1][0]["id"]


def test_ring_reloads_when_the_file_changes(tmp_path):
    path = str(tmp_path / "object.ring.gz")
    build(seed=1).write_ring(path)
    ring = Ring(path, HASHER, reload_time=0)
    slow = Ring(path, HASHER, reload_time=3600)
    before = [n["id"] for n in ring.get_part_nodes(0)]
    bigger = build(seed=1, zones=5)
    bigger.write_ring(path)
    assert ring.replica_count == 3
    assert len([d for d in ring.devs if d]) == 10
    assert [n["id"] for n in ring.get_part_nodes(0)] == bigger.replica_devices(0)
    # a ring checked at most hourly still serves the old table
    assert len([d for d in slow.devs if d]) == 8
    assert [n["id"] for n in slow.get_part_nodes(0)] == before


def test_damaged_new_file_keeps_old_ring(tmp_path):
    path = str(tmp_path / "object.ring.gz")
    build().write_ring(path)
    ring = Ring(path, HASHER, reload_time=0)
    expected = ring.get_nodes("a", "c", "o")
    with open(path, "wb") as handle:
        handle.write(b"garbage")
    assert ring.get_nodes("a", "c", "o") == expected


@pytest.mark.parametrize("blob", [
    b"", b"junk", gzip.compress(b"NOTARING"),
    gzip.compress(MAGIC + b"\x00\x09\x00\x00\x00\x02{}"),
    gzip.compress(MAGIC + b"\x00\x01\x00\x00\x00\x02{}"),
    gzip.compress(MAGIC + b"\x00\x01\x00\x00\x00\x30"
                  + b'{"part_power":2,"replica_count":1,"devs":[]}  '),
])
def test_damaged_ring_files_are_refused(tmp_path, blob):
    path = tmp_path / "object.ring.gz"
    path.write_bytes(blob)
    with pytest.raises(RingFileError):
        Ring(str(path), HASHER)


def test_load_ring_names(tmp_path):
    builder = build()
    for name in ("account", "container", "object", "object-1"):
        builder.write_ring(str(tmp_path / (name + ".ring.gz")))
        assert load_ring(str(tmp_path), name, HASHER).replica_count == 3
    for bad in ("objects", "../object", "object-x", ""):
        with pytest.raises(ValueError):
            load_ring(str(tmp_path), bad, HASHER)
    with pytest.raises(FileNotFoundError):
        load_ring(str(tmp_path / "nowhere"), "object", HASHER)


def test_handoffs_skip_zero_weight_devices_and_prefer_new_regions(tmp_path):
    builder = RingBuilder(6, 2, 0)
    layout = [(1, 1, 100), (1, 2, 100), (2, 1, 100), (2, 2, 100), (3, 1, 100), (3, 2, 100),
              (1, 3, 0)]
    for region, zone, weight in layout:
        builder.add_dev({"region": region, "zone": zone, "ip": "10.%d.%d.1" % (region, zone),
                         "port": 6200, "device": "sdb", "weight": weight})
    builder.rebalance(seed=2)
    path = str(tmp_path / "object.ring.gz")
    builder.write_ring(path)
    ring = Ring(path, HASHER)
    for part in range(ring.partition_count):
        primaries = ring.get_part_nodes(part)
        handoffs = list(ring.get_more_nodes(part))
        assert 6 not in [n["id"] for n in handoffs]  # weight 0: never a handoff
        assert len(handoffs) == 6 - 2
        used = {n["region"] for n in primaries}
        assert len(used) == 2
        assert handoffs[0]["region"] not in used
        # then the zones of used regions the primaries left free
        used_zones = {(n["region"], n["zone"]) for n in primaries + handoffs[:1]}
        assert (handoffs[1]["region"], handoffs[1]["zone"]) not in used_zones


def test_a_ring_without_the_hasher_reads_layout_but_refuses_names(ring_dir):
    ring = load_ring(str(ring_dir), "object")
    assert ring.replica_count == 3 and len(ring.get_part_nodes(0)) == 3
    with pytest.raises(HashPathNotConfigured):
        ring.get_nodes("a", "c", "o")


def test_two_salts_place_one_name_on_different_partitions(ring_dir):
    other = load_ring(str(ring_dir), "object", PathHasher.from_salt("other", "salt"))
    ours = load_ring(str(ring_dir), "object", HASHER)
    names = ["o%d" % i for i in range(20)]
    assert [ours.get_part("a", "c", n) for n in names] != \
        [other.get_part("a", "c", n) for n in names]
