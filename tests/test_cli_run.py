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


# --------------------------------------------------------------------------- a new user's first hour


def test_sample_refuses_a_folder_with_real_files_unless_forced(tmp_path):
    from tests.workbooks import unit_values, write_filled

    folder = tmp_path / "收件"
    folder.mkdir()
    write_filled(folder / "长沙市.xlsx", unit_values(0))
    (folder / "settings.yaml").write_text("year: 2026\n", encoding="utf-8")
    proc = qc("sample", "-o", str(folder), cwd=tmp_path)
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr == (f"错误：文件夹 {folder} 中已有不是 qc-batch sample 生成的文件：settings.yaml、长沙市.xlsx；"
                           "示例数据不能与真实报送放在一起。请换一个空文件夹（如 qc-batch sample -o 示例数据），"
                           "确需覆盖时加 --force\n")
    assert sorted(p.name for p in folder.iterdir()) == ["settings.yaml", "长沙市.xlsx"]
    assert (folder / "settings.yaml").read_text(encoding="utf-8") == "year: 2026\n"
    proc = qc("sample", "-o", str(folder), "--force", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert len(list(folder.glob("示例数据_*.xlsx"))) == 27


def test_samples_are_marked_listed_and_regenerated_in_their_own_folder(workdir, first_run, tmp_path):
    from qc_batch.read.sample_mark import is_sample

    _, results = first_run
    assert all(is_sample(p.read_bytes()) for p in SAMPLES.glob("*.xlsx"))
    assert all(f["sample"] for f in results["files"] if f["status"] != "settings")
    proc, _ = first_run
    assert "其中 27 个是 qc-batch sample 生成的示例数据，不是真实报送。" in proc.stdout
    assert "共收到 27 个文件（另有年度设置文件 1 个）：受理 26，被新版本替代 1，拒收 0。" in proc.stdout
    # a folder of samples may be written again
    proc = qc("sample", "-o", str(workdir / "input"), cwd=workdir)
    assert proc.returncode == 0, proc.stderr


def test_a_sample_never_competes_with_a_real_submission(tmp_path):
    from tests.workbooks import unit_values, write_filled

    folder = tmp_path / "input"
    shutil.copytree(SAMPLES, folder)
    real = unit_values(0, QC_DATE=__import__("datetime").datetime(2026, 1, 2))  # earlier than the sample's date
    assert real["QC_UNIT"] == "长沙市"
    write_filled(folder / "长沙市_正式报送.xlsx", real)
    proc = qc("run", "-i", str(folder), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    files = {f["file"]: f for f in results["files"]}
    assert files["长沙市_正式报送.xlsx"]["status"] == "accepted" and not files["长沙市_正式报送.xlsx"]["sample"]
    samples = [f for f in files.values() if f["sample"]]
    assert len(samples) == 27 and {f["status"] for f in samples} == {"rejected"}
    assert {f["reason_code"] for f in samples} == {"SAMPLE_SET_ASIDE"}
    assert [u["file"] for u in results["units"]] == ["长沙市_正式报送.xlsx"]  # ranked against no sample
    assert "其中 27 个是 qc-batch sample 生成的示例数据，不是真实报送（已列为拒收，不参与计分和排名）。" in proc.stdout


def test_output_folder_equal_to_input_is_refused_and_one_inside_is_skipped(workdir, first_run, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(SAMPLES, folder)
    proc = qc("run", "-i", str(folder), "-o", str(folder), cwd=tmp_path)
    assert proc.returncode == 4
    assert proc.stderr == (f"错误：输出文件夹 {folder} 就是输入文件夹；审核结果不能写进各单位工作簿所在的文件夹，"
                           "请用 --output 指定另一个文件夹（默认为 output）\n")
    for _ in range(2):
        proc = qc("run", "-q", "-i", str(folder), "-o", str(folder / "output"), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    results = json.loads((folder / "output" / "results.json").read_text(encoding="utf-8"))
    assert "output" not in {f["file"] for f in results["files"]}
    assert results["summary"]["rejected"] == 0


def test_an_empty_input_folder_warns(tmp_path):
    (tmp_path / "空").mkdir()
    proc = qc("run", "-q", "-i", str(tmp_path / "空"), "--settings", str(SAMPLES / "settings.yaml"), "-o",
              str(tmp_path / "out"), cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stderr == (f"警告：输入文件夹 {tmp_path / '空'} 中没有任何工作簿；请把各单位报送的评分表（.xlsx）"
                           "放入该文件夹，或用 --input 指定正确的文件夹\n")
