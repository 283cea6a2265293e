"""settle_heap changes process-wide collector settings, so it runs in a child process."""
import json
import subprocess
import sys

CHILD = """
import gc, json
from objstore.common.heap import settle_heap, YOUNG_PASS_EVERY
default = gc.get_threshold()
settle_heap()
print(json.dumps({"default": default, "after": gc.get_threshold(),
                  "young": YOUNG_PASS_EVERY, "frozen": gc.get_freeze_count()}))
"""


def test_settle_heap_freezes_start_up_objects_and_makes_young_passes_rarer():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         check=True, timeout=60)
    seen = json.loads(out.stdout)
    assert seen["after"][0] == seen["young"] > seen["default"][0]
    # the modules imported so far are out of every later collection
    assert seen["frozen"] > 1000


def test_importing_the_servers_leaves_the_collector_alone():
    import gc
    before = gc.get_threshold()
    import objstore.common.wsgi  # noqa: F401
    import objstore.cli.server  # noqa: F401
    assert gc.get_threshold() == before
