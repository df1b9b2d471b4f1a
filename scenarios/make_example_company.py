"""Make the fictional example client: a 1,200-person company chart and its collaboration
network (scenarios/company/acme_chart.csv, acme_ties.csv).

    python -m scenarios.make_example_company [--out scenarios/company] [--employees 1200]

Uneven and realistic: a chief executive, six divisions of different sizes and depths
(3-7 levels below the top), spans of control from 2 to 15, ids that look like emails
(the kind of id a client's export holds; the model only ever shows pseudonyms), and a
network of weighted ties (messages per month) that cluster in teams and divisions with a
few bridges across. The same seed always writes the same files.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import tempfile
from pathlib import Path

import numpy as np

# name, share of staff, deepest level below the top, share of staff facing customers
DIVISIONS = (("Operations", 0.36, 7, 0.5), ("Sales", 0.2, 5, 0.9),
             ("Customer Service", 0.16, 4, 1.0), ("Engineering", 0.16, 6, 0.1),
             ("Finance", 0.07, 3, 0.0), ("People", 0.05, 3, 0.0))
GRADES = ("C-suite", "VP", "Director", "Senior manager", "Manager", "Team lead")
FIRST = ("ana", "ben", "chen", "dara", "eli", "fatma", "gus", "hana", "ivan", "jo", "kofi",
         "lena", "mo", "nia", "omar", "pia", "raj", "sara", "tom", "uma", "vik", "wen", "yara")
LAST = ("silva", "berg", "okafor", "novak", "tanaka", "meyer", "khan", "rossi", "dubois",
        "lind", "moreau", "haddad", "park", "costa", "weber", "ali", "kowalski", "sato")
MAX_SPAN = 15


def _capacity(levels: int) -> int:
    """Most people a manager can have below them with ``levels`` levels to fill."""
    return sum(MAX_SPAN ** k for k in range(1, levels + 1))


def _subtree(rng: np.random.Generator, budget: int, levels: int) -> list:
    """Reports of one manager as nested lists ([] is someone without reports): ``budget``
    people in at most ``levels`` levels, spans 2-15, nobody managing a single person."""
    if budget <= MAX_SPAN and (levels == 1 or rng.random() < 0.5 or budget < 6):
        return [[] for _ in range(budget)]
    cap = _capacity(levels - 1)
    low = max(2, -(-budget // (cap + 1)))
    span = int(rng.integers(low, max(low, min(MAX_SPAN, budget // 2)) + 1))
    rest = budget - span
    if rest == 1:
        span, rest = span + 1, 0
    alloc = np.minimum(np.floor(rng.dirichlet(np.full(span, 0.6)) * rest).astype(int), cap)
    while alloc.sum() < rest:  # what did not fit goes where there is room
        alloc[rng.choice(np.flatnonzero(alloc < cap))] += 1
    while (alloc == 1).any():
        k = int(np.flatnonzero(alloc == 1)[0])
        ones = np.flatnonzero(alloc == 1)
        room = np.flatnonzero((alloc >= 2) & (alloc < cap))
        if len(ones) > 1:
            alloc[k], alloc[ones[1]] = 2, 0
        elif len(room):
            alloc[k], alloc[room[0]] = 0, alloc[room[0]] + 1
        else:
            alloc[k], alloc[np.argmax(alloc)] = 2, alloc.max() - 1
    return [_subtree(rng, int(a), levels - 1) if a >= 2 else [] for a in alloc]


def make_company(n: int = 1200, seed: int = 17) -> tuple[list[dict], list[dict]]:
    """(chart rows, tie rows) of the fictional company."""
    rng = np.random.default_rng(seed)
    names: set[str] = set()

    def email() -> str:
        while True:
            name = (f"{FIRST[rng.integers(len(FIRST))]}.{LAST[rng.integers(len(LAST))]}"
                    f"{int(rng.integers(10, 100))}@acme.example")
            if name not in names:
                names.add(name)
                return name

    chart = [{"id": email(), "manager_id": "", "unit": "Executive", "level": GRADES[0],
              "customer_facing": "false"}]
    staff = n - 1 - len(DIVISIONS)
    sizes = np.floor(np.array([d[1] for d in DIVISIONS]) * staff).astype(int)
    sizes[0] += staff - sizes.sum()
    for (division, _, depth, facing), size in zip(DIVISIONS, sizes, strict=True):
        head = email()
        chart.append({"id": head, "manager_id": chart[0]["id"], "unit": division,
                      "level": GRADES[1], "customer_facing": "false"})
        stack = [(head, _subtree(rng, int(size), depth - 1), 2)]
        while stack:
            boss, reports, level = stack.pop()
            for sub in reports:
                ident = email()
                grade = GRADES[min(level, len(GRADES) - 1)] if sub else "Staff"
                front = not sub and rng.random() < facing
                chart.append({"id": ident, "manager_id": boss, "unit": division,
                              "level": grade, "customer_facing": str(front).lower()})
                if sub:
                    stack.append((ident, sub, level + 1))
    return chart, _ties(rng, chart)


def _ties(rng: np.random.Generator, chart: list[dict]) -> list[dict]:
    """Weighted collaboration ties: teammates, same division, a few across divisions."""
    ids = [r["id"] for r in chart]
    team: dict[str, list[str]] = {}
    division: dict[str, list[str]] = {}
    for r in chart:
        team.setdefault(r["manager_id"], []).append(r["id"])
        division.setdefault(r["unit"], []).append(r["id"])
    unit = {r["id"]: r["unit"] for r in chart}
    boss = {r["id"]: r["manager_id"] for r in chart}
    pairs: dict[tuple[str, str], int] = {}
    for me in ids:
        pools = [(team[boss[me]], 3, 12), (division[unit[me]], 2, 4), (ids, 0.4, 2)]
        for pool, count, rate in pools:
            for _ in range(int(rng.poisson(count))):
                other = pool[int(rng.integers(len(pool)))]
                if other != me:
                    key = (min(me, other), max(me, other))
                    pairs[key] = pairs.get(key, 0) + 1 + int(rng.poisson(rate))
    return [{"source": a, "target": b, "weight": w} for (a, b), w in sorted(pairs.items())]


def _write_csv(path: Path, rows: list[dict]) -> None:
    """Write ``rows`` atomically (a temporary file renamed into place)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_company(folder: Path, n: int = 1200, seed: int = 17, chart_name: str = "chart.csv",
                  ties_name: str = "ties.csv") -> tuple[list[dict], list[dict]]:
    """Generate a company and write its chart and ties into ``folder``; return both."""
    chart, ties = make_company(n, seed)
    _write_csv(folder / chart_name, chart)
    _write_csv(folder / ties_name, ties)
    return chart, ties


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "company")
    parser.add_argument("--employees", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    chart, ties = write_company(args.out, args.employees, args.seed, "acme_chart.csv",
                                "acme_ties.csv")
    print(f"wrote {len(chart)} employees and {len(ties)} ties to {args.out}")


if __name__ == "__main__":
    main()
