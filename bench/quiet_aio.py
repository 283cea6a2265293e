"""A fresh all-in-one objstore cluster for a benchmark, without background daemons.

Replicators and auditors would send REPLICATE and listing requests to the
servers a benchmark is measuring, and the Swift peer runs none; the
workloads here need no daemon (container updates are synchronous).
"""
from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator, Optional

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR.parent) not in sys.path:
    sys.path.append(str(BENCH_DIR.parent))


@contextlib.contextmanager
def quiet_aio(data_dir: Optional[str], prefix: str) -> Iterator[Any]:
    """A started 4-node, 3-replica cluster in ``data_dir`` (a temp dir,
    removed afterwards, when None); stopped on the way out."""
    from objstore.aio.cluster import Cluster
    root = Path(data_dir or tempfile.mkdtemp(prefix=prefix))
    cluster = Cluster(str(root / "aio"), port=0, nodes=4, replicas=3,
                      background_daemons=False,
                      say=lambda m: print("aio:", m, file=sys.stderr))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        if not data_dir:
            shutil.rmtree(root, ignore_errors=True)


def pids_by_kind(cluster: Any, kinds: tuple) -> dict[str, list[int]]:
    """The running servers' pids, by kind (``proxy``, ``object``, ...)."""
    pids: dict[str, list[int]] = {kind: [] for kind in kinds}
    for row in cluster.status():
        if row["pid"] and row["kind"] in pids:
            pids[row["kind"]].append(row["pid"])
    return pids
