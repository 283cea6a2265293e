"""objstore-ring-builder: a full round trip, and one clear line for every bad input."""
import gzip
import os
import subprocess
import sys

import pytest

from objstore.ring.builder import RingBuilder
from objstore.ring.cli import main, ring_path_for
from objstore.ring.ring import Ring

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))


def run_cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", "objstore.ring.cli"] + list(args),
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_round_trip_through_the_command_line(tmp_path):
    builder_file = str(tmp_path / "object.builder")
    script = [
        ["create", "8", "3", "1"],
        ["add", "r1z1-127.0.0.1:6200/sdb1", "100", "r1z2-127.0.0.1:6201/sdb2", "100"],
        ["add", "r1z3-127.0.0.1:6202R127.0.0.2:6302/sdb3_fast ssd", "100"],
        ["add", "--region", "1", "--zone", "4", "--ip", "127.0.0.1", "--port", "6203",
         "--device", "sdb4", "--weight", "50"],
        ["rebalance", "--seed", "4"],
        ["write_ring"],
        ["list"],
    ]
    outputs = []
    for args in script:
        result = run_cli(builder_file, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stderr == ""
        outputs.append(result.stdout)
    listing = outputs[-1]
    assert "256 partitions, 3 replicas, 1 regions, 4 zones, 4 devices" in listing
    header = [line for line in listing.splitlines() if line.startswith("id")][0]
    for column in ("region", "zone", "ip address:port", "replication ip:port", "name",
                   "weight", "partitions", "balance", "meta"):
        assert column in header
    row3 = [line for line in listing.splitlines() if "127.0.0.2:6302" in line][0]
    assert "sdb3" in row3 and "fast ssd" in row3
    ring_file = str(tmp_path / "object.ring.gz")
    assert ring_path_for(builder_file) == ring_file
    ring = Ring(ring_file)
    builder = RingBuilder.load(builder_file)
    assert ring.replica_count == 3 and ring.partition_count == 256
    for part in range(256):
        assert [n["id"] for n in ring.get_part_nodes(part)] == builder.replica_devices(part)
    parts = builder.parts_per_device()
    assert sum(parts.values()) == 768
    # the summary is the default command
    assert run_cli(builder_file).stdout == listing


def _new_builder(tmp_path, devices=4):
    path = str(tmp_path / "object.builder")
    assert main([path, "create", "6", "3", "0"]) == 0
    for i in range(devices):
        assert main([path, "add", "r1z%d-127.0.0.1:62%02d/sdb%d" % (i, i, i), "100"]) == 0
    return path


@pytest.mark.parametrize("args, fragment", [
    (["add", "r1z1-127.0.0.1:6200/sdb0", "100"], "duplicate"),
    (["add", "r1z1-127.0.0.1/sdb9", "100"], "malformed"),
    (["add", "garbage", "100"], "malformed"),
    (["add", "r1z1-127.0.0.1:6209/sdb9"], "pairs"),
    (["add", "r1z1-127.0.0.1:6209/sdb9", "-5"], ">= 0"),
    (["add", "r1z1-127.0.0.1:6209/sdb9", "heavy"], "number"),
    (["add", "r1z1-127.0.0.1:99999/sdb9", "1"], "port"),
    (["add", "--zone", "1", "--ip", "127.0.0.1"], "required"),
    (["add", "--zone", "x", "--ip", "1.1.1.1", "--port", "1", "--device", "d",
      "--weight", "1"], "invalid int"),
    (["remove", "d42"], "no device matches"),
    (["remove", "r1"], "4 devices match"),
    (["remove", "z#"], "malformed"),
    (["set_weight", "d42", "10"], "no device matches"),
    (["set_weight", "d1", "-1"], ">= 0"),
    (["set_weight", "d1", "lots"], "number"),
    (["create", "6", "3", "0"], "already exists"),
    (["rebalance", "--seed", "x"], "invalid int"),
    (["write_ring"], "not been rebalanced"),
    (["frobnicate"], "unknown command"),
    (["list", "extra"], "takes no arguments"),
])
def test_bad_input_gives_one_line_and_non_zero_exit(tmp_path, capsys, args, fragment):
    path = _new_builder(tmp_path)
    capsys.readouterr()
    before = open(path, "rb").read()
    assert main([path] + args) != 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert fragment in lines[0]
    assert "Traceback" not in captured.err
    assert open(path, "rb").read() == before  # a refused command changes nothing


def test_too_many_replicas_for_the_devices(tmp_path, capsys):
    path = _new_builder(tmp_path, devices=2)
    capsys.readouterr()
    assert main([path, "rebalance"]) != 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "3 replicas need at least 3 devices" in err[0]
    assert not os.path.exists(ring_path_for(path))


@pytest.mark.parametrize("create, fragment", [
    (["create", "x", "3", "1"], "integer"),
    (["create", "8", "3"], "create needs"),
    (["create", "99", "3", "1"], "between"),
    (["create", "8", "0", "1"], "between"),
    (["create", "8", "3", "-1"], "between"),
])
def test_bad_create_numbers(tmp_path, capsys, create, fragment):
    path = str(tmp_path / "object.builder")
    assert main([path] + create) != 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and fragment in err[0]
    assert not os.path.exists(path)


def test_missing_and_corrupt_builder_files(tmp_path):
    missing = run_cli(str(tmp_path / "nope.builder"), "list")
    assert missing.returncode != 0
    assert missing.stderr.count("\n") == 1 and "no such builder file" in missing.stderr
    corrupt = tmp_path / "bad.builder"
    corrupt.write_bytes(gzip.compress(b"{\"format\": 1"))
    result = run_cli(str(corrupt), "add", "r1z1-127.0.0.1:6200/sdb1", "1")
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "not a valid ring builder file" in result.stderr
    assert "Traceback" not in missing.stderr + result.stderr


def test_remove_and_set_weight_then_rebalance(tmp_path, capsys):
    path = _new_builder(tmp_path, devices=5)
    assert main([path, "rebalance", "--seed", "1"]) == 0
    assert main([path, "set_weight", "d0", "200"]) == 0
    assert main([path, "remove", "/sdb4"]) == 0
    assert main([path, "rebalance", "--seed", "1"]) == 0
    builder = RingBuilder.load(path)
    assert builder.get_dev(0)["weight"] == 200
    assert [d["id"] for d in builder.search_devs("/sdb4")] == []
    assert all(4 not in builder.replica_devices(p) for p in range(builder.parts))
    out = capsys.readouterr().out
    assert "marked for removal" in out and "weight set to 200" in out


def test_usage(capsys):
    assert main([]) != 0
    assert capsys.readouterr().err.startswith("error: no builder file")
    assert main(["--help"]) == 0
    assert "rebalance" in capsys.readouterr().out
