"""The template in a real spreadsheet program: LibreOffice Calc, headless.

Fills the committed template with many generated fact sets, recalculates it in
LibreOffice and checks every live formula against the Python engine, and that
no formula evaluates to an error.
"""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import pytest

from qc_batch.engine.scoring import Policy
from qc_batch.read.cells import read_value
from qc_batch.read.sheet_data import cached_results, interpret
from qc_batch.rubric.excel_formula import ref_name
from qc_batch.rubric.model import load_rubric
from qc_batch.sheet import live
from qc_batch.sheet import names as sn

from .lo.bridge import run_lo
from .sheet_facts import random_sheet

pytestmark = pytest.mark.libreoffice

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "score_sheet.xlsx"
RUBRIC = load_rubric()
N_SETS = 240


def engine_view(cells: dict) -> dict:
    refs = {}
    for ref in ("export_notification_ratio_national", "special_equipment_death_rate_national"):
        v = cells.get(ref_name(ref))
        refs[ref] = None if v is None else Fraction(repr(v))
    data = interpret(RUBRIC, cells)
    expected = cached_results(RUBRIC, data, Policy(refs=refs))
    # a read cell of an unreadable entry may hold a number the batch refuses (-5): the batch
    # reports it (VALUE_UNREADABLE), and the scores that use it are compared all the same
    return {k: v for k, v in expected.items()
            if not k.startswith(("missing:", "awaiting:")) and not (k.endswith("_READ") and v == "")}


@pytest.fixture(scope="module")
def recalculated():
    rng = random.Random(20261123)
    sets = [random_sheet(RUBRIC, rng) for _ in range(N_SETS)]
    expected = [engine_view(cells) for cells in sets]
    names = set(run_lo({"file": str(TEMPLATE)})["names"])
    expected = [{k: v for k, v in e.items() if k in names} for e in expected]
    read = sorted(set().union(*expected))
    jobs = [{"set": cells, "read": read, "check_errors": True} for cells in sets]
    answer = run_lo({"file": str(TEMPLATE), "jobs": jobs})
    return sets, expected, answer


def test_template_opens_with_all_sheets_and_names(recalculated):
    _sets, _expected, answer = recalculated
    assert answer["sheets"] == [sn.SHEET_GUIDE, sn.SHEET_HEADER, sn.SHEET_SCORES, sn.SHEET_SUMMARY, sn.SHEET_LISTS]
    names = set(answer["names"])
    for inp in RUBRIC.inputs:
        assert inp.name in names
    for ind in RUBRIC.indicators:
        assert {ind.claim_name, ind.evidence_name, ind.score_name} <= names
    core = {sn.NAME_TOTAL, sn.NAME_RAW_TOTAL, sn.NAME_STATUS, sn.NAME_NA_POINTS, sn.NAME_BEST_TOTAL,
            sn.NAME_MISSING_COUNT, sn.NAME_CLAIM_TOTAL} | {f"QC_GROUP_{g.number}" for g in RUBRIC.groups}
    assert core <= names
    assert answer["errors_on_load"] == []
    assert answer["protected"] == answer["sheets"]


def test_formulas_agree_with_engine_on_generated_fact_sets(recalculated):
    sets, expected, answer = recalculated
    assert len(answer["results"]) == len(sets) >= 200
    mismatches = []
    for k, (_cells, want, got) in enumerate(zip(sets, expected, answer["results"], strict=True)):
        assert got["missing_names"] == []
        assert got["errors"] == [], f"fact set {k}: formula errors {got['errors'][:3]}"
        for name, value in want.items():
            actual = got["values"][name]
            if isinstance(value, str):
                ok = actual == value
            else:
                ok = isinstance(actual, float) and abs(actual - float(value)) < 1e-9
            if not ok:
                mismatches.append((k, name, value, actual))
    from collections import Counter
    by_name = Counter(m[1] for m in mismatches)
    assert mismatches == [], f"{len(mismatches)} mismatches {by_name.most_common(12)}, first: {mismatches[:10]}"


def test_generated_sets_reach_the_boundaries(recalculated):
    """The fact sets are not trivial: thresholds are hit exactly and most statuses occur."""
    sets, expected, _answer = recalculated
    on_threshold = 0
    for cells in sets:
        for inp in RUBRIC.inputs:
            value = read_value(inp, cells[inp.name]).value
            if value is not None and value in RUBRIC.thresholds(inp.code):
                on_threshold += 1
    assert on_threshold > 200
    statuses = {e[sn.NAME_STATUS] for e in expected}
    assert {live.INCOMPLETE, "不予受理"} <= statuses  # the random sets leave inputs blank
    scores = {name: {e[name] for e in expected} for name in expected[0] if name.endswith("_SCORE")}
    varied = [name for name, seen in scores.items() if len(seen) > 1]
    assert len(varied) >= 45


def test_rows_inserted_and_saved_by_libreoffice_do_not_change_scores(tmp_path):
    """Ingest finds inputs by name: a sheet with inserted rows, saved by a real client, scores the same."""
    import yaml

    from qc_batch.batch.run import run_batch
    from qc_batch.settings import parse_settings

    from . import workbooks as wb

    src = wb.write_filled(tmp_path / "原表.xlsx", wb.unit_values(0))
    folder = tmp_path / "input"
    folder.mkdir()
    moved = folder / "插入行后.xlsx"
    run_lo({"file": str(src), "insert_rows": [[sn.SHEET_SCORES, 5, 3], [sn.SHEET_SCORES, 40, 2],
                                              [sn.SHEET_HEADER, 2, 2]],
            "save_as": str(moved)})
    settings = parse_settings(yaml.safe_load(wb.SETTINGS_YAML))
    original = run_batch(src.parent, settings, workers=1)
    after = run_batch(folder, settings, workers=1)
    (u0,) = [u for u in original.units if u.entry.file == src.name]
    (u1,) = after.units
    assert u1.sheet.cells[RUBRIC.inputs[5].name] != u0.sheet.cells[RUBRIC.inputs[5].name]  # really moved
    assert u1.sheet.data.facts == u0.sheet.data.facts
    assert u1.score.total == u0.score.total
    assert {c: s.points for c, s in u1.score.indicators.items()} == {c: s.points for c, s in u0.score.indicators.items()}


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _messy(inp, value, rng: random.Random):
    """``value`` typed the way officials type it: text, full-width, units, symbols."""
    if inp.kind == "bool" and isinstance(value, str):
        truth = read_value(inp, value).value
        if truth is None:
            return value
        return rng.choice(("ＹＥＳ", "✓", "✔", "真", " 是 ", "yes") if truth else ("ｎｏ", "x", "✘", "假", "否 ", "No"))
    if inp.kind == "tier" and isinstance(value, str) and value[:1].isalpha():
        return rng.choice((_full_width(value[0].lower()), value[0].lower(), " " + value))
    if value is None or isinstance(value, (str, bool)):
        return value
    if inp.kind == "pct":
        pct = value * 100 if value <= 1 else value
        text = f"{pct:g}"
        forms = [text + "%", _full_width(text + "%"), text + "％", f"{value:g}", f" {text} "]
    elif inp.kind in ("int", "rank"):
        if value < 0 or value != int(value):
            return value
        n = int(value)
        forms = [str(n), f"{n}个", _full_width(str(n)), f"第{n}名" if inp.kind == "rank" else f"{n}项",
                 f"{n:,}" if n >= 1000 else f"{n}次"]
    else:
        forms = [f"{value:g}", f"{value:,}", _full_width(f"{value:g}"), f"{value:g}{inp.unit or ''}"]
    return rng.choice(forms)


@pytest.fixture(scope="module")
def messy():
    """Fact sets typed as text the way the review found them (81.5%, ９５．８, 98.8％, 3个, "98", 20分)."""
    rng = random.Random(20261201)
    sets = []
    for _ in range(60):
        cells = random_sheet(RUBRIC, rng)
        for inp in RUBRIC.inputs:
            if rng.random() < 0.7:
                cells[inp.name] = _messy(inp, cells[inp.name], rng)
        for ind in RUBRIC.indicators:
            claim = cells.get(ind.claim_name)
            if isinstance(claim, (int, float)) and rng.random() < 0.5:
                cells[ind.claim_name] = rng.choice((f"{claim:g}分", _full_width(f"{claim:g}"), f"{claim:g}"))
        sets.append(cells)
    expected = [engine_view(cells) for cells in sets]
    names = set(run_lo({"file": str(TEMPLATE)})["names"])
    expected = [{k: v for k, v in e.items() if k in names} for e in expected]
    read = sorted(set().union(*expected))
    answer = run_lo({"file": str(TEMPLATE), "jobs": [{"set": c, "read": read, "check_errors": True} for c in sets]})
    return sets, expected, answer


def test_messy_entry_live_scores_equal_the_batch(messy):
    """Issue 12: text percents, full-width digits, thousands separators and units read alike
    in the sheet's live formulas and in the batch: no silent difference."""
    sets, expected, answer = messy
    typed_as_text = sum(isinstance(v, str) for cells in sets for v in cells.values())
    assert typed_as_text > 1000
    diffs = []
    for k, (want, got) in enumerate(zip(expected, answer["results"], strict=True)):
        assert got["errors"] == [], f"fact set {k}: formula errors {got['errors'][:3]}"
        for name, value in want.items():
            actual = got["values"][name]
            ok = actual == value if isinstance(value, str) else (
                isinstance(actual, float) and abs(actual - float(value)) < 1e-9)
            if not ok:
                diffs.append((k, name, value, actual, {n: sets[k].get(n) for n in sets[k] if n in name}))
    assert diffs == [], f"{len(diffs)} differences, first: {diffs[:8]}"


def test_live_verdict_is_honest(tmp_path):
    """Issue 12: a blank sheet is 尚未填写 (not a red 不合格); a total under the pass mark that
    ranking, the national reference values or the experts could lift awaits the province; the
    sheet's verdict is the engine's live verdict for every sample unit, with and without the
    province's reference values."""
    from . import workbooks as wb

    units = [wb.unit_values(k) for k in range(len(wb._units()))]
    for k in (3, 4):  # complete sheets that cannot pass: every yes/no answered 否
        units[k] = {n: ("否" if v == "是" else v) for n, v in units[k].items()}
    names = sorted({n for u in units for n in u if n.startswith("QC_") and n != "QC_DATE"}
                   | {i.name for i in RUBRIC.inputs})
    cells = [dict.fromkeys(names)] + [{n: u.get(n) for n in names} for u in units]
    read = [sn.NAME_STATUS, sn.NAME_TOTAL, sn.NAME_UPPER_TOTAL]
    seen = set()
    for refs in ({}, dict(wb.POLICY.refs)):
        template = tmp_path / f"t{len(refs)}.xlsx"
        from qc_batch.sheet.writer import write_score_sheet

        write_score_sheet(template, RUBRIC, policy=Policy(refs=refs))
        answer = run_lo({"file": str(template), "jobs": [{"set": c, "read": read} for c in cells]})
        for c, got in zip(cells, answer["results"], strict=True):
            want = cached_results(RUBRIC, interpret(RUBRIC, {n: v for n, v in c.items() if v is not None}),
                                  Policy(refs=refs))
            assert got["values"][sn.NAME_STATUS] == want[sn.NAME_STATUS]
            assert got["values"][sn.NAME_UPPER_TOTAL] == pytest.approx(want[sn.NAME_UPPER_TOTAL])
            seen.add(want[sn.NAME_STATUS])
        assert answer["results"][0]["values"][sn.NAME_STATUS] == live.BLANK
    assert {live.BLANK, live.AWAITING, "合格", "不合格"} <= seen, seen


def test_returned_workbook_live_scores_equal_its_audit_sheet(tmp_path):
    """Issue 12: a unit that typed numbers as text gets TEXT_NUMBER notes, and its returned
    workbook holds those numbers as numbers, so that its own live scores, recalculated by a
    real spreadsheet program, equal the 审核结果 (the ranking items apart: they wait for the province)."""
    import yaml

    from qc_batch.batch.run import run_batch
    from qc_batch.outputs.report_data import build_views
    from qc_batch.outputs.returned import write_returned
    from qc_batch.settings import parse_settings

    from . import workbooks as wb

    values = wb.unit_values(0)
    typed = {}
    for inp in RUBRIC.inputs:
        v = values.get(inp.name)
        if inp.kind in ("pct", "int", "num") and isinstance(v, (int, float)) and not isinstance(v, bool) and v > 1:
            typed[inp.name] = _full_width(f"{v:g}") + ("％" if inp.kind == "pct" else "")
    assert len(typed) >= 8
    folder = tmp_path / "input"
    wb.write_filled(folder / "文字数字.xlsx", {**values, **typed})
    result = run_batch(folder, parse_settings(yaml.safe_load(wb.SETTINGS_YAML)), workers=1)
    (u,) = result.units
    notes = {f.name for f in u.findings if f.code == "TEXT_NUMBER"}
    assert notes == set(typed)
    out = tmp_path / "returned.xlsx"
    write_returned(out, u, result.rubric, result.settings.policy, build_views(result).views[u.id])
    names = [i.name for i in RUBRIC.inputs] + [i.score_name for i in RUBRIC.indicators]
    answer = run_lo({"file": str(out), "jobs": [{"read": names, "check_errors": True}]})
    (got,) = answer["results"]
    assert got["errors"] == []
    for name in typed:
        assert isinstance(got["values"][name], float), name  # a number cell now
    for ind in RUBRIC.indicators:
        if not ind.is_ranked:
            assert got["values"][ind.score_name] == pytest.approx(float(u.score.indicators[ind.code].points)), ind.code
