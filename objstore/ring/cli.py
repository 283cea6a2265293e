"""``objstore-ring-builder``: the operator's command line for ring builder files.

Shaped like swift-ring-builder so an operator feels at home::

    objstore-ring-builder object.builder create 10 3 1
    objstore-ring-builder object.builder add r1z1-127.0.0.1:6200/sdb1 100
    objstore-ring-builder object.builder rebalance
    objstore-ring-builder object.builder            # summary and device table

Every error is one line on stderr and exit status 2; nothing prints a traceback.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from types import MappingProxyType
from typing import Optional

from objstore.ring.builder import RingBuilder
from objstore.ring.devices import (RingBuilderError, describe_device, format_address,
                                   parse_add_string)
from objstore.ring.ring_data import RingFileError

EXIT_OK = 0
EXIT_ERROR = 2

USAGE = """usage: objstore-ring-builder <builder-file> [command] [args]
commands:
  create <part_power> <replicas> <min_part_hours>
  add <r1z1-ip:port[Rip:port]/device[_meta]> <weight> [<dev> <weight> ...]
  add --region R --zone Z --ip IP --port P [--replication-ip IP --replication-port P]
      --device NAME --weight W [--meta TEXT]
  remove <search> [--yes]
  set_weight <search> <weight> [--yes]
  search <search>
  rebalance [--seed N]
  write_ring
  list            (also the default with no command)"""


class CommandError(Exception):
    """A usage mistake; the message is printed as the one error line."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as a one-line exception, not usage + exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CommandError(message)


def ring_path_for(builder_path: str) -> str:
    """``object.builder`` -> ``object.ring.gz`` (other names get ``.ring.gz`` appended)."""
    base = builder_path[:-len(".builder")] if builder_path.endswith(".builder") else builder_path
    return base + ".ring.gz"


def _parse_int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise CommandError("%s must be an integer, got %r" % (name, text)) from None


def _one_or_yes(builder: RingBuilder, search: str, yes: bool) -> list[dict]:
    devs = builder.search_devs(search)
    if not devs:
        raise CommandError("no device matches %r" % search)
    if len(devs) > 1 and not yes:
        raise CommandError("%d devices match %r; narrow the search or pass --yes"
                           % (len(devs), search))
    return devs


def cmd_create(path: str, args: list[str]) -> int:
    if len(args) != 3:
        raise CommandError("create needs <part_power> <replicas> <min_part_hours>")
    if os.path.exists(path):
        raise CommandError("%s already exists; refusing to overwrite it" % path)
    builder = RingBuilder(_parse_int("part_power", args[0]), _parse_int("replicas", args[1]),
                          _parse_int("min_part_hours", args[2]))
    builder.save(path)
    print("Created %s: %d partitions, %d replicas, min_part_hours %d" % (
        path, builder.parts, builder.replicas, builder.min_part_hours))
    return EXIT_OK


def _devices_from_add_args(args: list[str]) -> list[dict]:
    if args and args[0].startswith("-"):
        parser = _Parser(prog="add", add_help=False)
        parser.add_argument("--region", type=int, default=1)
        parser.add_argument("--zone", type=int, required=True)
        parser.add_argument("--ip", required=True)
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--replication-ip", "--replication_ip", dest="replication_ip")
        parser.add_argument("--replication-port", "--replication_port", type=int,
                            dest="replication_port")
        parser.add_argument("--device", required=True)
        parser.add_argument("--weight", required=True)
        parser.add_argument("--meta", default="")
        opts = parser.parse_args(args)
        return [{"region": opts.region, "zone": opts.zone, "ip": opts.ip, "port": opts.port,
                 "replication_ip": opts.replication_ip,
                 "replication_port": opts.replication_port, "device": opts.device,
                 "weight": opts.weight, "meta": opts.meta}]
    if not args or len(args) % 2:
        raise CommandError("add needs <device> <weight> pairs, e.g. "
                           "add r1z1-127.0.0.1:6200/sdb1 100")
    return [parse_add_string(args[i], args[i + 1]) for i in range(0, len(args), 2)]


def cmd_add(path: str, args: list[str]) -> int:
    builder = RingBuilder.load(path)
    added = [builder.add_dev(dev) for dev in _devices_from_add_args(args)]
    builder.save(path)
    for dev_id in added:
        dev = builder.get_dev(dev_id)
        print("Device %s with %s weight got id %d" % (describe_device(dev), dev["weight"], dev_id))
    return EXIT_OK


def cmd_remove(path: str, args: list[str]) -> int:
    parser = _Parser(prog="remove", add_help=False)
    parser.add_argument("search")
    parser.add_argument("--yes", "-y", action="store_true")
    opts = parser.parse_args(args)
    builder = RingBuilder.load(path)
    devs = _one_or_yes(builder, opts.search, opts.yes)
    for dev in devs:
        builder.remove_dev(dev["id"])
    builder.save(path)
    for dev in devs:
        print("Device %s marked for removal" % describe_device(dev))
    return EXIT_OK


def cmd_set_weight(path: str, args: list[str]) -> int:
    parser = _Parser(prog="set_weight", add_help=False)
    parser.add_argument("search")
    parser.add_argument("weight")
    parser.add_argument("--yes", "-y", action="store_true")
    opts = parser.parse_args(args)
    builder = RingBuilder.load(path)
    devs = _one_or_yes(builder, opts.search, opts.yes)
    for dev in devs:
        builder.set_dev_weight(dev["id"], opts.weight)
    builder.save(path)
    for dev in devs:
        print("Device %s weight set to %s" % (describe_device(dev),
                                              builder.get_dev(dev["id"])["weight"]))
    return EXIT_OK


def cmd_search(path: str, args: list[str]) -> int:
    if len(args) != 1:
        raise CommandError("search needs one <search> value")
    builder = RingBuilder.load(path)
    devs = builder.search_devs(args[0])
    if not devs:
        raise CommandError("no device matches %r" % args[0])
    _print_devices(builder, devs)
    return EXIT_OK


def cmd_rebalance(path: str, args: list[str]) -> int:
    parser = _Parser(prog="rebalance", add_help=False)
    parser.add_argument("--seed", type=int, default=None)
    opts = parser.parse_args(args)
    builder = RingBuilder.load(path)
    moved, balance = builder.rebalance(seed=opts.seed)
    builder.save(path)
    builder.write_ring(ring_path_for(path))
    total = builder.parts * builder.replicas
    print("Reassigned %d (%.2f%%) replica assignments. Balance is now %.2f." % (
        moved, 100.0 * moved / total, balance))
    print("Wrote %s" % ring_path_for(path))
    if moved == 0 and balance > 1 and builder.min_part_hours:
        print("Nothing could move: partitions moved within the last %d hour(s) "
              "(min_part_hours) must stay put; rebalance again later." % builder.min_part_hours)
    return EXIT_OK


def cmd_write_ring(path: str, args: list[str]) -> int:
    if args:
        raise CommandError("write_ring takes no arguments")
    builder = RingBuilder.load(path)
    builder.write_ring(ring_path_for(path))
    print("Wrote %s" % ring_path_for(path))
    return EXIT_OK


def _print_devices(builder: RingBuilder, devs: list[dict]) -> None:
    parts = builder.parts_per_device()
    header = ("id", "region", "zone", "ip address:port", "replication ip:port", "name",
              "weight", "partitions", "balance", "meta")
    rows = [header]
    for dev in sorted(devs, key=lambda d: d["id"]):
        rows.append((str(dev["id"]), str(dev["region"]), str(dev["zone"]),
                     format_address(dev["ip"], dev["port"]),
                     format_address(dev["replication_ip"], dev["replication_port"]),
                     dev["device"], "%.2f" % dev["weight"], str(parts.get(dev["id"], 0)),
                     "%.2f" % builder.device_balance(dev["id"]), dev["meta"]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.rjust(width) if i not in (3, 4, 5, 9) else cell.ljust(width)
                        for i, (cell, width) in enumerate(zip(row, widths))).rstrip())


def cmd_list(path: str, args: list[str]) -> int:
    if args:
        raise CommandError("list takes no arguments")
    builder = RingBuilder.load(path)
    devs = [builder.get_dev(d["id"]) for d in builder.devs if d is not None]
    regions = {d["region"] for d in devs}
    zones = {(d["region"], d["zone"]) for d in devs}
    print("%s, %d partitions, %d replicas, %d regions, %d zones, %d devices, "
          "%.2f balance" % (path, builder.parts, builder.replicas, len(regions), len(zones),
                            len(devs), builder.get_balance()))
    print("The minimum number of hours before a partition can be reassigned is %d"
          % builder.min_part_hours)
    if devs:
        print("Devices:")
        _print_devices(builder, devs)
    return EXIT_OK


COMMANDS = MappingProxyType({
    "create": cmd_create,
    "add": cmd_add,
    "remove": cmd_remove,
    "set_weight": cmd_set_weight,
    "search": cmd_search,
    "rebalance": cmd_rebalance,
    "write_ring": cmd_write_ring,
    "list": cmd_list,
})


def main(argv: Optional[list[str]] = None) -> int:
    # `... | head` closing the pipe ends the command quietly, as ls does.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        print("error: no builder file given (try --help)", file=sys.stderr)
        return EXIT_ERROR
    if argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return EXIT_OK
    path, command, args = argv[0], (argv[1] if len(argv) > 1 else "list"), argv[2:]
    handler = COMMANDS.get(command)
    try:
        if handler is None:
            raise CommandError("unknown command %r (try: %s)" % (command, ", ".join(COMMANDS)))
        return handler(path, args)
    except (CommandError, RingBuilderError, RingFileError) as err:
        message = str(err)
    except FileNotFoundError:
        message = "%s: no such builder file (create it first)" % path
    except OSError as err:
        message = "%s: %s" % (getattr(err, "filename", None) or path, err.strerror or err)
    except Exception as err:  # a bug must still not greet the operator with a traceback
        message = "internal error (%s): %s" % (err.__class__.__name__, err)
    print("error: %s" % " ".join(message.split()), file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
