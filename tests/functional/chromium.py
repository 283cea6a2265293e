"""Headless Chromium for the browser tests: one way to start it, stop it and keep screenshots.

Screenshots are artifacts of a run, never part of the repository: they go to
``$OBJSTORE_ARTIFACTS/screenshots`` when that is set (CI keeps that
directory), otherwise next to the test's own temp files, and each test
prints where they are.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (apt-get install chromium; .ci/run installs it)")
COMMON_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-dev-shm-usage")


def open_page(url: str, profile: Path) -> subprocess.Popen:
    """Chromium showing ``url`` until ``stop`` (the page itself reports what it saw)."""
    return subprocess.Popen([CHROMIUM, *COMMON_FLAGS, "--user-data-dir=%s" % profile, url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def screenshot_dir(tmp_path: Path) -> Path:
    """Where this run keeps its screenshots (created)."""
    root = os.environ.get("OBJSTORE_ARTIFACTS")
    directory = Path(root) / "screenshots" if root else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def screenshot(url: str, out: Path, profile: Path, timeout: float = 60) -> Path:
    """A PNG of ``url`` as Chromium renders it; the file must exist afterwards."""
    subprocess.run([CHROMIUM, *COMMON_FLAGS, "--user-data-dir=%s" % profile,
                    "--window-size=1024,768", "--hide-scrollbars",
                    # let the page run its scripts (a fetch) before the picture
                    "--virtual-time-budget=3000",
                    "--screenshot=%s" % out, url],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout,
                   check=False)
    assert out.is_file() and out.read_bytes().startswith(b"\x89PNG"), \
        "chromium made no screenshot of %s" % url
    return out
