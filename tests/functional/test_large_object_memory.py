"""A 2 GiB static large object through the proxy, with the proxy's memory measured.

Backup tools upload big files as SLOs in 100 MiB segments, several at once;
the proxy must stream every body, never hold one.  The measurement lives in
``bench/large_object_memory.py`` (real ``swift upload --segment-size`` and
``swift download``, md5 of both ends, proxy ``VmRSS``/``VmHWM`` from /proc);
this test runs it against the session cluster and holds it to 200 MB.
It moves 2 GiB each way plus three replicas on disk, so it is opt-in.
"""
import json
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "large_object_memory.py")


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("OBJSTORE_SLOW") != "1",
                    reason="2 GiB SLO round trip; set OBJSTORE_SLOW=1")
def test_2gib_slo_round_trip_keeps_the_proxy_under_200mb(cluster, tmp_path):
    done = subprocess.run([sys.executable, SCRIPT, "--attach", cluster.data_dir,
                           "--size-mb", "2048", "--segment-mb", "100", "--limit-mb", "200",
                           "--work-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=3600)
    assert done.stdout.strip(), done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(result)
    assert result["identical"], result
    assert result["proxy_rss_peak_sampled_mb"] <= 200 and result["proxy_vmhwm_mb"] <= 200, \
        result
    assert done.returncode == 0, done.stderr
