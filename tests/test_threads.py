"""Parallel kernels: the same seed gives the same run on one thread and on two."""

import json
import subprocess
import sys
from pathlib import Path

import numba
import pytest

from model.parallel import PARALLEL_MIN

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"hierarchical": {}, "shared_authority": {"conversations_per_step": 2,
                                                     "turnover_rate": 0.01, "approval_levels": 1}}
FINGERPRINT = """
import hashlib, json, sys
import numba
from tests.conftest import run_model
from tests.test_threads import fingerprint
print(json.dumps(fingerprint(run_model(5, sys.argv[1], n_employees=int(sys.argv[3]), steps=3,
                                       **json.loads(sys.argv[2]))) | {
    "threads": numba.get_num_threads()}))
"""


def fingerprint(model) -> dict:
    """Digests of the result table and of the end state."""
    import hashlib

    people, b = model.people, model.beliefs
    arrays = {"results": model.results.values[: model.results.rows],
              "state": [people.effort, people.commitment, people.watch_belief,
                        people.reputation, people.coast_state, b.practice, b.source,
                        model.network.strength]}
    digest = {}
    for name, value in arrays.items():
        h = hashlib.sha256()
        for a in value if isinstance(value, list) else [value]:
            h.update(a.tobytes())
        digest[name] = h.hexdigest()
    return digest


def run_elsewhere(threads: int, setting: str) -> dict:
    """A run on ``threads`` threads in a fresh interpreter, large enough for the parallel
    loops over employees, conversations and ties (exposures and taught cells stay below
    the threshold here; tests/test_kernels.py covers the cell writer)."""
    env = {"NUMBA_NUM_THREADS": str(threads), "PATH": "/usr/bin"}
    out = subprocess.run([sys.executable, "-c", FINGERPRINT, setting,
                          json.dumps(SETTINGS[setting]), str(PARALLEL_MIN + 20_000)],
                         cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one CPU: no second thread")
@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_one_and_two_threads_give_identical_runs(setting):
    one, two = run_elsewhere(1, setting), run_elsewhere(2, setting)
    assert (one.pop("threads"), two.pop("threads")) == (1, 2)
    assert one == two


SIDE_BY_SIDE = """
import json, sys, threading
from tests.conftest import run_model
from tests.test_threads import fingerprint
n = int(sys.argv[1])
together = {}
threads = [threading.Thread(target=lambda s=s: together.update({s: fingerprint(
    run_model(s, "hierarchical", n_employees=n, steps=3))})) for s in (1, 2)]
[t.start() for t in threads]
[t.join() for t in threads]
alone = {s: fingerprint(run_model(s, "hierarchical", n_employees=n, steps=3)) for s in (1, 2)}
print(json.dumps({"same": together == alone, "runs": len(together)}))
"""


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="one CPU: no second thread")
def test_two_python_threads_may_run_large_organizations_at_once():
    """numba's workqueue pool aborts the process when two threads launch parallel loops at
    once (as a Dask worker's threads would): organizations step one at a time, and each
    gives the run it gives alone."""
    done = subprocess.run([sys.executable, "-c", SIDE_BY_SIDE, str(PARALLEL_MIN + 10_000)],
                          cwd=ROOT, env={"NUMBA_NUM_THREADS": "2", "PATH": "/usr/bin"},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"same": True, "runs": 2}
