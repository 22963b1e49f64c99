"""Write the fillable score sheet (``templates/score_sheet.xlsx``).

The workbook mirrors Table A.1 and is filled offline in Excel, WPS or
LibreOffice. Everything it shows comes from the rubric: labels, dropdowns,
validation limits and the live formulas (compiled by
:mod:`qc_batch.rubric.excel_formula`). The same writer fills the template with a
unit's values (samples, returned copies), storing the engine's results as the
formulas' cached values so that a program that does not recalculate on load
still shows the right numbers.

This module holds what every worksheet uses (:class:`SheetWriter`); each
worksheet has its own module: ``guide_sheet``, ``header_sheet``,
``scores_sheet``, ``summary_sheet`` and ``lists_sheet``. The writer emits plain
records of what it wrote (:attr:`SheetWriter.cells`, :attr:`SheetWriter.formula_cells`).
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from qc_batch import __version__
from qc_batch.engine.scoring import Policy
from qc_batch.rubric.model import Rubric, load_rubric
from qc_batch.sheet import guide_sheet, header_sheet, lists_sheet, scores_sheet, summary_sheet
from qc_batch.sheet import names as sn
from qc_batch.sheet.formats import DV_ERROR_MAX, DV_PROMPT_MAX, DV_TITLE_MAX, FONT, Formats, clip
from qc_batch.sheet.records import SHOW_VALUE, Fill, FormulaCell, cached_value

__all__ = ["FONT", "Fill", "SheetWriter", "build", "write_score_sheet"]

#: the private xlsxwriter method that :class:`_Worksheet` overrides, and the
#: parameters it is known to take (``tests/test_template.py`` checks them)
PREPARE_FORMULA = "_prepare_formula"
PREPARE_FORMULA_PARAMS = ("self", "formula", "expand_future_functions")


class _Worksheet(Worksheet):
    """xlsxwriter's worksheet with its formula preparation memoised: the template
    writes the same few hundred formulas for every unit's returned workbook.
    (xlsxwriter is pinned in ``setup.cfg`` to the versions this is tested with.)"""

    def _prepare_formula(self, formula, expand_future_functions=False):
        return _prepare_formula_cached(formula, expand_future_functions, self.use_future_functions)


@functools.lru_cache(maxsize=8192)
def _prepare_formula_cached(formula: str, expand: bool, future: bool) -> str:
    ws = Worksheet()
    ws.use_future_functions = future
    return getattr(Worksheet, PREPARE_FORMULA)(ws, formula, expand)


# xlsxwriter cannot lock a workbook's structure: the element is added to workbook.xml afterwards
_WORKBOOK_PR = re.compile(rb"(<workbookPr[^>]*/>)")
LOCK_STRUCTURE = b'<workbookProtection lockStructure="1"/>'


def write_score_sheet(path: str | Path, rubric: Rubric | None = None, *,
                      policy: Policy | None = None, fill: Fill | None = None) -> Path:
    """Write the score sheet to ``path`` and return it.

    ``policy`` supplies the national reference values and the 合理缺项 policy
    that the live formulas assume; ``fill`` puts a unit's values in.
    """
    rubric = rubric or load_rubric()
    policy = policy or Policy()
    fill = fill or Fill()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    build(buf, rubric, policy, fill)
    path.write_bytes(buf.getvalue())
    return path


def lock_structure(xlsx: bytes) -> bytes:
    """The workbook with its structure locked (sheets cannot be added, renamed, moved or deleted)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/workbook.xml" and b"<workbookProtection" not in data:
                data = _WORKBOOK_PR.sub(lambda m: m[1] + LOCK_STRUCTURE, data, count=1)
            dst.writestr(info, data)
    return out.getvalue()


def build(target: io.BytesIO, rubric: Rubric, policy: Policy, fill: Fill) -> SheetWriter:
    """Write the workbook into ``target`` (a binary buffer); return the writer, whose
    ``cells`` and ``formula_cells`` say where every named cell and formula went."""
    options = {"strings_to_formulas": False, "strings_to_urls": False, "in_memory": True}
    raw = io.BytesIO()
    wb = xlsxwriter.Workbook(raw, options)
    try:
        writer = SheetWriter(wb, rubric, policy, fill)
        writer.write()
    finally:
        wb.close()
    target.write(lock_structure(raw.getvalue()))
    return writer


class SheetWriter:
    """What every worksheet of the score sheet is written with."""

    def __init__(self, wb: xlsxwriter.Workbook, rubric: Rubric, policy: Policy, fill: Fill):
        self.wb, self.rubric, self.policy, self.fill = wb, rubric, policy, fill
        self.fmt = Formats(wb)
        self.na_policy = policy.na_policy
        self.formula_cells: list[FormulaCell] = []
        self.cells: dict[str, tuple[str, str]] = {}  # defined name -> (sheet, "H12")
        # A fixed creation date keeps regenerated templates identical.
        wb.set_properties({
            "title": rubric.title,
            "subject": rubric.standard,
            "author": "qc-batch",
            "company": "",
            "comments": f"{sn.TEMPLATE_ID} v{sn.TEMPLATE_VERSION}; rubric {rubric.version}",
            "created": dt.datetime(2026, 1, 1),
        })
        wb.set_custom_property("qc_template_id", sn.TEMPLATE_ID)
        wb.set_custom_property("qc_template_version", sn.TEMPLATE_VERSION)
        wb.set_custom_property("qc_rubric_id", rubric.id)
        wb.set_custom_property("qc_rubric_version", rubric.version)
        wb.set_custom_property("qc_generator", f"qc-batch {__version__}")

    # helpers -------------------------------------------------------------
    def fw(self, ws, row: int, col: int, formula: str, fmt, key: str = "", default: Any = 0, *,
           show: str = SHOW_VALUE, scale: float = 1.0, text: str = "", alt_key: str = "",
           alt_text: str = "") -> None:
        """Write a formula with its cached result, and record which result it shows
        (so a returned workbook can update every cached result; see returned_patch.py)."""
        cell = FormulaCell(ws.name, xl_rowcol_to_cell(row, col), key, default, show, scale, text, alt_key, alt_text)
        ws.write_formula(row, col, formula, fmt, cached_value(cell, self.fill))
        self.formula_cells.append(cell)

    def name(self, name: str, sheet: str, row: int, col: int) -> None:
        self.cells[name] = (sheet, xl_rowcol_to_cell(row, col))
        self.wb.define_name(name, f"='{sheet}'!{xl_rowcol_to_cell(row, col, True, True)}")

    def put_value(self, ws, row: int, col: int, name: str, fmt) -> None:
        v = self.fill.values.get(name)
        if v is None or v == "":
            ws.write_blank(row, col, None, fmt)
        elif isinstance(v, bool):
            ws.write_boolean(row, col, v, fmt)
        elif isinstance(v, (int, float, Fraction)):
            ws.write_number(row, col, float(v), fmt)
        elif isinstance(v, (dt.datetime, dt.date)):
            d = v if isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day)
            ws.write_datetime(row, col, d, self.fmt.input_date)
        else:
            ws.write_string(row, col, str(v), fmt)  # never a formula
        note = self.fill.notes.get(name)
        if note:
            ws.write_comment(row, col, note, {"x_scale": 2.2, "y_scale": 1.6, "font_name": FONT, "font_size": 9})
            ws.conditional_format(row, col, row, col, {"type": "formula", "criteria": "=TRUE",
                                                       "format": self.fmt.flagged})
        elif self.fill.sources.get(name):  # a prefilled value: a plain comment naming its source
            ws.write_comment(row, col, self.fill.sources[name], {"x_scale": 1.6, "font_name": FONT, "font_size": 9})

    def validation(self, ws, row: int, col: int, opts: dict[str, Any], title: str, prompt: str,
                   error: str, *, last_row: int | None = None, error_type: str = "stop") -> None:
        opts = dict(opts)
        opts.update({
            "input_title": clip(title, DV_TITLE_MAX),
            "input_message": clip(prompt, DV_PROMPT_MAX),
            "error_title": clip("输入有误", DV_TITLE_MAX),
            "error_message": clip(error, DV_ERROR_MAX),
            "error_type": error_type,
            "show_error": True,
            "show_input": True,
        })
        ws.data_validation(row, col, row if last_row is None else last_row, col, opts)

    @staticmethod
    def dd_name(code: str) -> str:
        return "QC_DD_" + code.replace(".", "_")

    def page_setup(self, ws, *, repeat: tuple[int, int] | None, landscape: bool, scale: int | None = None) -> None:
        """A4; ``scale`` (%) with the sheet's own page breaks, else one page wide (Excel ignores
        manual page breaks when it fits to pages)."""
        ws.set_paper(9)  # A4
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        if scale is None:
            ws.fit_to_pages(1, 0)
            ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        else:
            ws.set_print_scale(scale)
            ws.set_margins(left=0.3, right=0.3, top=0.55, bottom=0.55)
        ws.set_header(f"&L&8{self.rubric.title}&R&8&A")
        ws.set_footer("&C&8第 &P 页，共 &N 页")
        if repeat:
            ws.repeat_rows(*repeat)

    # sheets --------------------------------------------------------------
    def write(self) -> None:
        if self.fill.extra_sheet is not None:
            self.fill.extra_sheet(self.wb)
        add = functools.partial(self.wb.add_worksheet, worksheet_class=_Worksheet)
        guide = add(sn.SHEET_GUIDE)
        header = add(sn.SHEET_HEADER)
        scores = add(sn.SHEET_SCORES)
        summary = add(sn.SHEET_SUMMARY)
        lists = add(sn.SHEET_LISTS)
        lists_sheet.write(self, lists)
        header_sheet.write(self, header)
        scores_sheet.write(self, scores)
        summary_sheet.write(self, summary)
        guide_sheet.write(self, guide)
        if self.fill.extra_sheet is None:
            header.activate()
