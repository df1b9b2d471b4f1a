"""Provenance in every manifest; a sweep resumed under other versions is refused."""

from __future__ import annotations

import json

import pytest

import run
from experiments.provenance import PACKAGES, model_version, provenance, version_change
from experiments.sweep import MANIFEST
from tests.sweep_helpers import sweep_file

SMALL = ["-n", "100", "-t", "30"]
KEYS = {"model_version", "commit", "packages", "python", "platform"}


def cli(args, capsys):
    code = run.main([str(a) for a in args])
    return code, capsys.readouterr().err


def check(found):
    assert set(found) == KEYS
    assert set(found["packages"]) == set(PACKAGES) and found["packages"]["mesa"]
    assert found["model_version"] == provenance()["model_version"] != "unknown"


def test_run_and_compare_outputs_record_provenance(tmp_path, capsys):
    assert cli(["run", "hierarchical", *SMALL, "--out", tmp_path / "r"], capsys)[0] == 0
    check(json.loads((tmp_path / "r" / "summary.json").read_text())["provenance"])
    assert cli(["compare", "hierarchical", "shared_authority", "-r", "2", *SMALL, "-w", "1",
                "--out", tmp_path / "c"], capsys)[0] == 0
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    check(manifest["provenance"])
    assert manifest["model_version"] == model_version()


def test_a_resume_under_other_versions_is_refused_unless_allowed(tmp_path, capsys):
    path = sweep_file(tmp_path, replications=1, parameters={"n_employees": 40},
                      vary={"span_of_control": [4, 8]})
    out = tmp_path / "out"
    assert cli(["sweep", path, "--out", out, "-w", "1"], capsys)[0] == 0
    manifest = json.loads((out / MANIFEST).read_text())
    check(manifest["provenance"])
    assert cli(["sweep", path, "--out", out, "-w", "1", "--resume"], capsys)[0] == 0
    manifest["provenance"]["packages"]["numpy"] = "1.0.0"
    (out / MANIFEST).write_text(json.dumps(manifest))
    code, err = cli(["sweep", path, "--out", out, "-w", "1", "--resume"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "numpy 1.0.0 -> " in err and "--allow-version-change" in err
    assert cli(["sweep", path, "--out", out, "-w", "1", "--resume",
                "--allow-version-change"], capsys)[0] == 0
    resumed = json.loads((out / MANIFEST).read_text())
    assert resumed["provenance"]["packages"]["numpy"] == "1.0.0"  # the start is kept
    assert resumed["resumes"] == [provenance()]


@pytest.mark.parametrize("change, words", [
    ({"model_version": "0.0.1"}, "model_version 0.0.1 -> "),
    ({"commit": "abc1234"}, "commit abc1234 -> "),
    ({"packages": {}}, "mesa None -> "),
])
def test_version_change_names_what_differs(change, words):
    assert version_change(provenance(), provenance()) is None
    assert words in version_change({**provenance(), **change}, provenance())
    assert "older version" in version_change(None, provenance())
