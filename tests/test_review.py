"""现场评审 (issue 13): review workbooks out of a run, the panel's verified facts back in.

The end-to-end test does the whole round as the bureau does it: ``qc-batch run``,
``qc-batch review``, three review workbooks filled through openpyxl and saved once by
LibreOffice (a corrected bool, a corrected count that moves the peers' ranks, a 5.4 tier,
one change without a reason, one review of an older submission), ``qc-batch run --reviews``.
The final result must equal a plain document-stage run on workbooks that hold the verified
facts: the engine, ranking included, is the only judge of points.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from qc_batch import codes
from qc_batch.batch.ingest import FileEntry
from qc_batch.engine.scoring import Policy
from qc_batch.review import names as rn
from qc_batch.review.apply import apply_review
from qc_batch.review.reader import read_review, read_reviews
from qc_batch.review.writer import document_ranks, review_workbook
from qc_batch.rubric.model import load_rubric
from tests.lo.bridge import run_lo
from tests.workbooks import SETTINGS_YAML, drop_defined_names, unit_values, write_filled

RUBRIC = load_rubric()
YEAR = 2026
UNITS = range(7)            # 长沙 株洲 湘潭 衡阳 邵阳 岳阳 常德: one level, seven peers
A, B, OLD = 0, 1, 5          # 长沙: bool + 5.4 + unreasoned change; 株洲: the count; 岳阳: re-submits


def qc(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qc_batch", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)


def fill(path: Path, values: dict[str, object]) -> None:
    """Type values into the cells of a workbook by their defined names, as a panel secretary would."""
    wb = openpyxl.load_workbook(path)
    for name, value in values.items():
        (sheet, ref), = list(wb.defined_names[name].destinations)
        wb[sheet][ref.replace("$", "")].value = value
    wb.save(path)


def submissions(folder: Path, changes: dict[int, dict[str, object]] | None = None) -> None:
    """The seven units' workbooks (``changes``: named-cell values replaced per unit)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.yaml").write_text(SETTINGS_YAML, encoding="utf-8")
    for k in UNITS:
        values = unit_values(k, **(changes or {}).get(k, {}))
        write_filled(folder / f"{values['QC_UNIT']}_{YEAR}.xlsx", values)


def first_bool_yes(k: int, skip: set[str]) -> str:
    values = unit_values(k)
    for ind in RUBRIC.indicators:
        for inp in ind.inputs:
            if inp.kind == "bool" and not ind.expert and values.get(inp.name) == "是" and inp.code not in skip:
                return inp.code
    raise AssertionError("no bool input answered 是")


BOOL = first_bool_yes(A, set())
UNREASONED = first_bool_yes(A, {BOOL})
TIER_C = next(o.display for o in RUBRIC.input("5.4").options if o.letter == "C")
COUNT = "5.2.a2"


def qc_name(code: str) -> str:
    return RUBRIC.input(code).name


def qr_name(code: str) -> str:
    return rn.value_name(RUBRIC.input(code))


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    root = tmp_path_factory.mktemp("review")
    submissions(root / "input")
    # 1. the document review
    proc = qc("run", "--quiet", cwd=root)
    assert proc.returncode == 0, proc.stderr
    document = json.loads((root / "output" / "results.json").read_text(encoding="utf-8"))
    # 2. the review workbooks
    proc = qc("review", cwd=root)
    assert proc.returncode == 0, proc.stderr
    made = sorted(p.name for p in (root / "review").iterdir())
    # 岳阳市 sends a corrected workbook after its review workbook was made
    newer = unit_values(OLD, QC_DATE=dt.datetime(2026, 4, 2))
    write_filled(root / "input" / f"岳阳市_{YEAR}_更正.xlsx", newer)
    # 3. the panel fills three of them; each is saved once by LibreOffice
    panel = root / "panel"
    panel.mkdir()
    filled = {
        "长沙市": {qr_name(BOOL): "否", qr_name(BOOL) + "_REASON": "现场核查未见相关文件",
                 qr_name("5.4"): TIER_C, "QR_5_4_REASON": "专家组评定为第三档",
                 qr_name(UNREASONED): "否",
                 rn.NAME_EXPERTS: "张三（组长）、李四", rn.NAME_DATE: dt.date(2026, 5, 20),
                 rn.NAME_OPINION: "创建工作扎实，部分佐证材料不足。"},
        "株洲市": {qr_name(COUNT): 40, qr_name(COUNT) + "_REASON": "核实名单，共 40 家",
                 rn.NAME_EXPERTS: "王五", rn.NAME_DATE: dt.date(2026, 5, 21)},
        "岳阳市": {qr_name("1.1"): "B", qr_name("1.1") + "_REASON": "规划尚在制定中",
                 rn.NAME_EXPERTS: "赵六", rn.NAME_DATE: dt.date(2026, 5, 22)},
    }
    lo = {}
    for unit, values in filled.items():
        src = root / "review" / f"{unit}_现场评审.xlsx"
        fill(src, values)
        request = {"file": str(src), "save_as": str(panel / src.name)}
        if unit == "长沙市":
            request["convert"] = str(root / "长沙市_现场评审.pdf")
        lo[unit] = run_lo(request)
    # 4. the final result
    proc = qc("run", "--reviews", "panel", cwd=root)
    assert proc.returncode == 0, proc.stderr
    final = json.loads((root / "output" / "results.json").read_text(encoding="utf-8"))
    return {"root": root, "document": document, "final": final, "made": made, "lo": lo, "stdout": proc.stdout}


def by_unit(results: dict) -> dict[str, dict]:
    return {u["unit"]: u for u in results["units"]}


def test_review_writes_one_workbook_per_accepted_unit(round_trip):
    units = [u["id"] for u in round_trip["document"]["units"]]
    assert round_trip["made"] == sorted(f"{i}_现场评审.xlsx" for i in units)
    assert round_trip["document"]["stage"] == "document"


def test_review_workbook_opens_in_libreoffice_without_formula_errors_and_renders(round_trip):
    answer = round_trip["lo"]["长沙市"]
    assert answer["errors_on_load"] == []
    assert rn.SHEET_REVIEW in answer["sheets"] and rn.SHEET_REVIEW in answer["protected"]
    assert {rn.NAME_EXPERTS, rn.NAME_OPINION, "QR_2_6_b", "QR_2_6_b_REASON", "QR_VETO_4"} <= set(answer["names"])
    pdf = round_trip["root"] / "长沙市_现场评审.pdf"
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils is not installed")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(pdf.with_suffix(""))],
                   check=True)
    page = next(pdf.parent.glob("长沙市_现场评审-*1.png"))
    assert page.stat().st_size > 20_000  # a page with text on it, not a blank sheet
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "现场评审表" in text and "长沙市" in text and "资料评审总分" in text


def test_final_stage_and_review_manifest(round_trip):
    final = round_trip["final"]
    assert final["stage"] == "final"
    reviews = {f["file"]: f for f in final["reviews"]}
    assert reviews["长沙市_现场评审.xlsx"]["status"] == "accepted"
    assert reviews["株洲市_现场评审.xlsx"]["status"] == "accepted"
    older = reviews["岳阳市_现场评审.xlsx"]
    assert older["status"] == "rejected" and older["reason_code"] == "REVIEW_SUBMISSION_OTHER"
    assert "岳阳市_2026_更正.xlsx" in older["reason"]
    assert by_unit(final)["岳阳市"]["review"] is None
    # the command line lists the rejected review and the change not applied
    out = round_trip["stdout"]
    assert "现场评审表 3 个：受理 2，被新版本替代 0，拒收 1" in out and "拒收评审表 岳阳市_现场评审.xlsx" in out
    assert "未采用的核定（长沙市）" in out and "Traceback" not in out


def test_changes_carry_the_audit_trail(round_trip):
    u = by_unit(round_trip["final"])["长沙市"]
    review = u["review"]
    assert review["file"] == "长沙市_现场评审.xlsx" and len(review["sha256"]) == 64
    assert review["submission_sha256"] == u["sha256"] and review["submission_file"] == u["file"]
    assert review["experts"] == "张三（组长）、李四" and review["date"] == "2026-05-20"
    changes = {c["input"]: c for c in review["changes"]}
    assert set(changes) == {BOOL, "5.4"}
    assert changes[BOOL]["submitted"] == "是" and changes[BOOL]["verified"] == "否"
    assert changes[BOOL]["reason"] == "现场核查未见相关文件"
    assert changes["5.4"]["points_before"] == 20 and changes["5.4"]["points_after"] == 5
    assert u["indicators"]["5.4"]["document_score"] == 20 and u["indicators"]["5.4"]["score"] == 5
    assert changes[BOOL]["cell"].startswith(rn.SHEET_REVIEW + "!")


def test_a_change_without_reason_is_not_applied_and_listed_on_the_review_cell(round_trip):
    u = by_unit(round_trip["final"])["长沙市"]
    missing = [f for f in u["findings"] if f["code"] == "REVIEW_REASON_MISSING"]
    assert [f["input"] for f in missing] == [UNREASONED]
    assert missing[0]["severity"] == codes.ERROR and missing[0]["name"] == qr_name(UNREASONED)
    assert missing[0]["cell"].startswith(rn.SHEET_REVIEW + "!")
    # the expert-rated inputs of group 11 left blank: the submitted values stand, with a warning
    blank = {f["input"] for f in u["findings"] if f["code"] == "REVIEW_EXPERT_BLANK"}
    assert blank == {i.code for ind in RUBRIC.indicators if ind.expert and ind.group == 11 for i in ind.inputs}


def test_final_scores_equal_the_engine_on_the_verified_facts_ranking_included(round_trip, tmp_path):
    root = round_trip["root"]
    verified = {A: {qc_name(BOOL): "否", "QC_5_4": TIER_C}, B: {qc_name(COUNT): 40}}
    submissions(tmp_path / "input", verified)
    shutil.copy(root / "input" / f"岳阳市_{YEAR}_更正.xlsx", tmp_path / "input")
    proc = qc("run", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    expected = by_unit(json.loads((tmp_path / "output" / "results.json").read_text(encoding="utf-8")))
    final = by_unit(round_trip["final"])
    assert set(final) == set(expected)
    for unit, u in final.items():
        e = expected[unit]
        assert (u["total"], u["status"], u["raw_total"]) == (e["total"], e["status"], e["raw_total"]), unit
        assert {c: i["score"] for c, i in u["indicators"].items()} == \
            {c: i["score"] for c, i in e["indicators"].items()}, unit
        assert u["ranking"] == e["ranking"], unit


def test_a_corrected_count_moves_the_peers_ranks(round_trip):
    document, final = by_unit(round_trip["document"]), by_unit(round_trip["final"])
    item = "5.2.a"
    assert final["株洲市"]["ranking"][item]["rank"] == 1 != document["株洲市"]["ranking"][item]["rank"]
    # peers without a review of their own change band, and points, all the same
    moved = [u for u in final if final[u]["review"] is None
             and final[u]["ranking"][item]["band"] != document[u]["ranking"][item]["band"]]
    assert moved, "no peer changed band"
    points = [u for u in moved if final[u]["indicators"]["5.2"]["score"] != final[u]["indicators"]["5.2"]["document_score"]]
    assert points and all(final[u]["total"] != document[u]["total"] for u in points)


def test_outputs_show_the_final_stage(round_trip):
    out = round_trip["root"] / "output"
    report = next((out / "reports").glob("长沙市*.md")).read_text(encoding="utf-8")
    assert "现场评审" in report and "现场核查未见相关文件" in report
    assert report.index("现场核查未见相关文件") < report.index("## 失分项")
    wb = openpyxl.load_workbook(out / "comparison.xlsx", read_only=True)
    assert {"现场评审调整", "公示名单"} <= set(wb.sheetnames)
    returned = openpyxl.load_workbook(next((out / "returned").glob("长沙市*.xlsx")))
    (sheet, ref), = list(returned.defined_names[qc_name(BOOL)].destinations)
    comment = returned[sheet][ref.replace("$", "")].comment
    assert comment is not None and "现场评审核定" in comment.text


# -- the reader and the rules, without LibreOffice ---------------------------------------


def _unit_json(k: int = 0) -> dict:
    """What results.json says of a unit, enough for :func:`review_workbook`."""
    values = unit_values(k)
    return {"id": values["QC_UNIT"], "unit": values["QC_UNIT"], "level": values["QC_LEVEL"], "parent": "",
            "year": YEAR, "file": "x.xlsx", "sha256": "ab" * 32, "document_total": 812.5,
            "document_status": "合格", "vetoes": [False] * 4, "findings": [],
            "indicators": {i.code: {"document_score": 1, "inputs": {}, "evidence": ""} for i in RUBRIC.indicators}}


def _review_file(tmp_path: Path, values: dict[str, object], name: str = "r.xlsx", **unit) -> Path:
    path = tmp_path / name
    path.write_bytes(review_workbook(RUBRIC, {**_unit_json(), **unit}, (1, 7), YEAR))
    fill(path, values)
    return path


ACCEPTED = {("市州", "", "长沙市"): FileEntry("x.xlsx", "accepted", sha256="ab" * 32, unit="长沙市", level="市州")}


def test_reader_rejects_another_year_an_unknown_unit_and_deleted_names(tmp_path):
    other_year = _review_file(tmp_path, {}, "y.xlsx", year=YEAR - 1)
    assert read_review(other_year, RUBRIC, YEAR, ACCEPTED).reason_code == "REVIEW_YEAR_OTHER"
    unknown = _review_file(tmp_path, {}, "u.xlsx", unit="不存在市")
    assert read_review(unknown, RUBRIC, YEAR, ACCEPTED).reason_code == "REVIEW_UNIT_UNKNOWN"
    full = _review_file(tmp_path, {}, "f.xlsx")
    cut = drop_defined_names(full, tmp_path / "cut.xlsx", ["QR_2_6_b"])
    assert read_review(cut, RUBRIC, YEAR, ACCEPTED).reason_code == "NAMES_MISSING"
    sheet = tmp_path / "s.xlsx"
    write_filled(sheet, unit_values(0))
    assert read_review(sheet, RUBRIC, YEAR, ACCEPTED).reason_code == "REVIEW_WRONG_TEMPLATE"
    for code in ("REVIEW_YEAR_OTHER", "REVIEW_UNIT_UNKNOWN", "REVIEW_WRONG_TEMPLATE", "REVIEW_SUBMISSION_OTHER"):
        assert codes.get(code).kind == codes.FILE


def test_the_later_review_of_a_unit_supersedes_the_earlier(tmp_path):
    folder = tmp_path / "panel"
    folder.mkdir()
    _review_file(folder, {rn.NAME_DATE: dt.date(2026, 5, 1)}, "early.xlsx")
    _review_file(folder, {rn.NAME_DATE: dt.date(2026, 5, 9)}, "late.xlsx")
    (folder / "~$late.xlsx").write_bytes(b"lock")
    got = read_reviews(folder, RUBRIC, YEAR, ACCEPTED)
    status = {f.file: (f.status, f.reason_code) for f in got.files}
    assert status == {"early.xlsx": ("superseded", "SUPERSEDED"), "late.xlsx": ("accepted", ""),
                      "~$late.xlsx": ("rejected", "FILE_LOCK")}
    assert got.reviews[("市州", "", "长沙市")].entry.file == "late.xlsx"


def test_document_rank_is_competition_ranking_within_the_level_without_vetoed_units():
    units = [{"id": i, "level": lv, "document_total": t, "document_status": st} for i, lv, t, st in (
        ("a", "市州", 900, "合格"), ("b", "市州", 850, "合格"), ("c", "市州", 850, "合格"),
        ("d", "市州", 950, "不予受理"), ("e", "县市区", 700, "不合格"))]
    assert document_ranks(units) == {"a": (1, 3), "b": (2, 3), "c": (2, 3), "d": (None, 3), "e": (1, 1)}


def _sheet(tmp_path: Path):
    from qc_batch.batch.ingest import process_file

    path = write_filled(tmp_path / "长沙市.xlsx", unit_values(0))
    s = process_file(str(path), YEAR, Policy())
    return s


def test_unreadable_verified_value_is_not_applied_and_a_veto_can_be_verified(tmp_path):
    s = _sheet(tmp_path)
    accepted = {("市州", "", "长沙市"): s.entry}
    path = _review_file(tmp_path, {qr_name(COUNT): "很多", "QR_VETO_2": "是", "QR_VETO_2_REASON": "查实存在该情形",
                                   "QR_5_4": "B", "QR_5_4_REASON": "第二档"}, sha256=s.entry.sha256)
    review = read_review(path, RUBRIC, YEAR, accepted)
    new, record = apply_review(RUBRIC, Policy(), s, review)
    unreadable = [f for f in record.findings if f.code == "VALUE_UNREADABLE"]
    assert [(f.input, f.name, f.value) for f in unreadable] == [(COUNT, qr_name(COUNT), "很多")]
    assert new.data.facts[COUNT] == s.data.facts[COUNT]
    assert [c.input for c in record.changes] == ["5.4", "veto.2"]
    assert new.score.status == "不予受理" and new.data.facts["5.4"] == "B"
    assert new.score.indicators["5.4"].points == 10


def test_a_verified_value_clears_the_finding_on_the_submitted_one_and_ingest_findings_stay(tmp_path):
    from qc_batch.batch.ingest import process_file

    path = write_filled(tmp_path / "长沙市.xlsx",
                        unit_values(0, **{qc_name(COUNT): "很多", "QC_DATE": dt.datetime(2099, 1, 1)}))
    s = process_file(str(path), YEAR, Policy())
    before = {(f.code, f.input) for f in s.findings}
    assert ("VALUE_UNREADABLE", COUNT) in before and ("DATE_IN_FUTURE", "") in before
    review_path = _review_file(tmp_path, {qr_name(COUNT): 12, qr_name(COUNT) + "_REASON": "核实为 12 家"},
                               sha256=s.entry.sha256)
    review = read_review(review_path, RUBRIC, YEAR, {("市州", "", "长沙市"): s.entry})
    new, record = apply_review(RUBRIC, Policy(), s, review)
    after = {(f.code, f.input) for f in new.findings}
    assert ("VALUE_UNREADABLE", COUNT) not in after and ("REVIEW_CHANGED", COUNT) in after
    assert ("DATE_IN_FUTURE", "") in after
    assert [(c.input, c.submitted, c.verified) for c in record.changes] == [(COUNT, "很多", "12")]


def test_the_review_folder_comes_from_the_option_or_the_settings(tmp_path):
    from qc_batch.errors import EXIT_IO, UserError
    from qc_batch.review.apply import stage_for
    from qc_batch.settings import SettingsError, load_settings

    (tmp_path / "panel").mkdir()
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(SETTINGS_YAML + "reviews: panel\n", encoding="utf-8")
    conf = load_settings(settings_file)
    assert stage_for(None, conf, settings_file).args[0] == tmp_path / "panel"
    assert stage_for(str(tmp_path), conf, settings_file).args[0] == tmp_path
    plain = tmp_path / "plain.yaml"
    plain.write_text(SETTINGS_YAML, encoding="utf-8")
    assert stage_for(None, load_settings(plain), plain) is None
    with pytest.raises(UserError) as err:
        stage_for(str(tmp_path / "nowhere"), conf, settings_file)
    assert err.value.exit_code == EXIT_IO and "现场评审表文件夹" in err.value.message
    bad = tmp_path / "bad.yaml"
    bad.write_text(SETTINGS_YAML + "reviews: 3\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="reviews"):
        load_settings(bad)


def test_review_without_a_run_says_what_to_do(tmp_path):
    proc = qc("review", "--output", "output", cwd=tmp_path)
    assert proc.returncode == 4 and "qc-batch run" in proc.stderr and "Traceback" not in proc.stderr


def test_a_review_that_takes_too_long_is_rejected_within_the_per_file_time_bound(tmp_path, monkeypatch):
    """Review workbooks are read under the same per-file time bound as submissions (FILE_TIMEOUT),
    and the bound cannot be swallowed by a catch-all on the way."""
    import contextlib
    import time

    from qc_batch.review import reader

    def slow(*_args, **_kwargs):
        with contextlib.suppress(Exception):  # a reader's catch-all must not stop the bound
            time.sleep(5)
        raise AssertionError("the time bound did not stop the read")

    monkeypatch.setattr(reader, "_review", slow)
    path = _review_file(tmp_path, {})
    entry = read_review(path, RUBRIC, YEAR, ACCEPTED, timeout=1)
    assert entry.reason_code == "FILE_TIMEOUT"  # not FILE_INTERNAL: the sleep was cut short by the bound
    assert entry.status == "rejected"
