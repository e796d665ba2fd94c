"""Every test file, exported as DMN 1.3, opens in dmn-moddle (dmn-js's model) with no warning."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from rules.engine.dmn import read_dmn, write_dmn

ROOT = Path(__file__).resolve().parents[4]
DATA = ROOT / "tests" / "data" / "dmn"
SCRIPT = ROOT / "scripts" / "dmn_moddle_check.mjs"
FILES = sorted(DATA.glob("*.dmn"))

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (ROOT / "node_modules" / "dmn-moddle").is_dir(),
    reason="needs node and `npm install` (dmn-moddle)",
)


def test_every_export_opens_in_dmn_moddle_without_warnings_and_reads_back_the_same(tmp_path):
    exported = []
    models = {}
    for path in FILES:
        model = read_dmn(path.read_bytes())
        for diagram in (True, False):
            target = tmp_path / f"{path.stem}{'' if diagram else '_nodi'}.dmn"
            target.write_text(write_dmn(model, diagram=diagram), encoding="utf-8")
            exported.append(str(target))
            models[str(target)] = model
    result = subprocess.run(
        ["node", str(SCRIPT), *exported], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    reports = json.loads(result.stdout)
    assert [r for r in reports if r["warnings"] or r["error"]] == []
    assert result.returncode == 0
    assert {report["root"] for report in reports} == {"dmn:Definitions"}
    for file, model in models.items():
        assert read_dmn(Path(file).read_bytes()) == model


def test_the_check_script_reports_warnings(tmp_path):
    bad = tmp_path / "bad.dmn"
    bad.write_text(
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d">'
        '<decision id="a" name="A"><unknownThing /></decision></definitions>'
    )
    result = subprocess.run(
        ["node", str(SCRIPT), str(bad)], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 1
    assert json.loads(result.stdout)[0]["warnings"]
