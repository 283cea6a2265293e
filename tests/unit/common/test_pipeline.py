import dataclasses

import pytest
import webob

from objstore.common.cluster_config import ClusterConfig
from objstore.common.config import ConfigError, ConfigSection
from objstore.common.pipeline import config_class_of, load_app, typed_factory

CLUSTER = ClusterConfig.build("test-prefix", "test-suffix")


@dataclasses.dataclass
class GreetingConfig(ConfigSection):
    greeting: str = ""


@dataclasses.dataclass
class MarkConfig(ConfigSection):
    mark: str = ""


@typed_factory(GreetingConfig)
def app_factory(cluster, conf, raw):
    def app(env, start):
        body = ("%s|%s|%s" % (conf.greeting, env.get("trail", ""),
                              cluster.hasher is CLUSTER.hasher)).encode()
        start("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    return app


@typed_factory(MarkConfig)
def filter_factory(cluster, conf, raw):
    cluster.capabilities.register("mark" + conf.mark)

    def make(app):
        def wrapped(env, start):
            env["trail"] = env.get("trail", "") + conf.mark
            return app(env, start)
        return wrapped
    return make


def test_pipeline_order_defaults_and_cluster(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text(
        "[DEFAULT]\ngreeting = hi\n"
        "[pipeline:main]\npipeline = first second app\n"
        "[filter:first]\nuse = call:%s:filter_factory\nmark = 1\n"
        "[filter:second]\nuse = call:%s:filter_factory\nmark = 2\n"
        "[app:app]\nuse = call:%s:app_factory\n" % ((__name__,) * 3))
    cluster = ClusterConfig(hasher=CLUSTER.hasher)
    app = load_app(str(conf), cluster)
    assert webob.Request.blank("/").get_response(app).body == b"hi|12|True"
    assert sorted(cluster.capabilities.as_info()) == ["mark1", "mark2"]
    assert config_class_of(filter_factory) is MarkConfig


def test_misspelled_option_in_a_section_is_one_line_naming_everything(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text("[pipeline:main]\npipeline = first app\n"
                    "[filter:first]\nuse = call:%s:filter_factory\nmakr = 1\n"
                    "[app:app]\nuse = call:%s:app_factory\n" % ((__name__,) * 2))
    with pytest.raises(ConfigError) as err:
        load_app(str(conf), CLUSTER)
    assert str(err.value) == "%s [filter:first]: unknown option 'makr' (did you mean 'mark'?)" \
        % conf


def test_missing_filter_section_is_config_error(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text("[pipeline:main]\npipeline = nothere app\n"
                    "[app:app]\nuse = call:%s:app_factory\n" % __name__)
    with pytest.raises(ConfigError, match="nothere"):
        load_app(str(conf), CLUSTER)


def test_unknown_entry_point_is_config_error(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text("[app:main]\nuse = egg:objstore#no-such-app\n")
    with pytest.raises(ConfigError, match="no-such-app"):
        load_app(str(conf), CLUSTER)


def test_entry_points_are_read_once_and_match_importlib(monkeypatch):
    """The per-process index finds what importlib finds, without rescanning per lookup."""
    import importlib.metadata

    from objstore.common import pipeline

    pipeline._installed_entry_points.cache_clear()
    scans = []
    real = importlib.metadata.distributions
    monkeypatch.setattr(importlib.metadata, "distributions",
                        lambda *a, **kw: scans.append(1) or real(*a, **kw))
    for group in (pipeline.APP_GROUP, pipeline.FILTER_GROUP, pipeline.DAEMON_GROUP):
        expected = sorted({ep.name for ep in importlib.metadata.entry_points(group=group)})
        assert expected and pipeline.entry_point_names(group) == expected
        for name in expected:
            assert pipeline.entry_point(group, name) is next(
                ep for ep in importlib.metadata.entry_points(group=group)
                if ep.name == name).load()
    lookups_scans = len(scans)
    pipeline.entry_point(pipeline.APP_GROUP, "proxy")
    pipeline.entry_point_names(pipeline.DAEMON_GROUP)
    assert len(scans) == lookups_scans
    with pytest.raises(ConfigError, match="no-such"):
        pipeline.entry_point(pipeline.DAEMON_GROUP, "no-such")


class _AppWithDefaults:
    """An app that offers the filters above it an environ entry."""

    def __init__(self):
        self.environ_defaults = {"shared.thing": "from-the-app"}

    def __call__(self, env, start):
        start("200 OK", [("Content-Length", "0")])
        return [b""]


@typed_factory(GreetingConfig)
def defaults_app_factory(cluster, conf, raw):
    return _AppWithDefaults()


SEEN = []


@typed_factory(MarkConfig)
def recording_filter_factory(cluster, conf, raw):
    def make(app):
        def wrapped(env, start):
            SEEN.append(env.get("shared.thing"))
            return app(env, start)
        return wrapped
    return make


def test_the_apps_environ_defaults_reach_the_first_filter(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text(
        "[pipeline:main]\npipeline = rec app\n"
        "[filter:rec]\nuse = call:%s:recording_filter_factory\n"
        "[app:app]\nuse = call:%s:defaults_app_factory\n" % ((__name__,) * 2))
    app = load_app(str(conf), CLUSTER)
    SEEN.clear()
    webob.Request.blank("/").get_response(app)
    # a value the caller already set is kept
    webob.Request.blank("/", environ={"shared.thing": "caller's"}).get_response(app)
    assert SEEN == ["from-the-app", "caller's"]
