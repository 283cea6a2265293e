"""Every sample in etc/ loads through the typed sections, its commented options too.

The samples show each option commented out with its default; uncommenting any
of them must still give a config that loads, so the samples can never name
an option nothing reads.
"""
import os
import re

import pytest

from objstore.aio import templates
from objstore.common.cluster_config import load_cluster_config
from objstore.common.config_check import check_server_config

ETC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "etc")
COMMENTED_OPTION = re.compile(r"^# ?([A-Za-z_][A-Za-z0-9_]*) =(.*)$")
SAMPLES = sorted(name for name in os.listdir(ETC) if name.endswith("-sample"))


def _uncommented(text):
    """The sample with every commented-out ``# option = value`` line set."""
    lines = []
    for line in text.splitlines():
        match = COMMENTED_OPTION.match(line)
        lines.append("%s =%s" % match.groups() if match else line)
    return "\n".join(lines) + "\n"


def _load(path):
    if os.path.basename(path).startswith("objstore.conf"):
        load_cluster_config(path)
    else:
        check_server_config(path)


def test_every_template_has_a_sample():
    assert SAMPLES == sorted(templates.sample_file_name(name) for name in templates.TEMPLATES)


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_loads(name):
    _load(os.path.join(ETC, name))


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_with_every_commented_option_set_loads(name, tmp_path):
    with open(os.path.join(ETC, name), encoding="utf-8") as handle:
        text = _uncommented(handle.read())
    assert text.count("\n") > 5
    path = tmp_path / name
    path.write_text(text)
    _load(str(path))


def test_a_misspelled_sample_option_is_caught(tmp_path):
    with open(os.path.join(ETC, "proxy-server.conf-sample"), encoding="utf-8") as handle:
        text = handle.read().replace("account_autocreate = true", "account_autocreat = true")
    path = tmp_path / "proxy-server.conf"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"\[app:proxy-server\]: unknown option "
                                         r"'account_autocreat' \(did you mean "
                                         r"'account_autocreate'\?\)"):
        check_server_config(str(path))
