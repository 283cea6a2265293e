"""The PNG beside compare_proxy.py's JSON: ops/s and p99 by client count.

One panel per figure (ops/s, p99 ms, server CPU ms/op), one group of bars
per small-object phase and client count, objstore beside Swift, so a glance
shows where objstore stands.  matplotlib is a benchmark-only dependency:
without it the chart is skipped and the JSON still holds every number.
"""

from __future__ import annotations

from pathlib import Path

PANELS = (("ops_per_s", "ops/s (higher is better)"),
          ("p99_ms", "p99 latency, ms (lower is better)"),
          ("server_cpu_ms_per_op", "server CPU ms per request (lower is better)"))


def write_chart(rows: list[dict], client_counts: list, path: Path) -> str:
    """Draw the chart to `path`; returns a line saying what happened."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart: matplotlib not installed, no PNG written"
    by_key = {(row["section"], row["phase"], row["field"]): row for row in rows}
    phases = sorted({row["phase"] for row in rows
                     if row["section"].startswith("small@")},
                    key=lambda p: ("put", "get", "head", "delete").index(p)
                    if p in ("put", "get", "head", "delete") else 9)
    groups = [(clients, phase) for clients in client_counts for phase in phases]
    figure, axes = plt.subplots(len(PANELS), 1, figsize=(max(8, len(groups)), 10))
    width = 0.4
    for axis, (field, title) in zip(axes, PANELS):
        for offset, system, colour in ((-width / 2, "objstore", "tab:blue"),
                                       (width / 2, "swift", "tab:orange")):
            heights = [(by_key.get((f"small@{c}", p, field)) or {}).get(system) or 0
                       for c, p in groups]
            axis.bar([i + offset for i in range(len(groups))], heights, width,
                     label=system, color=colour)
        axis.set_xticks(range(len(groups)))
        axis.set_xticklabels([f"{p.upper()}\n{c} clients" for c, p in groups])
        axis.set_title(title)
        axis.legend()
    figure.suptitle("objstore vs OpenStack Swift, 4 KiB objects "
                    "(medians over rounds, same machine)")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return f"chart: {path}"
