"""Check a whole config file before anything starts: every section, every option.

A server's file holds its pipeline (``[app:…]``, ``[filter:…]``), the sections
of the daemons that run beside it and ``[DEFAULT]``.  Each section is parsed
by the typed class its factory or daemon declares, so a misspelled option in
any of them stops the process (and ``objstore-aio``) at start with one line,
not only when that daemon happens to run.  ``[DEFAULT]`` may hold what any
section of the file reads, or the server's own settings.
"""
from __future__ import annotations

import difflib
from typing import Any

from objstore.common.config import (ConfigError, ConfigFile, ConfigSection, location,
                                    read_config_file, unknown_option_error)
from objstore.common.pipeline import (APP_GROUP, DAEMON_GROUP, FILTER_GROUP, config_class_of,
                                      entry_point, entry_point_names, resolve)
from objstore.common.server_settings import ServerSettings

PIPELINE_OPTIONS = frozenset(("pipeline",))


def check_server_config(path: str) -> ConfigFile:
    """Parse every section of ``path``; raise ConfigError (one line) on the first problem."""
    conf_file = read_config_file(path)
    default_keys = set(ServerSettings.option_names())
    for name in conf_file.sections:
        own = conf_file.own(name)
        if name.startswith("pipeline:"):
            _check_pipeline(own)
            continue
        config_class = _section_class(conf_file, name, own)
        config_class.from_section({k: v for k, v in own.items() if k != "use"},
                                  inherited=conf_file.defaults)
        default_keys |= config_class.option_names()
    for key in conf_file.defaults:
        if key not in default_keys:
            raise unknown_option_error(location(conf_file.global_conf()), key, default_keys)
    return conf_file


def _check_pipeline(own: dict) -> None:
    for key in own:
        if key not in PIPELINE_OPTIONS and not key.startswith("__"):
            raise unknown_option_error(location(own), key, PIPELINE_OPTIONS)


def _section_class(conf_file: ConfigFile, name: str, own: dict) -> type[ConfigSection]:
    """The typed class that reads section ``name``: its factory's, or its daemon's."""
    if name.startswith(("app:", "filter:")):
        if "use" not in own:
            raise ConfigError("%s: no 'use =' to say what it runs" % location(own))
        group = APP_GROUP if name.startswith("app:") else FILTER_GROUP
        try:
            factory: Any = resolve(own["use"], group)
        except ConfigError as err:
            raise ConfigError("%s: %s" % (location(own), err)) from None
        config_class = config_class_of(factory)
        if config_class is None:
            raise ConfigError("%s: %s declares no typed config section" % (
                location(own), own["use"]))
        return config_class
    daemons = entry_point_names(DAEMON_GROUP)
    if name not in daemons:
        close = difflib.get_close_matches(name, daemons, n=1, cutoff=0.5)
        hint = "did you mean [%s]?" % close[0] if close else \
            "expected [pipeline:…], [app:…], [filter:…] or a daemon: %s" % ", ".join(daemons)
        raise ConfigError("%s: unknown section [%s] (%s)" % (conf_file.path, name, hint))
    return entry_point(DAEMON_GROUP, name).config_class
