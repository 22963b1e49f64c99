"""End to end: ``qc-batch run`` on the bundled sample workbooks, as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from qc_batch.engine.scoring import score_unit
from qc_batch.read.sheet_data import interpret
from qc_batch.read.workbook import read_workbook
from qc_batch.rubric.model import load_rubric
from qc_batch.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "input"
RUBRIC = load_rubric()


def qc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qc_batch", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("run")
    shutil.copytree(SAMPLES, d / "input")
    return d


@pytest.fixture(scope="module")
def first_run(workdir):
    proc = qc("run", cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads((workdir / "output" / "results.json").read_text(encoding="utf-8"))


def test_summary_is_printed_in_chinese(first_run):
    proc, _results = first_run
    assert "受理" in proc.stdout and "合格" in proc.stdout and "results.json" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_manifest_lists_every_sample_file(first_run):
    _, results = first_run
    assert sorted(f["file"] for f in results["files"]) == sorted(p.name for p in SAMPLES.iterdir())
    assert {f["status"] for f in results["files"]} <= {"accepted", "superseded", "rejected", "settings"}
    s = results["summary"]
    assert s["accepted"] + s["superseded"] + s["rejected"] + 1 == s["files"]
    assert s["accepted"] == len(results["units"]) == 26
    assert s["superseded"] == 1 and s["veto"] == 1 and s["pass"] > 0 and s["fail"] > 0
    assert [u["unit"] for u in results["not_submitted"]] == ["新化县", "宁远县"]


def test_scores_match_the_engine(first_run):
    _, results = first_run
    settings = load_settings(SAMPLES / "settings.yaml")
    for u in results["units"]:
        raw = read_workbook(SAMPLES / u["file"])
        data = interpret(RUBRIC, raw.values)
        bands = {code: r["band"] for code, r in u["ranking"].items()}
        score = score_unit(RUBRIC, data.facts, data.veto_values, settings.policy, bands)
        assert Fraction(str(u["total"])) == Fraction(score.total), u["unit"]
        assert u["status"] == score.status
        assert set(u["indicators"]) == {i.code for i in RUBRIC.indicators}
        for code, ind in u["indicators"].items():
            assert Fraction(str(ind["score"])) == score.indicators[code].points
            assert ind["max"] == RUBRIC.indicator(code).max
        assert len(u["sha256"]) == 64


def test_results_schema_fields(first_run):
    _, results = first_run
    assert results["schema"] == "qc-batch/results" and results["schema_version"] == 1
    u = results["units"][0]
    for key in ("unit", "level", "parent", "year", "file", "sha256", "status", "total", "raw_total", "na_points",
                "claimed_total", "completeness", "indicators", "findings"):
        assert key in u
    f = next(f for x in results["units"] for f in x["findings"])
    assert set(f) >= {"code", "severity", "indicator", "input", "cell", "value", "message"}
    assert f["severity"] in ("错误", "警告", "提示")


def test_rerun_gives_identical_results_apart_from_timestamp(workdir, first_run):
    first = (workdir / "output" / "results.json").read_text(encoding="utf-8")
    proc = qc("run", "--quiet", cwd=workdir)
    assert proc.returncode == 0 and proc.stdout == ""
    second = (workdir / "output" / "results.json").read_text(encoding="utf-8")
    strip = lambda t: "\n".join(line for line in t.splitlines() if '"generated_at"' not in line)  # noqa: E731
    assert strip(first) == strip(second)
    assert first != second or '"generated_at"' in first


def test_a_failing_run_leaves_the_previous_output(workdir, first_run, monkeypatch):
    from qc_batch import cli
    from qc_batch.outputs import publish

    before = (workdir / "output" / "results.json").read_bytes()

    def boom(*_a, **_k):
        raise RuntimeError("disk trouble")

    monkeypatch.setattr(publish, "write_returned", boom)  # fails after results.json and reports are staged
    monkeypatch.chdir(workdir)
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--quiet"])
    assert exc.value.code == 1
    assert (workdir / "output" / "results.json").read_bytes() == before
    assert not [p for p in (workdir / "output").iterdir() if p.name.startswith(".staging")]


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["run", "--input", "没有这个文件夹"], 4, "找不到输入文件夹"),
        (["run", "--settings", "nope.yaml"], 3, "设置文件"),
        (["run", "--bogus"], 2, ""),
    ],
)
def test_exit_codes_and_messages(workdir, args, code, words):
    proc = qc(*args, cwd=workdir)
    assert proc.returncode == code, proc.stderr
    assert words in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_settings_file_is_explained(workdir, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 二〇二六\nna_policy: sometimes\n", encoding="utf-8")
    proc = qc("run", "--settings", str(bad), "--output", str(tmp_path / "out"), cwd=workdir)
    assert proc.returncode == 3
    assert "year" in proc.stderr or "年度" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_custom_report_template_and_a_broken_one(workdir, tmp_path):
    good = tmp_path / "good.md.j2"
    good.write_text((ROOT / "templates" / "report.md.j2").read_text(encoding="utf-8") + "\n本省自定义结尾\n",
                    encoding="utf-8")
    proc = qc("run", "--quiet", "--report-template", str(good), "--output", str(tmp_path / "o1"), cwd=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "本省自定义结尾" in (tmp_path / "o1" / "reports" / "长沙市.md").read_text(encoding="utf-8")
    bad = tmp_path / "bad.md.j2"
    bad.write_text("{% if u.status %}\n", encoding="utf-8")
    proc = qc("run", "--quiet", "--report-template", str(bad), "--output", str(tmp_path / "o2"), cwd=workdir)
    assert proc.returncode == 3 and "报告模板有误" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o2" / "results.json").exists()
