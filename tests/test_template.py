"""The committed template: regenerated cell by cell, and what an official needs."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from qc_batch.rubric.model import load_rubric
from qc_batch.sheet import names as sn
from qc_batch.sheet.scores_sheet import print_scale
from qc_batch.sheet.writer import write_score_sheet

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "score_sheet.xlsx"
RUBRIC = load_rubric()


@pytest.fixture(scope="module")
def committed():
    return openpyxl.load_workbook(TEMPLATE)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "score_sheet.xlsx"
    write_score_sheet(path, RUBRIC)
    return openpyxl.load_workbook(path)


def cell_of(wb, name):
    sheet, ref = next(iter(wb.defined_names[name].destinations))
    return wb[sheet][ref.replace("$", "")]


def test_committed_template_is_what_the_generator_writes(committed, regenerated):
    """Regenerate and compare cell by cell: run ``qc-batch template`` after changing the rubric or writer."""
    assert committed.sheetnames == regenerated.sheetnames
    for ws in committed.worksheets:
        other = regenerated[ws.title]
        assert ws.max_row == other.max_row and ws.max_column == other.max_column, ws.title
        for row in ws.iter_rows():
            for cell in row:
                assert cell.value == other[cell.coordinate].value, f"{ws.title}!{cell.coordinate}"
        assert sorted(map(str, ws.merged_cells.ranges)) == sorted(map(str, other.merged_cells.ranges))
        assert [(d.sqref, d.formula1, d.prompt) for d in ws.data_validations.dataValidation] == \
               [(d.sqref, d.formula1, d.prompt) for d in other.data_validations.dataValidation]
    assert {n: d.attr_text for n, d in committed.defined_names.items()} == \
           {n: d.attr_text for n, d in regenerated.defined_names.items()}


def test_every_spec_name_points_at_one_cell(committed):
    names = committed.defined_names
    wanted = [i.name for i in RUBRIC.inputs]
    wanted += [n for ind in RUBRIC.indicators for n in (ind.claim_name, ind.evidence_name, ind.score_name)]
    wanted += [h.name for h in sn.HEADER_FIELDS] + [sn.veto_name(k) for k in range(1, 5)]
    for name in wanted:
        assert name in names, name
        dests = list(names[name].destinations)
        assert len(dests) == 1 and ":" not in dests[0][1], name
    assert len(RUBRIC.vetoes) == 4


def test_template_identity_is_stored(committed):
    assert cell_of(committed, sn.NAME_TEMPLATE_ID).value == sn.TEMPLATE_ID
    assert cell_of(committed, sn.NAME_TEMPLATE_VERSION).value == sn.TEMPLATE_VERSION
    assert cell_of(committed, sn.NAME_RUBRIC_VERSION).value == RUBRIC.version
    props = {p.name: p.value for p in committed.custom_doc_props.props}
    assert props["qc_template_id"] == sn.TEMPLATE_ID
    assert props["qc_rubric_version"] == RUBRIC.version


def test_input_cells_are_unlocked_and_everything_else_protected(committed):
    for ws in committed.worksheets:
        assert ws.protection.sheet, ws.title
        assert not ws.protection.password, "protection must have no password"
    inputs = [i.name for i in RUBRIC.inputs] + [h.name for h in sn.HEADER_FIELDS]
    inputs += [ind.claim_name for ind in RUBRIC.indicators] + [ind.evidence_name for ind in RUBRIC.indicators]
    for name in inputs:
        assert cell_of(committed, name).protection.locked is False, name
    for ind in RUBRIC.indicators:
        score = cell_of(committed, ind.score_name)
        assert score.protection.locked is not False
        assert str(score.value).startswith("="), ind.code


def _validations(wb):
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            yield ws, dv


def test_validations_stay_within_excel_limits(committed):
    seen = 0
    soft = {cell_of(committed, n).coordinate for n in ("QC_PARENT", "QC_EMAIL")}
    for _ws, dv in _validations(committed):
        seen += 1
        for title in (dv.promptTitle, dv.errorTitle):
            assert title is None or len(title) <= 32, title
        assert dv.prompt is None or len(dv.prompt) <= 255, dv.prompt
        assert dv.error is None or len(dv.error) <= 225, dv.error
        assert dv.showErrorMessage, dv.sqref
        # 所属市州 and 联系邮箱 only warn (a 市州 outside the list, an unusual address)
        assert dv.errorStyle in (None, "stop") or str(dv.sqref) in soft, dv.sqref
        if dv.type == "list":
            assert dv.formula1.startswith("QC_DD_"), "lists live on the hidden sheet"
    assert seen >= len(RUBRIC.inputs)


def test_every_input_has_a_validation_of_its_kind(committed):
    covered = {}
    for ws, dv in _validations(committed):
        for rng in dv.sqref.ranges:
            c1, r1, c2, r2 = range_boundaries(str(rng))
            for r in range(r1, r2 + 1):
                for c in range(c1, c2 + 1):
                    covered[(ws.title, r, c)] = dv
    for inp in RUBRIC.inputs:
        cell = cell_of(committed, inp.name)
        dv = covered[(cell.parent.title, cell.row, cell.column)]
        want = {"bool": "list", "tier": "list", "pct": "decimal", "int": "whole", "rank": "whole",
                "num": "decimal"}[inp.kind]
        assert dv.type == want, inp.code
        assert dv.prompt, inp.code


def test_print_setup_and_frozen_panes(committed):
    scores = committed[sn.SHEET_SCORES]
    assert scores.freeze_panes is not None
    assert scores.page_setup.orientation == "landscape"
    assert scores.page_setup.paperSize in (9, "9")
    assert scores.print_title_rows
    # issue 12: a fixed scale (Excel ignores page breaks when it fits to pages) at which 10-pt text
    # prints at 9 pt or more, and the pages break between indicators, never inside one
    assert not scores.sheet_properties.pageSetUpPr or not scores.sheet_properties.pageSetUpPr.fitToPage
    scale = int(scores.page_setup.scale)
    assert scale == print_scale() and scale >= 90
    breaks = [b.id for b in scores.row_breaks.brk]
    assert len(breaks) >= 10
    starts = {cell_of(committed, ind.score_name).row for ind in RUBRIC.indicators}
    assert all(b + 1 in starts for b in breaks)  # openpyxl: the break is after row b (1-based)
    assert scores.merged_cells  # the group label is merged again below each break
    groups = {g.name for g in RUBRIC.groups}
    for b in breaks:
        assert scores.cell(b + 1, 1).value in groups
    for ws in committed.worksheets:
        if ws.sheet_state == "visible":
            assert ws.page_setup.paperSize in (9, "9"), ws.title
    assert committed[sn.SHEET_LISTS].sheet_state == "hidden"


def test_score_table_mirrors_table_a1(committed):
    ws = committed[sn.SHEET_SCORES]
    texts = {str(c.value) for row in ws.iter_rows() for c in row if c.value is not None}
    for ind in RUBRIC.indicators:
        assert any(t.startswith(ind.method) for t in texts), ind.code  # verbatim, notes may follow
        assert ind.title in texts, ind.code
    for g in RUBRIC.groups:
        assert g.name in texts


def test_summary_shows_pass_mark_and_ranking_assumption(committed):
    ws = committed[sn.SHEET_SUMMARY]
    texts = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    assert str(RUBRIC.pass_mark) in texts
    assert "未进入前列" in texts and "排名" in texts


def test_workbook_structure_is_locked(committed):
    """Sheets cannot be renamed, moved or deleted (ingest finds them by name)."""
    assert committed.security is not None and committed.security.lockStructure


def test_the_private_xlsxwriter_method_the_writer_extends_is_unchanged():
    """``_Worksheet`` memoises xlsxwriter's private ``Worksheet._prepare_formula``; setup.cfg pins
    xlsxwriter to the tested versions, and this fails loudly when that method changes."""
    import inspect

    from xlsxwriter.worksheet import Worksheet

    from qc_batch.sheet import writer

    method = getattr(Worksheet, writer.PREPARE_FORMULA, None)
    assert method is not None, "xlsxwriter no longer has Worksheet._prepare_formula: update sheet/writer.py"
    assert tuple(inspect.signature(method).parameters) == writer.PREPARE_FORMULA_PARAMS
    ours, theirs = writer._Worksheet(), Worksheet()
    for ws in (ours, theirs):
        ws.use_future_functions = True
    for formula in ("=SUM(QC_A,QC_B)", "=IFERROR(CHOOSE(FIND(UPPER(LEFT(TRIM(X),1)),\"ABC\"),20,10,0),0)",
                    "=_xlfn.CONCAT(A1,B1)", "=CONCAT(A1,B1)"):
        for expand in (False, True):
            assert ours._prepare_formula(formula, expand) == theirs._prepare_formula(formula, expand), formula


def test_printed_text_is_at_least_9_points(committed):
    """Every font on the score table, times the print scale, is at least 9 pt."""
    ws = committed[sn.SHEET_SCORES]
    scale = int(ws.page_setup.scale) / 100
    sizes = {c.font.sz for row in ws.iter_rows(min_row=4, max_col=12) for c in row if c.value is not None}
    assert min(sizes) * scale >= 9, sizes


def test_number_formats_show_whole_numbers_without_a_point(committed):
    """0.#### shows 2026 as "2026." in Excel and WPS."""
    for ws in committed.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert not c.number_format.endswith("."), (ws.title, c.coordinate)
                assert c.number_format not in ("0.####", "0.##"), (ws.title, c.coordinate, c.number_format)


def test_dropdown_options_fit_the_column():
    """Long options are cut off in a dropdown: each option fits the 填报值 column, starting with its
    letter and points (the batch reads an option by its letter)."""
    from qc_batch.read.cells import read_tier
    from qc_batch.sheet.formats import text_width
    from qc_batch.sheet.scores_sheet import COL_VALUE, SCORE_COLUMNS, dropdown_items

    for inp in RUBRIC.inputs:
        if inp.kind == "tier":
            for option, item in zip(inp.options, dropdown_items(inp), strict=True):
                assert text_width(item) <= SCORE_COLUMNS[COL_VALUE][1] - 2, item
                assert item.startswith(f"{option.letter}（{option.points}分）")
                assert read_tier(inp, item).value == option.letter


def test_instructions_name_the_colours_the_sheet_shows(committed):
    from qc_batch.sheet.formats import INPUT_BG, MISSING_BG

    texts = " ".join(str(c.value) for ws in committed.worksheets for row in ws.iter_rows() for c in row if c.value)
    assert "浅黄色" in texts and "橙色" in texts
    assert INPUT_BG == "#FFF2CC" and MISSING_BG == "#F8CBAD"  # light yellow, orange
    assert "\n。" not in texts and "。。" not in texts


def test_parts_awaiting_the_national_reference_values_say_so(committed):
    """Issue 12: the committed template has no reference values; the inputs of the parts that
    compare with them show 待省局提供全国平均值, and the most the total could become counts them."""
    from qc_batch.rubric.excel_formula import ref_name
    from qc_batch.sheet.live import part_inputs, reference_parts
    from qc_batch.sheet.scores_sheet import AWAITING_TEXT, COL_HINT

    refs = reference_parts(RUBRIC)
    assert refs
    for ind, part, ref in refs:
        assert cell_of(committed, ref_name(ref)).value is None
        for code in part_inputs(ind, part):
            cell = cell_of(committed, RUBRIC.input(code).name)
            hint = cell.parent.cell(cell.row, COL_HINT + 1).value
            assert AWAITING_TEXT in hint and ref_name(ref) in hint, code
    upper = str(cell_of(committed, sn.NAME_UPPER_TOTAL).value)
    assert all(ref_name(ref) in upper for _i, _p, ref in refs)
    status = str(cell_of(committed, sn.NAME_STATUS).value)
    assert sn.NAME_UPPER_TOTAL in status and "待省局汇总确定" in status and "尚未填写" in status
