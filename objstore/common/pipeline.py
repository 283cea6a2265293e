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
names a factory directly (handy in tests).

Factories take paste's signature with the cluster in front:
``app_factory(cluster, global_conf, **local_conf)`` and
``filter_factory(cluster, global_conf, **local_conf) -> (app -> app)``, where
``cluster`` is the process's :class:`~objstore.common.cluster_config.ClusterConfig`.
Each is written with :func:`typed_factory`, which merges ``[DEFAULT]`` with
the section, parses it by the factory's typed class and refuses unknown options.

An app may name environ entries every request should carry from the
pipeline's entrance (its ``environ_defaults`` mapping): the proxy hands its
container and account info cache to the filters this way, so a filter that
asks about a container it already knows needs no sub-request down the
pipeline (two per PUT, about a tenth of the proxy's CPU).
"""
from __future__ import annotations

import functools
import importlib
import importlib.metadata
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional, TypeVar

from objstore.common.config import (ConfigError, ConfigSection, merge_conf,
                                    read_config_file)

if TYPE_CHECKING:
    from objstore.common.cluster_config import ClusterConfig

APP_GROUP = "objstore.app_factory"
FILTER_GROUP = "objstore.filter_factory"
DAEMON_GROUP = "objstore.daemon"

C = TypeVar("C", bound=ConfigSection)
# The attribute typed_factory sets: the config check reads a section by it.
CONFIG_CLASS_ATTR = "config_class"


def typed_factory(config_class: type[C]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make ``build(cluster, conf, raw)`` a pipeline factory that gets typed options.

    The one place where ``global_conf`` ([DEFAULT]) and ``local_conf`` (the
    section) meet: ``conf`` is ``config_class`` parsed strictly from them,
    ``raw`` the merged strings (for the logger's options).
    """
    def decorate(build: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(build)
        def factory(cluster: "ClusterConfig", global_conf: Optional[Mapping[str, Any]] = None,
                    **local_conf: Any) -> Any:
            conf = config_class.from_section(local_conf, inherited=global_conf)
            return build(cluster, conf, merge_conf(global_conf, local_conf))
        setattr(factory, CONFIG_CLASS_ATTR, config_class)
        return factory
    return decorate


def config_class_of(factory: Any) -> Optional[type[ConfigSection]]:
    """The typed class a factory reads its section with (None if it declares none)."""
    return getattr(factory, CONFIG_CLASS_ATTR, None)


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


@functools.lru_cache(maxsize=None)
def _installed_entry_points() -> Mapping[str, Mapping[str, importlib.metadata.EntryPoint]]:
    """{group: {name: entry point}} of every installed distribution, read once per process.

    Each ``importlib.metadata.entry_points()`` call reads the metadata of every
    installed distribution (about 8 ms with a test venv's 120), and one cluster
    start or daemon pass asks a few hundred times: config checks resolve every
    section.  What is installed does not change while a process runs.  The
    first distribution to declare a name wins, as the scan it replaces did.
    """
    index: dict[str, dict[str, importlib.metadata.EntryPoint]] = {}
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            index.setdefault(ep.group, {}).setdefault(ep.name, ep)
    return index


def entry_point(group: str, name: str) -> Any:
    ep = _installed_entry_points().get(group, {}).get(name)
    if ep is None:
        raise ConfigError("no %s named %r (is objstore installed with pip install -e .?)"
                          % (group, name))
    return ep.load()


def entry_point_names(group: str) -> list[str]:
    return sorted(_installed_entry_points().get(group, {}))


def load_app(conf_path: str, cluster: "ClusterConfig", name: str = "main") -> Callable:
    """The WSGI app (with its filters) that ``conf_path`` describes, for ``cluster``."""
    conf_file = read_config_file(conf_path)
    global_conf = conf_file.global_conf()
    pipeline_section = conf_file.sections.get("pipeline:%s" % name)
    if pipeline_section is None:
        if "app:%s" % name not in conf_file.sections:
            raise ConfigError("%s has no [pipeline:%s] or [app:%s]" % (conf_path, name, name))
        return _build(conf_file, "app:%s" % name, APP_GROUP, cluster, global_conf)
    names = pipeline_section.get("pipeline", "").split()
    if not names:
        raise ConfigError("%s: [pipeline:%s] lists nothing" % (conf_path, name))
    app = innermost = _build(conf_file, "app:%s" % names[-1], APP_GROUP, cluster, global_conf)
    for filter_name in reversed(names[:-1]):
        if "filter:%s" % filter_name not in conf_file.sections:
            raise ConfigError("%s: pipeline names %r but there is no [filter:%s]"
                              % (conf_path, filter_name, filter_name))
        make_filter = _build(conf_file, "filter:%s" % filter_name, FILTER_GROUP, cluster,
                             global_conf)
        app = make_filter(app)
    defaults = getattr(innermost, "environ_defaults", None)
    if defaults:
        app = EnvironDefaults(app, dict(defaults))
    return app


class EnvironDefaults:
    """The pipeline's entrance: sets the innermost app's ``environ_defaults``."""

    def __init__(self, app: Callable, defaults: dict[str, Any]):
        self.app = app
        self.defaults = defaults

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        for key, value in self.defaults.items():
            environ.setdefault(key, value)
        return self.app(environ, start_response)


def _build(conf_file: Any, section_name: str, group: str, cluster: "ClusterConfig",
           global_conf: dict) -> Any:
    if section_name not in conf_file.sections:
        raise ConfigError("%s: missing [%s]" % (conf_file.path, section_name))
    local_conf = conf_file.own(section_name)
    factory = resolve(local_conf.pop("use", ""), group)
    return factory(cluster, global_conf, **local_conf)
