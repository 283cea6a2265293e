import pytest
import webob

from objstore.common.config import ConfigError
from objstore.common.pipeline import load_app


def app_factory(global_conf, **local_conf):
    def app(env, start):
        body = ("%s|%s" % (local_conf.get("greeting"), env.get("trail", ""))).encode()
        start("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    return app


def filter_factory(global_conf, **local_conf):
    def make(app):
        def wrapped(env, start):
            env["trail"] = env.get("trail", "") + local_conf["mark"]
            return app(env, start)
        return wrapped
    return make


def test_pipeline_order_and_defaults(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text(
        "[DEFAULT]\ngreeting = hi\n"
        "[pipeline:main]\npipeline = first second app\n"
        "[filter:first]\nuse = call:%s:filter_factory\nmark = 1\n"
        "[filter:second]\nuse = call:%s:filter_factory\nmark = 2\n"
        "[app:app]\nuse = call:%s:app_factory\n" % ((__name__,) * 3))
    app = load_app(str(conf))
    assert webob.Request.blank("/").get_response(app).body == b"hi|12"


def test_missing_filter_section_is_config_error(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text("[pipeline:main]\npipeline = nothere app\n"
                    "[app:app]\nuse = call:%s:app_factory\n" % __name__)
    with pytest.raises(ConfigError, match="nothere"):
        load_app(str(conf))


def test_unknown_entry_point_is_config_error(tmp_path):
    conf = tmp_path / "p.conf"
    conf.write_text("[app:main]\nuse = egg:objstore#no-such-app\n")
    with pytest.raises(ConfigError, match="no-such-app"):
        load_app(str(conf))
