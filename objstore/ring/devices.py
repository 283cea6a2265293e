"""Device records of a ring: validation, the operator's ``add`` string and search strings.

A device is a plain dict so it can travel in JSON (builder file, ring file) and be
handed to callers as-is.  The textual forms follow swift-ring-builder so operators
can reuse their muscle memory::

    r1z1-127.0.0.1:6200R127.0.0.1:6300/sdb1_meta     (add: region, zone, ip:port, device)
    d3  r1z2  z2-10.0.0.5  10.0.0.5:6200/sdb1  /sdb1  _ssd   (search: any subset)
"""
from __future__ import annotations

import math
import re
from typing import Any, Optional

# array('H') holds the replica -> part -> device table, so an id must fit 16 bits
# and 0xFFFF is kept free to mean "no device yet".
NO_DEVICE = 0xFFFF
MAX_DEVICE_ID = NO_DEVICE - 1

DEVICE_FIELDS = ("id", "region", "zone", "ip", "port", "replication_ip",
                 "replication_port", "device", "weight", "meta")


class RingBuilderError(ValueError):
    """Input the builder cannot act on; the message is one line for the operator."""


# an IPv6 address goes in brackets; a name or IPv4 address cannot hold "R" (it
# starts the replication address) or "_" (it starts the meta)
_IP = r"\[[0-9A-Fa-f:.]+\]|[0-9A-QS-Za-z.\-]+"
_ADD_RE = re.compile(
    r"^(?:r(?P<region>\d+))?z(?P<zone>\d+)-(?P<ip>%s):(?P<port>\d+)"
    r"(?:R(?P<rip>%s):(?P<rport>\d+))?/(?P<device>[^/_\s]+)(?:_(?P<meta>.*))?$" % (_IP, _IP))
_SEARCH_RE = re.compile(
    r"^(?:d(?P<id>\d+))?(?:r(?P<region>\d+))?(?:z(?P<zone>\d+))?"
    r"(?:-?(?P<ip>%s))?(?::(?P<port>\d+))?"
    r"(?:R(?P<rip>%s)?(?::(?P<rport>\d+))?)?"
    r"(?:/(?P<device>[^/_\s]+))?(?:_(?P<meta>.*))?$" % (_IP, _IP))


def _strip_brackets(ip: Optional[str]) -> Optional[str]:
    if ip and ip.startswith("[") and ip.endswith("]"):
        return ip[1:-1]
    return ip


def as_int(name: str, value: Any, low: int, high: int) -> int:
    """An integer in [low, high] from an int, a whole float or a decimal string."""
    if isinstance(value, bool):
        raise RingBuilderError("%s must be an integer, got %r" % (name, value))
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RingBuilderError("%s must be an integer, got %r" % (name, value)) from None
    if isinstance(value, float) and value != number:
        raise RingBuilderError("%s must be an integer, got %r" % (name, value))
    if not low <= number <= high:
        raise RingBuilderError("%s must be between %d and %d, got %d" % (name, low, high, number))
    return number


def parse_weight(value: Any) -> float:
    """A weight is a finite number >= 0; 0 drains a device without removing it."""
    if isinstance(value, bool):
        raise RingBuilderError("weight must be a number, got %r" % (value,))
    try:
        weight = float(value)
    except (TypeError, ValueError):
        raise RingBuilderError("weight must be a number, got %r" % (value,)) from None
    if not math.isfinite(weight):
        raise RingBuilderError("weight must be a finite number, got %r" % (value,))
    if weight < 0:
        raise RingBuilderError("weight must be >= 0, got %s" % value)
    return weight


def normalize_device(dev: dict) -> dict:
    """Return a complete, validated copy of ``dev`` (the id is left as given, maybe absent)."""
    if not isinstance(dev, dict):
        raise RingBuilderError("a device must be a dict, got %r" % type(dev).__name__)
    unknown = set(dev) - set(DEVICE_FIELDS)
    if unknown:
        raise RingBuilderError("unknown device field(s): %s" % ", ".join(sorted(unknown)))
    for required in ("zone", "ip", "port", "device", "weight"):
        if dev.get(required) in (None, ""):
            raise RingBuilderError("device is missing %r" % required)
    ip = _strip_brackets(str(dev["ip"]).strip())
    name = str(dev["device"])
    if not ip or any(c.isspace() for c in ip):
        raise RingBuilderError("bad device ip %r" % dev["ip"])
    if "/" in name or not name.strip() or name in (".", ".."):
        raise RingBuilderError("bad device name %r" % name)
    port = as_int("port", dev["port"], 1, 65535)
    out = {
        "region": as_int("region", dev.get("region", 1), 0, 2 ** 31),
        "zone": as_int("zone", dev["zone"], 0, 2 ** 31),
        "ip": ip,
        "port": port,
        "replication_ip": _strip_brackets(str(dev.get("replication_ip") or ip)),
        "replication_port": as_int("replication_port",
                                    dev.get("replication_port") or port, 1, 65535),
        "device": name,
        "weight": parse_weight(dev["weight"]),
        "meta": str(dev.get("meta") or ""),
    }
    if dev.get("id") is not None:
        out["id"] = as_int("device id", dev["id"], 0, MAX_DEVICE_ID)
    return out


def parse_add_string(text: str, weight: Any) -> dict:
    """``r1z1-127.0.0.1:6200[R127.0.0.1:6300]/sdb1[_meta]`` plus a weight -> device dict."""
    match = _ADD_RE.match(text.strip())
    if not match:
        raise RingBuilderError(
            "malformed device %r; expected like r1z1-127.0.0.1:6200/sdb1 "
            "or r1z1-127.0.0.1:6200R127.0.0.1:6300/sdb1_meta" % text)
    parts = match.groupdict()
    return normalize_device({
        "region": parts["region"] or 1,
        "zone": parts["zone"],
        "ip": parts["ip"],
        "port": parts["port"],
        "replication_ip": parts["rip"],
        "replication_port": parts["rport"],
        "device": parts["device"],
        "weight": weight,
        "meta": parts["meta"] or "",
    })


def parse_search_string(text: str) -> dict:
    """Search string -> dict of field -> wanted value (only the fields given).

    A bare number is taken as a device id, the most common thing to type.
    """
    text = text.strip()
    if not text:
        raise RingBuilderError("empty device search")
    if text.isdigit():
        return {"id": int(text)}
    match = _SEARCH_RE.match(text)
    if not match or not any(v is not None for v in match.groupdict().values()):
        raise RingBuilderError("malformed device search %r (e.g. d3, r1z2, "
                               "z1-127.0.0.1:6200, /sdb1, _meta)" % text)
    found = match.groupdict()
    wanted: dict = {}
    for key in ("id", "region", "zone", "port", "rport"):
        if found[key] is not None:
            wanted["replication_port" if key == "rport" else key] = int(found[key])
    for key, field in (("ip", "ip"), ("rip", "replication_ip"),
                       ("device", "device"), ("meta", "meta")):
        if found[key] is not None:
            wanted[field] = _strip_brackets(found[key])
    return wanted


def device_matches(dev: dict, wanted: dict) -> bool:
    """Meta matches as a substring (it is free-form); every other field exactly."""
    for key, value in wanted.items():
        if key == "meta":
            if value not in dev.get("meta", ""):
                return False
        elif dev.get(key) != value:
            return False
    return True


def format_address(ip: str, port: int) -> str:
    return "[%s]:%d" % (ip, port) if ":" in ip else "%s:%d" % (ip, port)


def describe_device(dev: dict) -> str:
    """The add-string form of a device, used in messages and listings."""
    text = "d%d r%dz%d-%s" % (dev["id"], dev["region"], dev["zone"],
                              format_address(dev["ip"], dev["port"]))
    if (dev["replication_ip"], dev["replication_port"]) != (dev["ip"], dev["port"]):
        text += "R" + format_address(dev["replication_ip"], dev["replication_port"])
    text += "/" + dev["device"]
    if dev.get("meta"):
        text += "_" + dev["meta"]
    return text
