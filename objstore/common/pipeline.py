"""Build a WSGI app from an INI file: ``[pipeline:main]``, ``[app:…]`` and ``[filter:…]``.

The file shape is paste.deploy's, which Swift operators already know::

    [pipeline:main]
    pipeline = catch_errors healthcheck proxy_logging tempauth proxy-server

    [app:proxy-server]
    use = egg:objstore#proxy

    [filter:tempauth]
    use = egg:objstore#tempauth
    user_test_tester = testing .admin

``egg:objstore#NAME`` names an entry point in the ``objstore.app_factory`` or
``objstore.filter_factory`` group (declared in setup.cfg), so this module
never imports the servers or middleware it assembles.  ``call:module:attr``
names a factory directly (handy in tests).  Factories take paste's signature:
``app_factory(global_conf, **local_conf)`` and
``filter_factory(global_conf, **local_conf) -> (app -> app)``.
"""
from __future__ import annotations

import importlib
import importlib.metadata
from typing import Any, Callable

from objstore.common.config import ConfigError, read_ini

APP_GROUP = "objstore.app_factory"
FILTER_GROUP = "objstore.filter_factory"
DAEMON_GROUP = "objstore.daemon"


def resolve(spec: str, group: str) -> Any:
    """Find the object a ``use =`` value names."""
    spec = spec.strip()
    if spec.startswith("egg:"):
        _dist, _, name = spec[4:].partition("#")
        return entry_point(group, name or "main")
    if spec.startswith("call:"):
        module_name, _, attr = spec[5:].partition(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise ConfigError("cannot load %s: %s" % (spec, err)) from None
    raise ConfigError("unsupported 'use = %s' (expected egg:objstore#NAME or call:mod:attr)"
                      % spec)


def entry_point(group: str, name: str) -> Any:
    for ep in importlib.metadata.entry_points(group=group):
        if ep.name == name:
            return ep.load()
    raise ConfigError("no %s named %r (is objstore installed with pip install -e .?)"
                      % (group, name))


def entry_point_names(group: str) -> list[str]:
    return sorted(ep.name for ep in importlib.metadata.entry_points(group=group))


def load_app(conf_path: str, name: str = "main") -> Callable:
    """The WSGI app (with its filters) that ``conf_path`` describes."""
    sections = read_ini(conf_path)
    global_conf = dict(sections.get("DEFAULT", {}))
    global_conf["__file__"] = conf_path
    pipeline_section = sections.get("pipeline:%s" % name)
    if pipeline_section is None:
        app_section = "app:%s" % name
        if app_section not in sections:
            raise ConfigError("%s has no [pipeline:%s] or [app:%s]" % (conf_path, name, name))
        return _build_app(sections, app_section, global_conf)
    names = pipeline_section.get("pipeline", "").split()
    if not names:
        raise ConfigError("%s: [pipeline:%s] lists nothing" % (conf_path, name))
    app = _build_app(sections, "app:%s" % names[-1], global_conf)
    for filter_name in reversed(names[:-1]):
        section = sections.get("filter:%s" % filter_name)
        if section is None:
            raise ConfigError("%s: pipeline names %r but there is no [filter:%s]"
                              % (conf_path, filter_name, filter_name))
        local = _local_conf(section, global_conf)
        factory = resolve(section.get("use", ""), FILTER_GROUP)
        app = factory(global_conf, **local)(app)
    return app


def _build_app(sections: dict, section_name: str, global_conf: dict) -> Callable:
    section = sections.get(section_name)
    if section is None:
        raise ConfigError("missing [%s]" % section_name)
    factory = resolve(section.get("use", ""), APP_GROUP)
    return factory(global_conf, **_local_conf(section, global_conf))


def _local_conf(section: dict, global_conf: dict) -> dict:
    """Section values (including inherited [DEFAULT] ones), minus ``use``."""
    return {k: v for k, v in section.items() if k not in ("use",)}
