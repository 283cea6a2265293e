"""The one place that reads raw option strings.

Each server, daemon and middleware declares its options as a dataclass that
derives from :class:`ConfigSection`: field name, type and default in one line.
:meth:`ConfigSection.from_section` converts the INI strings by the field's
type, so a typo'd key or a bad value is reported once, at start-up, with the
option's name, instead of surfacing as a ``KeyError`` mid-request.
"""
from __future__ import annotations

import configparser
import dataclasses
import logging
import os
import typing
from typing import Any, Mapping, Optional, Type, TypeVar

DEFAULT_CLUSTER_CONF = "/etc/objstore/objstore.conf"
CLUSTER_CONF_ENV = "OBJSTORE_CONF"

TRUE_VALUES = frozenset(("true", "1", "yes", "on", "t", "y"))
FALSE_VALUES = frozenset(("false", "0", "no", "off", "f", "n", ""))

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A config file or option that cannot be used; the message names it."""


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise ValueError("expected a boolean (true/false), got %r" % value)


def to_list(value: Any) -> list[str]:
    """Comma- or whitespace-separated list."""
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [item for item in str(value).replace(",", " ").split() if item]


def _convert(kind: Any, value: Any) -> Any:
    origin = typing.get_origin(kind)
    if origin is typing.Union:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return None
        return _convert(args[0], value)
    if kind is bool:
        return to_bool(value)
    if kind is int:
        return int(str(value).strip(), 0) if isinstance(value, str) else int(value)
    if kind is float:
        return float(value)
    if kind is str:
        return str(value)
    if kind in (list, list[str]) or origin is list:
        return to_list(value)
    return value


S = TypeVar("S", bound="ConfigSection")


@dataclasses.dataclass
class ConfigSection:
    """Base for typed config sections; subclasses are dataclasses with defaults."""

    @classmethod
    def from_section(cls: Type[S], raw: Optional[Mapping[str, Any]] = None, *,
                     section_name: str = "", strict: bool = False,
                     logger: Optional[logging.Logger] = None) -> S:
        raw = dict(raw or {})
        hints = typing.get_type_hints(cls)
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in raw.items():
            name = key.strip().replace("-", "_")
            if name not in known:
                continue
            try:
                values[name] = _convert(hints[name], value)
            except (TypeError, ValueError) as err:
                raise ConfigError("%s option %s: %s" % (
                    "[%s]" % section_name if section_name else "config", key, err)) from None
        unknown = sorted(set(k.replace("-", "_") for k in raw) - set(known)
                         - set(cls.shared_keys()))
        if unknown and strict:
            (logger or log).warning("[%s] ignores unknown option(s): %s",
                                    section_name or cls.__name__, ", ".join(unknown))
        obj = cls(**values)
        obj.validate()
        return obj

    @classmethod
    def shared_keys(cls) -> tuple[str, ...]:
        """Keys that may appear in any section (inherited from [DEFAULT])."""
        return ("use", "objstore_conf", "log_level", "log_name", "log_file",
                "log_facility", "devices", "mount_check", "user", "workers",
                "bind_ip", "bind_port", "swift_dir", "__file__", "here")

    def validate(self) -> None:
        """Override to check ranges; raise ConfigError with the option's name."""


def read_ini(path: str) -> dict[str, dict[str, str]]:
    """Read an INI file into {section: {key: value}}, [DEFAULT] merged into each section.

    ``%`` is not special (secrets and formats may contain it).
    """
    if not os.path.exists(path):
        raise ConfigError("config file %s does not exist" % path)
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # keep case: user names and header names matter
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except (configparser.Error, UnicodeDecodeError) as err:
        raise ConfigError("cannot parse %s: %s" % (path, err)) from None
    defaults = dict(parser.defaults())
    sections: dict[str, dict[str, str]] = {"DEFAULT": dict(defaults)}
    for name in parser.sections():
        merged = dict(defaults)
        merged.update({k: v for k, v in parser.items(name)})
        merged["__file__"] = path
        sections[name] = merged
    return sections


def cluster_conf_path(server_conf: Optional[Mapping[str, str]] = None) -> str:
    """Where objstore.conf is: the server config's ``objstore_conf``, $OBJSTORE_CONF, or /etc."""
    if server_conf and server_conf.get("objstore_conf"):
        return server_conf["objstore_conf"]
    return os.environ.get(CLUSTER_CONF_ENV, DEFAULT_CLUSTER_CONF)
