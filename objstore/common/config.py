"""The one place that reads raw option strings.

Each server, daemon and middleware declares its options as a dataclass that
derives from :class:`ConfigSection`: field name, type and default in one line.
:meth:`ConfigSection.from_section` converts the INI strings by the field's
type and refuses an option it does not know, so a misspelled key or a bad
value stops the process at start with one line naming the file, the section,
the option and the closest valid name, instead of being ignored or surfacing
as a ``KeyError`` mid-request.

Values a section inherits from ``[DEFAULT]`` are handed over separately
(``inherited``): a section takes the ones it declares and leaves the rest to
the sections that do, as paste.deploy does.
"""
from __future__ import annotations

import configparser
import dataclasses
import difflib
import os
import re
import types
import typing
from typing import Any, ClassVar, Mapping, Optional, Type, TypeVar

DEFAULT_CLUSTER_CONF = "/etc/objstore/objstore.conf"
CLUSTER_CONF_ENV = "OBJSTORE_CONF"

TRUE_VALUES = frozenset(("true", "1", "yes", "on", "t", "y"))
FALSE_VALUES = frozenset(("false", "0", "no", "off", "f", "n", ""))

# Bookkeeping keys read_ini and the pipeline add to a section; never options.
FILE_KEY = "__file__"
SECTION_KEY = "__section__"
META_KEYS = frozenset((FILE_KEY, SECTION_KEY, "here"))
# Every section may set how its own log lines are written (objstore.common.logs).
LOG_KEYS = frozenset(("log_level", "log_file", "log_name"))


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


@dataclasses.dataclass(frozen=True)
class SpaceReserve:
    """Free space a device keeps for itself: bytes, or a percentage of its size.

    Written ``1%`` (a percentage when it ends with ``%``) or ``10737418240``
    (bytes); 0 keeps nothing back.  A full disk cannot even hold the
    tombstone or database row that would free space again, so writes stop
    while a little is still left.
    """

    amount: float = 0.0
    percent: bool = False

    @classmethod
    def parse(cls, value: Any) -> "SpaceReserve":
        if isinstance(value, SpaceReserve):
            return value
        if isinstance(value, int):
            return cls(float(value))
        text = str(value).strip()
        percent = text.endswith("%")
        try:
            amount = float(text[:-1] if percent else text)
        except ValueError:
            raise ValueError("expected bytes or a percentage such as 1%%, got %r"
                             % value) from None
        if amount < 0 or (percent and amount > 100) or amount != amount:
            raise ValueError("expected 0..100%% or a byte count >= 0, got %r" % value)
        return cls(amount, percent)

    def crossed_by(self, size: int, free: int, total: int) -> bool:
        """True when writing ``size`` bytes would leave no more than the reserve free."""
        if self.amount <= 0:
            return False
        left = free - size
        if self.percent:
            return total <= 0 or left * 100.0 / total <= self.amount
        return left <= self.amount

    def __str__(self) -> str:
        return "%g%%" % self.amount if self.percent else "%d" % self.amount


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
        if isinstance(value, str):
            try:
                return int(value.strip(), 0)
            except ValueError:
                raise ValueError("expected an integer, got %r" % value) from None
        return int(value)
    if kind is float:
        try:
            return float(value)
        except ValueError:
            raise ValueError("expected a number, got %r" % value) from None
    if kind is str:
        return str(value)
    if kind is SpaceReserve:
        return SpaceReserve.parse(value)
    if kind in (list, list[str]) or origin is list:
        return to_list(value)
    if kind in (tuple, tuple[str, ...]) or origin is tuple:
        return tuple(to_list(value))
    return value


def merge_conf(global_conf: Optional[Mapping[str, Any]],
               local_conf: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """One dict of a factory's options: ``[DEFAULT]`` values, then the section's own."""
    merged = dict(global_conf or {})
    merged.update(local_conf or {})
    return merged


def location(raw: Optional[Mapping[str, Any]], section_name: str = "") -> str:
    """``<file> [<section>]`` for messages, from what the loader recorded in ``raw``."""
    raw = raw or {}
    section = raw.get(SECTION_KEY) or section_name
    where = "[%s]" % section if section else "config"
    path = raw.get(FILE_KEY)
    return "%s %s" % (path, where) if path else where


def unknown_option_error(where: str, option: str, valid: typing.Iterable[str]) -> ConfigError:
    """The one line for an option nobody reads, with the closest valid name."""
    names = sorted(set(valid))
    close = difflib.get_close_matches(option, names, n=1, cutoff=0.5)
    if close:
        hint = "did you mean %r?" % close[0]
    else:
        hint = "valid options: %s" % (", ".join(names) or "none")
    return ConfigError("%s: unknown option %r (%s)" % (where, option, hint))


S = TypeVar("S", bound="ConfigSection")


class ConfigSection:
    """Base for typed config sections; subclasses are dataclasses with defaults.

    ``named_options`` lists patterns of options whose *names* carry data
    (tempauth's ``user_<account>_<user>``); matching options are kept, as
    strings, in the ``named`` field the subclass declares.
    """

    named_options: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def option_names(cls) -> frozenset[str]:
        """Every fixed option name this section accepts."""
        fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
        return frozenset(f.name for f in fields if f.init and f.name != "named") | LOG_KEYS

    @classmethod
    def is_named_option(cls, key: str) -> bool:
        return any(re.fullmatch(pattern, key) for pattern in cls.named_options)

    @classmethod
    def from_section(cls: Type[S], raw: Optional[Mapping[str, Any]] = None, *,
                     section_name: str = "",
                     inherited: Optional[Mapping[str, Any]] = None) -> S:
        """The typed section from its own options (``raw``) and ``[DEFAULT]`` (``inherited``).

        An option in ``raw`` that the section does not know, or a value that
        does not convert, raises :class:`ConfigError` naming file, section
        and option.  ``inherited`` options the section does not know are left
        for other sections.
        """
        raw = dict(raw or {})
        inherited = dict(inherited or {})
        where = location(merge_conf(inherited, raw), section_name)
        hints = typing.get_type_hints(cls)
        known = cls.option_names()
        values: dict[str, Any] = {}
        named: dict[str, str] = {}
        for own, options in ((False, inherited), (True, raw)):
            for key, value in options.items():
                name = key.strip()
                if name in META_KEYS or name == "use":
                    continue
                if name in hints and name in known:
                    try:
                        values[name] = _convert(hints[name], value)
                    except (TypeError, ValueError) as err:
                        raise ConfigError("%s: option %r: %s" % (where, name, err)) from None
                elif name in known:
                    continue  # a log option this section leaves to get_logger
                elif own and cls.is_named_option(name):
                    named[name] = str(value)
                elif own:
                    raise unknown_option_error(where, name, known)
        if cls.named_options:
            values["named"] = named
        try:
            obj = cls(**values)
            obj.validate()
        except ConfigError as err:
            message = str(err)
            raise ConfigError(message if message.startswith(where) else
                              "%s: %s" % (where, message)) from None
        return obj

    @classmethod
    def of(cls: Type[S], conf: "S | Mapping[str, Any] | None") -> S:
        """``conf`` itself when already parsed, else parsed (strictly) from a mapping."""
        if isinstance(conf, cls):
            return conf
        return cls.from_section(conf)  # type: ignore[arg-type]

    def validate(self) -> None:
        """Override to check ranges; raise ConfigError naming the option."""

    def require_at_least(self, **floors: float) -> None:
        """Refuse the first option below its floor (a count of 0 workers, a negative
        rate), so every section words the error the same way."""
        for option, floor in floors.items():
            if getattr(self, option) < floor:
                raise ConfigError("option %r must be >= %s" % (option, floor))


def read_ini(path: str) -> dict[str, dict[str, str]]:
    """Read an INI file into {section: {key: value}}, [DEFAULT] merged into each section.

    ``%`` is not special (secrets and formats may contain it).  Each section
    also carries ``__file__`` and ``__section__`` for messages.
    """
    conf_file = read_config_file(path)
    sections: dict[str, dict[str, str]] = {"DEFAULT": dict(conf_file.defaults)}
    for name in conf_file.sections:
        sections[name] = merge_conf(conf_file.defaults, conf_file.own(name))
    return sections


@dataclasses.dataclass(frozen=True)
class ConfigFile:
    """An INI file as written: ``[DEFAULT]`` and each section's own options apart."""
    path: str
    defaults: Mapping[str, str]
    sections: Mapping[str, Mapping[str, str]]

    def own(self, section: str) -> dict[str, str]:
        """The section's own options, tagged with file and section for messages."""
        if section not in self.sections:
            raise ConfigError("%s has no [%s] section" % (self.path, section))
        return dict(self.sections[section], **{FILE_KEY: self.path, SECTION_KEY: section})

    def global_conf(self) -> dict[str, str]:
        """``[DEFAULT]``, tagged like a section, as the pipeline hands it to factories."""
        return dict(self.defaults, **{FILE_KEY: self.path, SECTION_KEY: "DEFAULT"})


# A section name no file uses: [DEFAULT] then parses as a plain section, and
# each section keeps only what it sets itself.
_NO_DEFAULT_SECTION = "\x00objstore-no-default"


def read_config_file(path: str) -> ConfigFile:
    """Read ``path`` keeping [DEFAULT] apart, so each section is checked on its own options.

    ``%`` is not special (secrets and formats may contain it); option names keep
    their case (user names and header names matter).
    """
    if not os.path.exists(path):
        raise ConfigError("config file %s does not exist" % path)
    parser = configparser.RawConfigParser(strict=False, default_section=_NO_DEFAULT_SECTION)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except (configparser.Error, UnicodeDecodeError) as err:
        raise ConfigError("cannot parse %s: %s" % (path, err)) from None
    sections = {name: dict(parser.items(name)) for name in parser.sections()}
    defaults = sections.pop("DEFAULT", {})
    return ConfigFile(path=path, defaults=types.MappingProxyType(defaults),
                      sections=types.MappingProxyType(sections))


def cluster_conf_path(server_conf: Optional[Mapping[str, str]] = None) -> str:
    """Where objstore.conf is: the server config's ``objstore_conf``, $OBJSTORE_CONF, or /etc."""
    if server_conf and server_conf.get("objstore_conf"):
        return server_conf["objstore_conf"]
    return os.environ.get(CLUSTER_CONF_ENV, DEFAULT_CLUSTER_CONF)
