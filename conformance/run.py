"""Run OpenStack Swift's own functional tests against a fresh objstore-aio.

    python3 conformance/run.py                      # the core modules
    python3 conformance/run.py --modules test_object.py -k copy
    python3 conformance/run.py --all                # every module

Swift's release sdist is fetched with pip at run time into a cache
directory outside this repository (never copied here), unpacked, and given
its own virtualenv (built by ``bench/swift_peer.py``'s helper) that can
import ``swift`` and run ``test/functional`` with pytest.  A new cluster is
started on port 0 in a temp dir, Swift's ``test.conf`` is written to point
at objstore's tempauth users, and the per-module pass/fail/skip counts and
the differences from ``conformance/expected.txt`` are printed.  The exit
status is 0 only when the run matches the expected file.

Run by hand: it takes minutes, so ``.ci/run`` never calls it.
"""
from __future__ import annotations

import argparse
import fnmatch
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    # Run as a script: make ``conformance`` importable as a package.
    sys.path.insert(0, str(REPO))

from conformance.expected import compare, format_comparison, parse_expected  # noqa: E402
from conformance.junit import (NoResults, format_tally, read_outcomes,  # noqa: E402
                               read_report, tally)

DEFAULT_SPEC = "swift==2.38.3"
CORE_MODULES = ("tests.py", "test_account.py", "test_container.py", "test_object.py",
                "test_protocol.py")
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) \
    / "objstore-conformance"
DEFAULT_EXPECTED = Path(__file__).resolve().parent / "expected.txt"
FUNCTIONAL_DIR = "test/functional"
# Tools the Swift tests need beyond Swift's own requirements (import name:
# package).  The s3api/ modules drive the cluster with boto3, boto 2 (most of
# their classes skip without it) and requests.
TEST_TOOLS = {"pytest": "pytest", "swiftclient": "python-swiftclient", "boto3": "boto3",
              "boto": "boto", "requests": "requests"}

# The users are those of objstore's all-in-one tempauth (README.md), which
# mirror Swift's all-in-one: two account owners, a non-admin on the first
# account, a service user for SERVICE_ accounts and a reseller admin.
TEST_CONF = """\
# Written by objstore's conformance/run.py for one run.
[func_test]
auth_uri = {auth_url}
account = test
username = tester
password = testing
account2 = test2
username2 = tester2
password2 = testing2
username3 = tester3
password3 = testing3
account5 = test5
username5 = tester5
password5 = testing5
service_prefix = SERVICE
account6 = admin
username6 = admin
password6 = admin
collate = C
insecure = no
# objstore-aio serves <container>.<account>.localhost through domain_remap.
storage_domain = localhost
# The s3api/ modules: access key account:user, secret that user's key.
s3_storage_url = {proxy_url}
s3_access_key = test:tester
s3_secret_key = testing
s3_access_key2 = test:tester2
s3_secret_key2 = testing2
s3_access_key3 = test:tester3
s3_secret_key3 = testing3

[unit_test]
fake_syslog = False
"""


def say(message: str) -> None:
    print("conformance: %s" % message, file=sys.stderr, flush=True)


def load_swift_peer():
    """bench/swift_peer.py, which owns building a Swift virtualenv."""
    path = REPO / "bench" / "swift_peer.py"
    spec = importlib.util.spec_from_file_location("swift_peer", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def fetch_sdist(spec: str, cache: Path) -> Path:
    """The release sdist for ``spec``, downloaded once into the cache."""
    target = cache / "sdist" / re.sub(r"[^A-Za-z0-9.=_-]", "_", spec)
    found = sorted(target.glob("*.tar.gz"))
    if not found:
        target.mkdir(parents=True, exist_ok=True)
        say("downloading the sdist of %s" % spec)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--no-binary", ":all:", "--dest", str(target), spec], check=True)
        found = sorted(target.glob("*.tar.gz"))
    if len(found) != 1:
        raise SystemExit("expected one sdist in %s, found %s" % (target, found))
    return found[0]


def unpack(sdist: Path, cache: Path) -> Path:
    """The unpacked source tree (holding ``test/functional``), unpacked once."""
    name = sdist.name[:-len(".tar.gz")]
    tree = cache / "src" / name
    if not (tree / FUNCTIONAL_DIR).is_dir():
        tree.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(sdist) as archive:
            archive.extractall(tree.parent, filter="data")
    if not (tree / FUNCTIONAL_DIR).is_dir():
        raise SystemExit("%s has no %s" % (sdist, FUNCTIONAL_DIR))
    return tree


def ensure_test_venv(sdist: Path, cache: Path) -> Path:
    """A virtualenv with Swift (from the sdist) and pytest; returns its python."""
    venv = cache / ("venv-" + sdist.name[:-len(".tar.gz")])
    bin_dir = load_swift_peer().ensure_venv(str(venv), str(sdist))
    python = bin_dir / "python"
    probe = subprocess.run([str(python), "-c", "import " + ", ".join(TEST_TOOLS)],
                           capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", *TEST_TOOLS.values()],
                       check=True)
    return python


def all_modules(tree: Path) -> list[str]:
    """``test_x.py`` names, and ``s3api/test_x.py`` for the S3 API's own modules."""
    base = tree / FUNCTIONAL_DIR
    found = glob.glob(str(base / "test*.py")) + glob.glob(str(base / "s3api" / "test*.py"))
    return sorted(os.path.relpath(path, base) for path in found)


def expand_modules(requested: list[str], available: list[str]) -> list[str]:
    """Requested names, a quoted pattern (``'s3api/test_*.py'``) standing for its matches.

    A pattern that matches nothing stays as written, so it is reported as unknown.
    """
    modules: list[str] = []
    for name in requested:
        matches = fnmatch.filter(available, name) if glob.has_magic(name) else []
        for module in matches or [name]:
            if module not in modules:
                modules.append(module)
    return modules


def run_pytest(python: Path, tree: Path, modules: list[str], conf: Path, junit: Path,
               extra: list[str], timeout: Optional[float]) -> int:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(SWIFT_TEST_CONFIG_FILE=str(conf), SWIFT_TEST_IN_PROCESS="false")
    argv = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "--junitxml", str(junit), *extra,
            *["%s/%s" % (FUNCTIONAL_DIR, module) for module in modules]]
    say("running %d module(s) in %s" % (len(modules), tree))
    try:
        return subprocess.run(argv, cwd=tree, env=env, timeout=timeout,
                              stdout=sys.stderr).returncode
    except subprocess.TimeoutExpired:
        raise NoResults("pytest was stopped after %g s (--timeout)" % timeout) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default=DEFAULT_SPEC,
                        help="pip requirement for Swift's release (default %s)" % DEFAULT_SPEC)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                        help="sdist, source tree and virtualenv (default %s)" % DEFAULT_CACHE)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--modules", nargs="+", metavar="MODULE",
                       help="modules of test/functional (default: %s)" % " ".join(CORE_MODULES))
    which.add_argument("--all", action="store_true", help="every module of test/functional")
    parser.add_argument("--expected", type=Path, default=DEFAULT_EXPECTED,
                        help="expected failures with reasons (default conformance/expected.txt)")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression, to run a few tests")
    parser.add_argument("--junit", type=Path, help="also keep pytest's JUnit XML here")
    parser.add_argument("--compare-only", type=Path, metavar="JUNIT_XML",
                        help="run nothing: compare a kept JUnit XML with the expected file")
    parser.add_argument("--keep-data", action="store_true",
                        help="keep the cluster's temp dir (logs) after the run")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds before the pytest run is stopped (default 3600)")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    expected = parse_expected(args.expected.read_text(encoding="utf-8"), str(args.expected))
    if args.compare_only:
        outcomes = read_outcomes(args.compare_only.read_text(encoding="utf-8"))
        modules = sorted(set(tally(outcomes)))
        return report(args.compare_only.name, outcomes, expected, modules)
    sdist = fetch_sdist(args.spec, args.cache_dir)
    tree = unpack(sdist, args.cache_dir)
    python = ensure_test_venv(sdist, args.cache_dir)
    available = all_modules(tree)
    modules = available if args.all else expand_modules(args.modules or CORE_MODULES, available)
    unknown = sorted(set(modules) - set(available))
    if unknown:
        raise SystemExit("no such module in %s: %s" % (FUNCTIONAL_DIR, " ".join(unknown)))

    from objstore.aio.cluster import Cluster

    work = Path(tempfile.mkdtemp(prefix="objstore-conformance-"))
    # As Swift's reference run: allow_open_expired on (its tests of it skip
    # otherwise) and no background daemons (Swift's suite never relies on
    # them, and an expirer every few seconds would remove the expired
    # objects those tests read with X-Open-Expired).
    cluster = Cluster(str(work / "aio"), port=0, say=say, background_daemons=False,
                      proxy_options={"allow_open_expired": "true"})
    try:
        cluster.start()
        conf = work / "test.conf"
        conf.write_text(TEST_CONF.format(auth_url=cluster.auth_url, proxy_url=cluster.proxy_url), encoding="utf-8")
        junit = work / "junit.xml"
        extra = ["-k", args.keyword] if args.keyword else []
        returncode = run_pytest(python, tree, modules, conf, junit, extra, args.timeout)
        if args.junit and junit.exists():
            shutil.copyfile(junit, args.junit)
        outcomes = read_report(junit, returncode)
        if args.keyword:
            # Tests that -k deselected are neither missing nor passing.
            expected = {test: why for test, why in expected.items() if test in outcomes}
    except NoResults as err:
        say("no results: %s" % err)
        return 2
    finally:
        cluster.stop()
        if args.keep_data:
            say("cluster data and logs kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)

    return report(sdist.name[:-len(".tar.gz")], outcomes, expected, modules)


def report(title: str, outcomes: dict[str, str], expected: dict[str, str],
           modules: list[str]) -> int:
    """Print the per-module table and the differences; 0 when the run matches."""
    print("%s against objstore\n" % title)
    print(format_tally(tally(outcomes), modules))
    result = compare(outcomes, expected, modules)
    print()
    print(format_comparison(result))
    return 0 if result.clean else 1


if __name__ == "__main__":
    sys.exit(main())
