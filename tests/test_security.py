"""Issue 11: no workbook can stop the batch, outrun its bounds, or be scored on cells Excel does not show.

Each hostile class of tests/hostile.py is read on its own (the outcome it must give), then all of
them together with the good sample workbooks through the CLI (docs/security.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import pytest

from qc_batch.batch import ingest
from qc_batch.batch.ingest import FileEntry, FileTimeout, Sheet, process_file, resolve_duplicates
from qc_batch.engine.numbers import FLOAT_MAX, to_float
from qc_batch.engine.ranking import PeerGroup
from qc_batch.read import cells as readers
from qc_batch.read import screen
from qc_batch.settings import SettingsError, parse_settings

from . import hostile as h
from . import workbooks as wb

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    """``qc-batch`` as a user runs it (its own process: exit code, stdout and stderr as they are)."""
    return subprocess.run([sys.executable, "-m", "qc_batch", *args], capture_output=True, text=True,
                          encoding="utf-8", errors="replace", cwd=ROOT, check=False)


def run_one(path: Path) -> FileEntry | Sheet:
    return process_file(str(path), wb.YEAR, wb.POLICY)


def outcome_of(res: FileEntry | Sheet) -> tuple[str, set[str]]:
    if isinstance(res, Sheet):
        return "accepted", {f.code for f in res.findings}
    return res.reason_code, set()


@pytest.fixture(scope="module")
def good() -> Sheet:
    res = run_one(h.BASE)
    assert isinstance(res, Sheet)
    return res


@pytest.mark.parametrize("name", sorted(h.HOSTILE))
def test_each_hostile_workbook_gets_its_outcome(name, tmp_path, good):
    builder, want = h.HOSTILE[name]
    res = run_one(builder(h.BASE, tmp_path / name))
    code, findings = outcome_of(res)
    if want.startswith("+"):
        assert code == "accepted", (res.reason_code, res.reason) if isinstance(res, FileEntry) else ""
        assert want[1:] in findings, findings
    elif want == "=":
        assert code == "accepted", (res.reason_code, res.reason) if isinstance(res, FileEntry) else ""
        assert res.data.facts == good.data.facts and res.data.veto_values == good.data.veto_values
        assert res.entry.unit == good.entry.unit and res.score.total == good.score.total
    else:
        assert code == want, (res.reason if isinstance(res, FileEntry) else findings)
        assert res.reason and max(res.reason) >= "\u4e00" and "Traceback" not in res.reason
    if isinstance(res, Sheet):  # everything it carries can be written as UTF-8 JSON
        json.dumps([f.to_dict() for f in res.findings] + [res.entry.to_dict()], ensure_ascii=False).encode("utf-8")


def test_a_veto_hidden_behind_a_fake_cell_is_read_as_excel_shows_it(tmp_path, good):
    assert good.data.veto_values[0] is False
    for build in (h.veto_hidden_in_pi, h.veto_hidden_in_comment):
        res = run_one(build(h.BASE, tmp_path / f"{build.__name__}.xlsx"))
        assert res.data.veto_values[0] is True and res.score.vetoed


def test_prefixed_cells_and_tabs_are_read_not_blank(tmp_path, good):
    for build in (h.prefixed_cells, h.tabs_before_r):
        res = run_one(build(h.BASE, tmp_path / f"{build.__name__}.xlsx"))
        assert res.data.facts == good.data.facts and res.score.total == good.score.total


def test_out_of_range_numbers_are_unreadable_not_fatal():
    inp = next(i for i in h.RUBRIC.inputs if i.kind == "num")
    for raw in (9e307, 5e-324, "1e400", "1e20000000", "9" * 5000, "1e-3000000", float("inf")):
        r = readers.read_value(inp, raw)
        assert r.value is None and r.error, raw
    assert "超出合理范围" in readers.read_value(inp, 9e307).error
    assert readers.exact_number("1e20000000") is None and readers.exact_number("１２.５") == Fraction(25, 2)
    assert readers.exact_number(1e14) == Fraction(10**14)


def test_exact_values_become_floats_safely():
    assert to_float(Fraction(10**400)) == FLOAT_MAX and to_float(-Fraction(10**400)) == -FLOAT_MAX
    assert to_float(Fraction(1, 10**400)) == 0.0 and to_float(None) == 0.0
    group = PeerGroup([Fraction(10**400), Fraction(10**401), Fraction(1)], Fraction(1, 3))
    assert group.standing(Fraction(10**401), is_member=True).rank == 1
    assert group.standing(Fraction(10**400), is_member=True).rank == 2


@pytest.mark.parametrize(("data", "key"), [
    ({"rank_fraction": "1e-3000000"}, "rank_fraction"),
    ({"references": {"export_notification_ratio_national": "1e400"}}, "references.export_notification_ratio_national"),
    ({"references": {"export_notification_ratio_national": 1.0e400}}, "references.export_notification_ratio_national"),
    ({"rank_fraction": "9" * 5000}, "rank_fraction"),
])
def test_settings_values_out_of_range_name_the_key(data, key):
    with pytest.raises(SettingsError) as err:
        parse_settings({"year": 2026, **data})
    assert key in str(err.value)


def test_settings_out_of_range_exit_3_from_the_cli(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "settings.yaml").write_text('year: 2026\nrank_fraction: "1e-3000000"\n', encoding="utf-8")
    res = cli("run", "--input", str(folder), "--output", str(tmp_path / "out"), "--quiet")
    out = res.stdout + res.stderr
    assert res.returncode == 3 and "rank_fraction" in out and "Traceback" not in out


def test_the_time_bound_cannot_be_swallowed(tmp_path, monkeypatch):
    assert not issubclass(FileTimeout, Exception)

    def stubborn(*_a, **_k):  # a reader that catches every ordinary exception
        while True:
            with contextlib.suppress(Exception):  # catches every ordinary exception
                time.sleep(0.05)
    monkeypatch.setattr(ingest, "read_workbook", stubborn)
    res = process_file(str(h.BASE), wb.YEAR, wb.POLICY, timeout=1)
    assert isinstance(res, FileEntry) and res.reason_code == "FILE_TIMEOUT"
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_read_value_does_not_swallow_the_time_bound(monkeypatch):
    inp = next(i for i in h.RUBRIC.inputs if i.kind == "num")

    def boom(*_a):
        raise FileTimeout
    monkeypatch.setattr(readers, "read_num", boom)
    with pytest.raises(FileTimeout):
        readers.read_value(inp, "1")


def test_names_are_normalised_before_identity_and_kept_as_entered_in_findings(tmp_path, good):
    res = run_one(h.zero_width_twin(h.BASE, tmp_path / "twin.xlsx"))
    assert res.entry.unit == good.entry.unit == "长沙市"
    note = next(f for f in res.findings if f.code == "HEADER_NAME_NORMALISED")
    assert "<U+200B>" in note.message
    winners, superseded = resolve_duplicates([good, res])
    assert len(winners) == 1 and len(superseded) == 1  # a twin is the same unit, not a second one
    rtl = run_one(h.rtl_override_name(h.BASE, tmp_path / "rtl.xlsx"))
    assert "\u202e" not in rtl.entry.unit and "<U+202E>" in rtl.findings[[f.code for f in rtl.findings].index(
        "HEADER_NAME_NORMALISED")].message
    esc = run_one(h.escapes_in_names(h.BASE, tmp_path / "esc.xlsx"))
    email = esc.data.text("QC_EMAIL") or ""
    assert "\x1b" not in esc.entry.unit and "\r" not in email and "\n" not in email and email.startswith("a@b.cn")


def test_a_future_date_is_flagged_and_does_not_win_a_duplicate(tmp_path):
    good = run_one(h.resaved(h.BASE, tmp_path / "good.xlsx"))  # both submissions, neither the sample as written
    res = run_one(h.future_date(h.BASE, tmp_path / "future.xlsx"))
    assert "DATE_IN_FUTURE" in {f.code for f in res.findings}
    winners, superseded = resolve_duplicates([good, res])
    assert winners[0].entry.file == good.entry.file and superseded[0].file == res.entry.file
    assert "晚于审核日期" in superseded[0].reason


def test_a_formula_in_an_input_is_not_scored(tmp_path, good):
    res = run_one(h.formula_in_input(h.BASE, tmp_path / "f.xlsx"))
    name = h.first("int")
    inp = next(i for i in h.RUBRIC.inputs if i.name == name)
    assert res.data.facts[inp.code] is None
    flagged = [f for f in res.findings if f.cell == res.cells[name]]
    assert [f.code for f in flagged] == ["INPUT_FORMULA"]
    assert "=0*99" in flagged[0].message and "9" in flagged[0].message


def test_file_names_that_are_not_utf8_are_listed_readably(tmp_path):
    raw = os.fsencode(str(tmp_path)) + b"/" + "长沙市".encode("gbk") + b".xlsx"
    shutil.copyfile(h.BASE, raw)
    name = os.fsdecode(raw).rsplit("/", 1)[1]
    assert screen.display_name(name) == "长沙市.xlsx"
    res = run_one(Path(os.fsdecode(raw)))
    assert res.entry.file == "长沙市.xlsx"
    assert screen.display_name("a\x1b[31mb\u202e.xlsx") == "a\ufffd[31mb\ufffd.xlsx"
    assert screen.clean_name("长沙　市\u200b") == screen.clean_name("ＡＢ长沙市")[2:] == "长沙市"
    assert screen.display_name(os.fsdecode(b"\xff\xfe.xlsx")).endswith(".xlsx")


def test_a_batch_of_every_hostile_workbook_with_the_good_ones(tmp_path):
    """Done means: exit 0, the good ones scored unchanged, every file listed with a reason."""
    good_dir, mixed = tmp_path / "good", tmp_path / "mixed"
    good_dir.mkdir()
    mixed.mkdir()
    for p in sorted((ROOT / "input").iterdir()):  # saved again: submissions, not the samples as written
        if p.suffix == ".xlsx":
            h.resaved(p, good_dir / p.name)
            h.resaved(p, mixed / p.name)
        else:
            shutil.copy2(p, good_dir / p.name)
            shutil.copy2(p, mixed / p.name)
    expect: dict[str, str] = {}
    for k, (name, (builder, want)) in enumerate(sorted(h.HOSTILE.items())):
        base = h.renamed(h.BASE, tmp_path / f"base{k}.xlsx", f"测试{k:02d}市")
        builder(base, mixed / name)
        expect[name] = want
    gbk = os.fsencode(str(mixed)) + b"/" + "株洲".encode("gbk") + b"_GBK.xlsx"
    h.renamed(h.BASE, Path(os.fsdecode(gbk)), "测试GBK市")
    h.renamed(h.BASE, mixed / "转义\x1b[31m名.xlsx", "测试ESC市")  # an ANSI escape in a file name
    h.renamed(h.BASE, mixed / "报告\u202excod.xlsx", "测试RLO市")  # a right-to-left override in one
    out_good, out_mixed = tmp_path / "out_good", tmp_path / "out_mixed"
    res = cli("run", "--input", str(good_dir), "--output", str(out_good), "--quiet")
    assert res.returncode == 0, res.stdout + res.stderr
    res = cli("run", "--input", str(mixed), "--output", str(out_mixed), "--workers", "2")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "Traceback" not in out and "\x1b" not in out and "\u202e" not in out
    raw = (out_mixed / "results.json").read_bytes()
    raw.decode("utf-8")
    results = json.loads(raw)
    baseline = json.loads((out_good / "results.json").read_bytes())
    files = {f["file"]: f for f in results["files"]}
    assert len(files) == len(list(mixed.iterdir())) and "株洲_GBK.xlsx" in files
    assert {"转义\ufffd[31m名.xlsx", "报告\ufffdxcod.xlsx"} <= set(files)
    for f in files.values():
        assert f["status"] in ("accepted", "superseded", "rejected", "settings")
        assert f["status"] == "accepted" or f["reason"], f
    units = {u["file"]: u for u in results["units"]}
    ranked = {ind.code for ind in h.RUBRIC.indicators if ind.is_ranked}
    for u in baseline["units"]:  # the good ones, unchanged (ranked items: the accepted hostile 市州 are peers)
        got = units[u["file"]]
        assert got["claimed_total"] == u["claimed_total"] and got["vetoes"] == u["vetoes"], u["file"]
        for code, ind in u["indicators"].items():
            assert got["indicators"][code]["inputs"] == ind["inputs"], (u["file"], code)
            if code not in ranked:
                assert got["indicators"][code]["score"] == ind["score"], (u["file"], code)
        if u["level"] != "市州":  # no hostile peer
            assert got["total"] == u["total"], u["file"]
    for name, want in expect.items():
        f = files[name]
        if want.startswith("+") or want == "=":
            assert f["status"] == "accepted", (name, f["reason_code"], f["reason"])
            if want.startswith("+"):
                assert want[1:] in {x["code"] for x in units[name]["findings"]}, name
        else:
            assert f["status"] == "rejected" and f["reason_code"] == want, (name, f)
    for p in out_mixed.rglob("*"):
        assert "\x1b" not in p.name and "\u202e" not in p.name
        if p.suffix in (".md", ".json"):
            assert "\x1b" not in p.read_text(encoding="utf-8"), p


@pytest.mark.parametrize("build", [h.veto_hidden_in_pi, h.prefixed_cells, h.unit_hidden_in_shared_string],
                         ids=lambda b: b.__name__)
def test_libreoffice_shows_what_the_batch_reads(build, tmp_path):
    """A real spreadsheet program opens the hostile workbook and shows the values the batch scores."""
    from .lo.bridge import run_lo
    path = build(h.BASE, tmp_path / f"{build.__name__}.xlsx")
    res = run_one(path)
    names = ["QC_UNIT", "QC_VETO_1", *(i.name for i in h.RUBRIC.inputs[:40])]
    shown = run_lo({"file": str(path), "jobs": [{"read": names}]})["results"][0]["values"]
    for name in names:
        want, got = shown[name], res.data.raw.get(name)
        if isinstance(got, float) or isinstance(want, float):
            assert want is not None and got is not None and float(want) == float(got), (name, want, got)
        else:
            assert (want or None) == (got or None), (name, want, got)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_time_bound_holds_in_both_modes(tmp_path, monkeypatch, workers):
    """In this process (--workers 1) and in worker processes alike, a file that reads forever
    ends as FILE_TIMEOUT and the other files are read."""
    from qc_batch.batch.run import read_all

    slow = h.resaved(h.BASE, tmp_path / "慢.xlsx")
    real_read = ingest.read_workbook

    def read(path, *a, **k):
        while Path(path).name == slow.name:
            with contextlib.suppress(Exception):
                time.sleep(0.05)
        return real_read(path, *a, **k)
    monkeypatch.setattr(ingest, "read_workbook", read)
    monkeypatch.setattr(ingest, "FILE_TIMEOUT_S", 1)  # forked workers inherit both
    others = [h.resaved(p, tmp_path / p.name) for p in sorted((ROOT / "input").glob("*.xlsx"))[:13]]
    out = read_all([slow, *others], parse_settings({"year": wb.YEAR}), workers=workers)
    assert isinstance(out[0], FileEntry) and out[0].reason_code == "FILE_TIMEOUT"
    assert all(isinstance(r, Sheet) for r in out[1:])
