"""Across the years: the history database, HISTORY_MISMATCH, RANK_CLAIM_CONFLICT, prefill,
migration from an older template, the analysts' frames, and an interrupted write."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import zipfile
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from qc_batch.batch.ingest import Sheet, process_file
from qc_batch.batch.run import run_batch
from qc_batch.cli import cli
from qc_batch.history import db, frame
from qc_batch.history.audit import year_series
from qc_batch.history.migrate import VersionMap, migrate_workbook
from qc_batch.history.store import current_records, record_run
from qc_batch.rubric.model import load_rubric
from qc_batch.settings import parse_settings
from qc_batch.sheet import names as sn

from . import workbooks as wb

RUBRIC = load_rubric()
ROOT = Path(__file__).resolve().parents[1]
Y1, Y2 = 2026, 2027
UNITS = 4
CHANGED_UNIT = 1          # changes a year-1 value in year 2
CHANGED_NAME = "QC_8_6_a2"  # 服务业顾客满意度, year − 1


def settings_text(year: int, extra: str = "") -> str:
    return wb.SETTINGS_YAML.replace("year: 2026", f"year: {year}") + extra


def series_names() -> list[str]:
    return [inp.name for s in year_series(RUBRIC).values() for off, inp in s.items() if off < 0]


def invoke(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def two_years(tmp_path_factory):
    """Year 1 run; prefill year 2; units fill year 2 (one changes a year-1 value); year 2 run."""
    root = tmp_path_factory.mktemp("bureau")
    y1, y2 = root / str(Y1), root / str(Y2)
    y1.mkdir()
    y2.mkdir()
    (y1 / "settings.yaml").write_text(settings_text(Y1), encoding="utf-8")
    (y2 / "settings.yaml").write_text(settings_text(Y2), encoding="utf-8")
    for k in range(UNITS):
        wb.write_filled(y1 / f"u{k}.xlsx", wb.unit_values(k))
    invoke("run", "-i", str(y1), "-o", str(root / "out1"), "--workers", "1", "-q")
    first = json.loads((root / "out1" / "results.json").read_text(encoding="utf-8"))

    invoke("prefill", "--year", str(Y2), "--settings", str(y2 / "settings.yaml"), "--to", str(root / "pre"))
    prefilled = {}
    for path in sorted((root / "pre").glob("*.xlsx")):
        sheet = process_file(str(path), Y2, wb.POLICY)
        assert isinstance(sheet, Sheet), sheet
        prefilled[sheet.entry.unit] = (path, sheet)
    for k in range(UNITS):
        values = wb.unit_values(k, QC_YEAR=Y2)
        unit = values["QC_UNIT"]
        raw = prefilled[unit][1].data.raw
        for name in series_names():  # units keep what the prefilled sheet holds ...
            values[name] = raw.get(name)
        if k == CHANGED_UNIT:  # ... but one restates last year's satisfaction score differently
            values[CHANGED_NAME] = float(Fraction(str(raw[CHANGED_NAME])) + 1)
        wb.write_filled(y2 / f"u{k}.xlsx", values)
    invoke("run", "-i", str(y2), "-o", str(root / "out2"), "--workers", "1", "-q")
    second = json.loads((root / "out2" / "results.json").read_text(encoding="utf-8"))
    return root, first, second, prefilled


def test_a_run_is_recorded_beside_the_input_folder_by_default(two_years):
    root, first, _, _ = two_years
    conn = db.connect(root / db.DEFAULT_NAME, create=False)
    runs = conn.execute("SELECT year, stage, units FROM runs ORDER BY id").fetchall()
    assert runs == [(Y1, "document", UNITS), (Y2, "document", UNITS)]
    subs = conn.execute("SELECT file, sha256 FROM submissions WHERE run_id = 1 AND status = 'accepted'").fetchall()
    assert {(f["file"], f["sha256"]) for f in first["files"] if f["status"] == "accepted"} == set(subs)
    rec = {r.unit: r for r in current_records(conn, [Y1])}
    for u in first["units"]:
        r = rec[u["unit"]]
        assert (Fraction(r.total), r.status, r.rank) == (Fraction(str(u["total"])), u["status"], r.rank)
        assert {c: float(s) for c, s in r.scores.items()} == {c: float(x["score"]) for c, x in u["indicators"].items()}
    conn.close()


def test_prefilled_sheets_carry_header_and_earlier_years_with_their_source(two_years):
    root, first, _, prefilled = two_years
    conn = db.connect(root / db.DEFAULT_NAME, create=False)
    year1 = {r.unit: r.facts for r in current_records(conn, [Y1])}
    conn.close()
    assert set(prefilled) == {u["unit"] for u in first["units"]}
    for unit, (path, sheet) in prefilled.items():
        facts, header = sheet.data.facts, sheet.data
        assert header.text("QC_UNIT") == unit and sheet.entry.year == Y2
        assert header.text("QC_CONTACT") == next(u["contact"]["name"] for u in first["units"] if u["unit"] == unit)
        for s in year_series(RUBRIC).values():
            # read back by the batch: year Y2−1 is what Y1 reported for its own year, Y2−2 what it gave as Y1−1
            assert facts[s[-1].code] == year1[unit][s[0].code]
            assert facts[s[-2].code] == year1[unit][s[-1].code]
            assert facts[s[0].code] is None  # the new year is left to the unit
        comments = {}
        book = openpyxl.load_workbook(path)
        for name in series_names():
            sheet_name, coord = next(book.defined_names[name].destinations)
            comments[name] = book[sheet_name][coord.replace("$", "")].comment
        assert all(c is not None and f"来自{Y1}年度报送" in c.text for c in comments.values())


def test_history_mismatch_on_the_unit_that_changed_a_year_1_value_only(two_years):
    _, _, second, _ = two_years
    hits = {u["unit"]: [f for f in u["findings"] if f["code"] == "HISTORY_MISMATCH"] for u in second["units"]}
    changed = wb.unit_values(CHANGED_UNIT)["QC_UNIT"]
    assert {u for u, fs in hits.items() if fs} == {changed}
    (f,) = hits[changed]
    assert f["severity"] == "警告" and f["input"] == "8.6.a2" and f["name"] == CHANGED_NAME
    earlier = Fraction(str(wb.unit_values(CHANGED_UNIT)["QC_8_6_a3"]))
    assert f"{Y1}年度报送值 {float(earlier):g}" in f["message"] and "u1.xlsx" in f["message"]
    assert f"本年度填报 {float(earlier + 1):g}" in f["message"] and f"（{Y1}年）" in f["message"]


def test_previous_gives_last_year_total_status_and_rank(two_years):
    _, first, second, _ = two_years
    before = {u["unit"]: u for u in first["units"]}
    conn_ranks = {}
    for u in first["units"]:
        same = [x for x in first["units"] if x["level"] == u["level"] and x["status"] != "不予受理"]
        conn_ranks[u["unit"]] = 1 + sum(1 for x in same if x["total"] > u["total"])
    for u in second["units"]:
        p = u["previous"]
        assert p == {"year": Y1, "total": before[u["unit"]]["total"], "status": before[u["unit"]]["status"],
                     "rank": conn_ranks[u["unit"]]}
    assert all(u["previous"] is None for u in first["units"])


def test_reports_give_last_year_and_the_change_per_group(two_years):
    root, first, second, _ = two_years
    unit = second["units"][0]
    text = (root / "out2" / "reports" / f"{unit['id']}.md").read_text(encoding="utf-8")
    p = unit["previous"]
    assert f"- {Y1}年度（报送）：核算总分 {p['total']:.1f} 分，{p['status']}" in text
    assert f"| 类别 | 得分 | 分值 | 得分率 | 同级平均 | 同级最高 | 较{Y1}年度 |" in text
    assert text.count("|---:|---:|---:|---:|---:|---:|") == 1
    old = (root / "out1" / "reports" / f"{first['units'][0]['id']}.md").read_text(encoding="utf-8")
    assert "较" not in old.split("## 各类别得分")[1].split("\n")[2] and "年度（报送）" not in old


def test_comparison_gains_the_history_sheet_with_its_chart(two_years):
    root, first, second, _ = two_years
    book = openpyxl.load_workbook(root / "out2" / "comparison.xlsx")
    assert "历年" in book.sheetnames
    assert "历年" not in openpyxl.load_workbook(root / "out1" / "comparison.xlsx").sheetnames
    ws = book["历年"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    years = [r[:4] for r in rows[2:4]]
    n_pass = {Y1: sum(u["status"] == "合格" for u in first["units"]),
              Y2: sum(u["status"] == "合格" for u in second["units"])}
    assert [(y, n, p) for y, n, p, _avg in years] == [(Y1, UNITS, n_pass[Y1]), (Y2, UNITS, n_pass[Y2])]
    head = next(k for k, r in enumerate(rows) if r[0] == "单位")
    assert rows[head][3:6] == [f"{Y1}年总分", f"{Y1}年结论", f"{Y1}年名次"]
    table = {r[0]: r for r in rows[head + 1:]}
    for u in second["units"]:
        r = table[u["unit"]]
        assert r[3] == pytest.approx(u["previous"]["total"]) and r[6] == pytest.approx(u["total"])
        assert r[9] == pytest.approx(u["total"] - u["previous"]["total"])
    charts = [len([n for n in zipfile.ZipFile(root / out / "comparison.xlsx").namelist() if n.startswith("xl/charts/chart")])
              for out in ("out1", "out2")]
    assert charts[1] == charts[0] + 1  # the 历年 chart: pass count and average by year


def test_rerunning_a_year_makes_it_the_current_record_and_keeps_the_earlier_run(two_years):
    root, _, _, _ = two_years
    y2 = root / str(Y2)
    invoke("run", "-i", str(y2), "-o", str(root / "out2b"), "--workers", "1", "-q")
    conn = db.connect(root / db.DEFAULT_NAME, create=False)
    assert conn.execute("SELECT count(*) FROM runs WHERE year = ?", (Y2,)).fetchone()[0] == 2
    assert {r.run_id for r in current_records(conn, [Y2])} == {3}
    assert conn.execute("SELECT count(*) FROM units WHERE run_id = 2").fetchone()[0] == UNITS
    conn.close()
    out = invoke("history", "--history", str(root / db.DEFAULT_NAME), "--export", str(root / "long.csv"))
    assert "第 3 次运行" in out and f"{Y2}年度（报送）" in out
    csv = (root / "long.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv[0].startswith("单位,层级,所属市州,年度,阶段,指标,指标得分,自评分,填报项,填报值")
    long = frame(root / db.DEFAULT_NAME, what="long")
    assert len(csv) - 1 == len(long)
    scores = frame(root / db.DEFAULT_NAME, what="scores")
    assert len(scores) == 2 * UNITS * len(RUBRIC.indicators)
    assert set(scores["year"]) == {Y1, Y2}


def _sheets_with_ranks(folder: Path, ranks: list[dict[str, int]]) -> None:
    for k, changes in enumerate(ranks):
        wb.write_filled(folder / f"u{k}.xlsx", wb.unit_values(k, **changes))


def test_rank_claim_conflict_same_rank_or_beyond_the_units_of_the_level(tmp_path):
    """6.3: two 市州 claiming rank 2 for the same measure and year, and a rank beyond the register's 3 市州."""
    distinct = [{f"QC_6_3_a{i}": k + 1 for i in range(1, 7)} for k in range(3)]
    distinct[0]["QC_6_3_a3"] = distinct[1]["QC_6_3_a3"] = 2       # 进口, this year: 长沙市 and 株洲市 both 2nd
    distinct[2]["QC_6_3_a4"] = 9                                   # 出口, two years ago: 9th of 3
    _sheets_with_ranks(tmp_path, distinct)
    units = [wb.unit_values(k)["QC_UNIT"] for k in range(3)]
    register = "expected_units:\n" + "".join(f"  - {{unit: {u}, level: 市州}}\n" for u in units) + "history: false\n"
    settings = parse_settings(yaml.safe_load(settings_text(Y1, register)))
    result = run_batch(tmp_path, settings, workers=1)
    assert result.history is None
    found = {u.entry.unit: [f for f in u.findings if f.code == "RANK_CLAIM_CONFLICT"] for u in result.units}
    assert [f.input for f in found[units[0]]] == ["6.3.a3"] and [f.input for f in found[units[1]]] == ["6.3.a3"]
    assert units[1] in found[units[0]][0].message and f"（{Y1}年）" in found[units[0]][0].message
    assert [f.input for f in found[units[2]]] == ["6.3.a4"]
    assert "超过市州单位总数 3 个" in found[units[2]][0].message and f"（{Y1 - 2}年）" in found[units[2]][0].message
    assert all(f.severity == "提示" for fs in found.values() for f in fs)


def test_no_rank_claim_conflict_when_ranks_are_distinct(tmp_path):
    """Without a register or earlier years, a rank above the units that applied is no conflict:
    the 3 市州 of the batch are not the province's."""
    ranks = [{f"QC_6_3_a{i}": k + 1 for i in range(1, 7)} for k in range(3)]
    ranks[2]["QC_6_3_a1"] = 9
    _sheets_with_ranks(tmp_path, ranks)
    settings = parse_settings(yaml.safe_load(settings_text(Y1, "history: false\n")))
    result = run_batch(tmp_path, settings, workers=1)
    assert not [f for u in result.units for f in u.findings if f.code == "RANK_CLAIM_CONFLICT"]


def _old_version_workbook(tmp_path: Path) -> tuple[Path, dict]:
    """The current template with the identity of version 0 and 8.6.a1 under its old name."""
    values = wb.unit_values(2)
    src = wb.write_filled(tmp_path / "current.xlsx", values)
    book = openpyxl.load_workbook(src)
    ws_name, coord = next(book.defined_names[sn.NAME_TEMPLATE_VERSION].destinations)
    book[ws_name][coord.replace("$", "")].value = "0"
    dn = book.defined_names["QC_8_6_a1"]
    del book.defined_names["QC_8_6_a1"]
    dn.name = "QC_FWYMYD_1"
    book.defined_names["QC_FWYMYD_1"] = dn
    ws = book["评分表"]
    ws["P2"] = "旧版专有内容"
    book.defined_names["QC_OLD_ONLY"] = openpyxl.workbook.defined_name.DefinedName("QC_OLD_ONLY",
                                                                                  attr_text="'评分表'!$P$2")
    old = tmp_path / "old.xlsx"
    book.save(old)
    return old, values


def test_migration_of_an_older_template_version(tmp_path):
    old, values = _old_version_workbook(tmp_path)
    assert process_file(str(old), Y1, wb.POLICY).reason_code == "OLD_TEMPLATE"
    table = {"0": VersionMap("测试用旧版", renamed={"QC_FWYMYD_1": "QC_8_6_a1"})}
    m = migrate_workbook(old, tmp_path / "migrated", versions=table)
    assert m.old_version == "0" and m.unmapped == [("QC_OLD_ONLY", "旧版专有内容", m.unmapped[0][2])]
    assert "现行模板中没有该单元格" in m.unmapped[0][2]
    migrated = process_file(str(m.target), Y1, wb.POLICY)
    assert isinstance(migrated, Sheet), migrated
    original = process_file(str(wb.write_filled(tmp_path / "again.xlsx", values)), Y1, wb.POLICY)
    assert migrated.data.facts == original.data.facts  # every input, 8.6.a1 included, under its current name
    assert migrated.score.total == original.score.total
    notes = (tmp_path / "migrated" / f"{m.target.stem}说明.md").read_text(encoding="utf-8")
    assert "QC_OLD_ONLY" in notes and "原模板版本 0" in notes


def test_migration_without_a_table_entry_reports_the_renamed_input(tmp_path):
    old, _ = _old_version_workbook(tmp_path)
    res = CliRunner().invoke(cli, ["migrate", str(old), "--to", str(tmp_path / "m")], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "未迁移 QC_FWYMYD_1" in res.output and "未迁移 QC_OLD_ONLY" in res.output
    assert "需补填 1 个填报项" in res.output


def test_schema_version_and_foreign_or_newer_databases_are_refused(tmp_path):
    conn = db.connect(tmp_path / "h.sqlite")
    assert db.schema_version(conn) == db.SCHEMA_VERSION
    conn.close()
    foreign = sqlite3.connect(tmp_path / "other.sqlite")
    foreign.execute("CREATE TABLE t (x)")
    foreign.commit()
    foreign.close()
    with pytest.raises(db.HistoryError, match="其他程序"):
        db.connect(tmp_path / "other.sqlite")
    newer = sqlite3.connect(tmp_path / "h.sqlite")
    newer.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 1}")
    newer.close()
    with pytest.raises(db.HistoryError, match="更新版本"):
        db.connect(tmp_path / "h.sqlite")


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import yaml
    from qc_batch.batch.run import run_batch
    from qc_batch.history import db
    from qc_batch.history.store import record_run
    from qc_batch.settings import parse_settings

    folder, path = Path(sys.argv[1]), Path(sys.argv[2])
    settings = parse_settings(yaml.safe_load((folder / "settings.yaml").read_text(encoding="utf-8")),
                              source=str(folder / "settings.yaml"))
    result = run_batch(folder, settings, workers=1)
    conn = db.connect(path)
    before = conn.total_changes

    def pause():  # once rows of the run are written, inside its transaction: wait to be killed
        if conn.in_transaction and conn.total_changes > before + 2:
            print("MID-WRITE", flush=True)
            time.sleep(120)
        return 0

    conn.set_progress_handler(pause, 50)
    record_run(conn, result)
    print("DONE", flush=True)
""")


def test_an_interrupted_run_leaves_the_database_unchanged(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "settings.yaml").write_text(settings_text(Y1, "history: false\n"), encoding="utf-8")
    for k in range(3):
        wb.write_filled(folder / f"u{k}.xlsx", wb.unit_values(k))
    path = tmp_path / "h.sqlite"
    settings = parse_settings(yaml.safe_load(settings_text(Y1)), source=str(folder / "settings.yaml"))
    conn = db.connect(path)
    record_run(conn, run_batch(folder, settings, workers=1))  # an earlier, complete run
    snapshot = [conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in ("runs", "submissions", "units")]
    conn.close()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(path)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "MID-WRITE", child.stderr.read()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    conn = db.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    after = [conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in ("runs", "submissions", "units")]
    assert after == snapshot
    assert record_run(conn, run_batch(folder, settings, workers=1)) == 2  # and it goes on working
    conn.close()


def test_the_history_setting_names_the_database_relative_to_the_settings_file(tmp_path):
    (tmp_path / "in").mkdir()
    source = str(tmp_path / "in" / "settings.yaml")
    default = parse_settings(yaml.safe_load(settings_text(Y1)), source=source)
    assert db.history_path(default, tmp_path / "in") == (tmp_path / db.DEFAULT_NAME).resolve()
    named = parse_settings(yaml.safe_load(settings_text(Y1, "history: ../历年/db.sqlite\n")), source=source)
    assert db.history_path(named, tmp_path / "in") == tmp_path / "in" / ".." / "历年" / "db.sqlite"
    off = parse_settings(yaml.safe_load(settings_text(Y1, "history: false\n")), source=source)
    assert db.history_path(off, tmp_path / "in") is None
    with pytest.raises(ValueError, match="history"):
        parse_settings(yaml.safe_load(settings_text(Y1, "history: 3\n")), source=source)


def test_history_off_records_nothing_and_gives_no_previous(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "settings.yaml").write_text(settings_text(Y1, "history: false\n"), encoding="utf-8")
    wb.write_filled(folder / "u0.xlsx", wb.unit_values(0))
    invoke("run", "-i", str(folder), "-o", str(tmp_path / "out"), "--workers", "1", "-q")
    assert not list(tmp_path.rglob("*.sqlite"))
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert results["units"][0]["previous"] is None


def test_a_damaged_database_is_a_chinese_message_not_a_traceback(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "settings.yaml").write_text(settings_text(Y1), encoding="utf-8")
    wb.write_filled(folder / "u0.xlsx", wb.unit_values(0))
    (tmp_path / db.DEFAULT_NAME).write_bytes(b"not a database at all, but long enough to be read" * 40)
    res = CliRunner().invoke(cli, ["run", "-i", str(folder), "-o", str(tmp_path / "out"), "--workers", "1", "-q"])
    assert res.exit_code == 4 and "历年数据库" in res.output and "Traceback" not in res.output


def test_prefill_from_the_register_alone_gives_the_header_and_no_earlier_years(tmp_path):
    from qc_batch.history.prefill import prefill
    from qc_batch.settings import ExpectedUnit

    written = prefill(Y2, tmp_path / "pre", history=tmp_path / "none.sqlite",
                      expected=(ExpectedUnit("醴陵市", "县市区", "株洲市"),), policy=wb.POLICY)
    (p,) = written
    sheet = process_file(str(p.path), Y2, wb.POLICY)
    assert isinstance(sheet, Sheet)
    assert (sheet.entry.unit, sheet.entry.level, sheet.entry.parent, sheet.entry.year) == ("醴陵市", "县市区", "株洲市", Y2)
    assert p.sources == {} and all(sheet.data.facts[i.code] is None for i in RUBRIC.inputs)
    with pytest.raises(db.HistoryError, match="没有可预填的单位"):
        prefill(Y2, tmp_path / "pre2", history=None)


@pytest.mark.libreoffice
def test_history_sheet_and_a_prefilled_sheet_open_in_libreoffice_without_formula_errors(two_years, tmp_path):
    from .lo.bridge import run_lo

    root, _, second, prefilled = two_years
    pdf = tmp_path / "c.pdf"
    answer = run_lo({"file": str(root / "out2" / "comparison.xlsx"), "dump": ["历年"], "convert": str(pdf)})
    assert answer["errors_on_load"] == [] and answer["charts"]["历年"] == 1
    assert {r[0] for r in answer["dump"]["历年"]} >= {u["unit"] for u in second["units"]}
    assert pdf.read_bytes().startswith(b"%PDF")
    path, _sheet = next(iter(prefilled.values()))
    answer = run_lo({"file": str(path)})
    assert answer["errors_on_load"] == []


def test_the_verified_value_counts_where_an_earlier_year_has_one(tmp_path):
    """Year 1 recorded as submitted (document) and as verified (final, 8.6.a3 corrected by the panel):
    year 2 restating the submitted value is a mismatch against the verified one; restating it is not."""
    path = tmp_path / "h.sqlite"
    conn = db.connect(path)
    submitted = wb.unit_values(0)
    verified = Fraction(str(submitted["QC_8_6_a3"])) + 2
    for stage, values in (("document", submitted), ("final", {**submitted, "QC_8_6_a3": float(verified)})):
        folder = tmp_path / stage
        folder.mkdir()
        wb.write_filled(folder / "u0.xlsx", values)
        settings = parse_settings(yaml.safe_load(settings_text(Y1, "history: false\n")))
        record_run(conn, run_batch(folder, settings, workers=1), stage)
    conn.close()
    for restated, expected in ((submitted["QC_8_6_a3"], 1), (float(verified), 0)):
        folder = tmp_path / f"y2-{restated}"
        folder.mkdir()
        wb.write_filled(folder / "u0.xlsx", wb.unit_values(0, QC_YEAR=Y2, QC_8_6_a2=restated))
        settings = parse_settings(yaml.safe_load(settings_text(Y2, f"history: {path}\n")))
        result = run_batch(folder, settings, workers=1)
        hits = [f for f in result.units[0].findings if f.code == "HISTORY_MISMATCH" and f.input == "8.6.a2"]
        assert len(hits) == expected
        assert all("专家核定值" in f.message for f in hits)
        assert result.history.previous[result.units[0].id].stage == "final"


def test_migration_refuses_an_unsafe_or_foreign_file_in_chinese(tmp_path):
    bomb = wb.with_dtd_bomb(wb.write_filled(tmp_path / "ok.xlsx", wb.unit_values(0)), tmp_path / "bomb.xlsx")
    (tmp_path / "notes.xlsx").write_text("这不是工作簿", encoding="utf-8")
    res = CliRunner().invoke(cli, ["migrate", str(bomb), str(tmp_path / "notes.xlsx"), "--to", str(tmp_path / "m")])
    assert res.exit_code == 4 and "Traceback" not in res.output
    assert "未迁移：bomb.xlsx" in res.output and "未迁移：notes.xlsx" in res.output and "2 个文件未能迁移" in res.output
    assert not (tmp_path / "m").exists()


@given(st.sampled_from([i for i in RUBRIC.inputs if i.year_offset is not None and i.year_offset < 0]),
       st.integers(0, 1_000_000))
def test_a_prefilled_value_reads_back_as_the_value_on_record(inp, n):
    """Whatever a series held (percent to 4 decimals, ranks, scores to 2), the prefilled cell reads back the same."""
    from qc_batch.history.prefill import cell_value
    from qc_batch.read.cells import read_value

    if inp.kind == "rank":
        v = Fraction(n % 200 + 1)
    elif inp.kind == "pct":
        v = Fraction(n, 10_000)
    else:
        v = Fraction(n % 10_001, 100)
    assert read_value(inp, cell_value(inp, v)).value == v
