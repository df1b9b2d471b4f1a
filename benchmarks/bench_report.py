"""The consultants' report of a large organization: what rebuilding it costs, and its network.

    .venv/bin/python benchmarks/bench_report.py [--employees 1500] [--repeats 5]

Runs one comparison (hierarchical against shared authority, 4 replications) at
``--employees``, then, alternating in the same process so that both see the same load:

- the realized network's layout of each setting (up to 1,500 employees drawn:
  ``dashboards.report.MAX_NETWORK_NODES``) with the report's layout (igraph's
  Fruchterman-Reingold, in C) and with the baseline it replaced, networkx's spring layout
  (60 iterations);
- ``build_report`` of the stored comparison, end to end (read, statistics, figures, page).

It prints medians and the ratio of the baseline's layout time to the report's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboards.report import (  # noqa: E402
    MAX_NETWORK_NODES,
    build_report,
    network_layout,
)
from experiments.compare import compare_settings, read_comparison  # noqa: E402


def networkx_layout(edges, nodes) -> dict:
    """The baseline: networkx's spring layout, as the report drew networks before."""
    graph = nx.Graph()
    graph.add_nodes_from(nodes.tolist())
    graph.add_edges_from(edges[["source", "target"]].itertuples(index=False, name=None))
    return nx.spring_layout(graph, seed=0, iterations=60)


def drawn_networks(out: Path) -> list[tuple]:
    """(edges, nodes) of each setting's replication 0, sampled as the report samples."""
    _, tables, _ = read_comparison(out)
    network, employees = tables["network"], tables["employees"]
    drawn = []
    for setting in network["setting"].cat.categories:
        people = employees[(employees["setting"] == setting) & (employees["replication"] == 0)]
        nodes = people["employee"].to_numpy()
        if len(nodes) > MAX_NETWORK_NODES:
            nodes = np.sort(np.random.default_rng(0).choice(nodes, MAX_NETWORK_NODES,
                                                            replace=False))
        edges = network[(network["setting"] == setting) & network["source"].isin(nodes)
                        & network["target"].isin(nodes)]
        drawn.append((edges, nodes))
    return drawn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "compare"
        start = time.perf_counter()
        compare_settings(["hierarchical", "shared_authority"], 4, 2026, out,
                         common={"n_employees": args.employees}, workers=1)
        print(f"comparison of 2 settings x 4 runs at {args.employees:,} employees: "
              f"{time.perf_counter() - start:.1f} s", flush=True)
        drawn = drawn_networks(out)
        took: dict[str, list[float]] = {"igraph (report)": [], "networkx (baseline)": [],
                                        "build_report": []}
        for k in range(args.repeats):
            for name, layout in (("igraph (report)", network_layout),
                                 ("networkx (baseline)", networkx_layout)):
                start = time.perf_counter()
                for edges, nodes in drawn:
                    layout(edges, nodes)
                took[name].append(time.perf_counter() - start)
            start = time.perf_counter()
            build_report(out)
            took["build_report"].append(time.perf_counter() - start)
            print(f"  repeat {k + 1}/{args.repeats}: "
                  + ", ".join(f"{name} {v[-1]:.2f} s" for name, v in took.items()), flush=True)
    median = {name: statistics.median(v) for name, v in took.items()}
    nodes = sum(len(n) for _, n in drawn)
    print(f"\nmedians of {args.repeats}, {len(drawn)} networks of {nodes:,} employees in all:")
    for name, seconds in median.items():
        print(f"  {name:22s} {seconds:7.2f} s")
    print(f"layout: networkx / igraph = "
          f"{median['networkx (baseline)'] / median['igraph (report)']:.1f}x")


if __name__ == "__main__":
    main()
