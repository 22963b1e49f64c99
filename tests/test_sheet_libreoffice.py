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
    return {k: v for k, v in expected.items() if not k.startswith("missing:")}


@pytest.fixture(scope="module")
def recalculated():
    rng = random.Random(20261123)
    sets = [random_sheet(RUBRIC, rng) for _ in range(N_SETS)]
    expected = [engine_view(cells) for cells in sets]
    names = set(run_lo({"file": str(TEMPLATE)})["names"])
    expected = [{k: v for k, v in e.items() if k in names} for e in expected]
    read = sorted(expected[0])
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
    assert {"不合格", "不予受理"} <= statuses
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
