"""Write the fillable score sheet (``templates/score_sheet.xlsx``).

The workbook mirrors Table A.1 and is filled offline in Excel, WPS or
LibreOffice. Everything it shows comes from the rubric: labels, dropdowns,
validation limits and the live formulas (compiled by
:mod:`qc_batch.rubric.excel_formula`). The same writer fills the template with a
unit's values (samples, returned copies), storing the engine's results as the
formulas' cached values so that a program that does not recalculate on load
still shows the right numbers.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from qc_batch import __version__
from qc_batch.engine.scoring import Policy
from qc_batch.read.cells import FALSE_WORDS, TRUE_WORDS
from qc_batch.rubric.excel_formula import NO_LIST, YES_LIST, Compiler, ref_name
from qc_batch.rubric.expr import REFERENCES
from qc_batch.rubric.model import KIND_LABELS, Indicator, Input, Rubric, load_rubric
from qc_batch.rubric.regions import hunan
from qc_batch.sheet import names as sn

FONT = "宋体"
# Excel's limits for data validation texts; longer ones make Excel "repair" the file.
DV_TITLE_MAX = 32
DV_PROMPT_MAX = 255
DV_ERROR_MAX = 225

# 评分表 columns (0-based)
COL_GROUP, COL_CODE, COL_TITLE, COL_MAX, COL_METHOD = 0, 1, 2, 3, 4
COL_INPUT_CODE, COL_LABEL, COL_VALUE, COL_SCORE, COL_CLAIM, COL_EVIDENCE, COL_HINT = range(5, 12)
COL_MISSING, COL_BEST = 12, 13
SCORE_COLUMNS = [
    ("类别", 7), ("编号", 6), ("指标内容", 20), ("分值", 5), ("考核评分方法（标准原文）", 42),
    ("填报项编号", 8), ("填报项目", 28), ("填报值", 24), ("计算得分", 8), ("自评分", 8),
    ("佐证材料（文件名称、文号）", 26), ("提示", 10), ("缺填", 5), ("最高可得", 8),
]
HEADER_ROW = 3  # 0-based row of the column headings on 评分表
LINE_PT = 13.5


@functools.lru_cache(maxsize=4096)
def text_width(s: str) -> int:
    """Display width in Excel character units: CJK and full-width count double."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in s)


@functools.lru_cache(maxsize=4096)
def lines_needed(s: str, col_width: float) -> int:
    usable = max(col_width - 1, 1)
    return sum(max(1, math.ceil(text_width(part) / usable)) for part in str(s).split("\n"))


def clip(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


@dataclass
class Fill:
    """Values to put into the template, keyed by defined name (raw cell content)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    cached: Mapping[str, Any] = field(default_factory=dict)  # formula results by name
    notes: Mapping[str, str] = field(default_factory=dict)   # name -> audit comment (returned sheets)
    extra_sheet: Callable[[xlsxwriter.Workbook], None] | None = None  # e.g. the 审核结果 sheet, written first


class _Worksheet(Worksheet):
    """xlsxwriter's worksheet with its formula preparation memoised: the template
    writes the same few hundred formulas for every unit's returned workbook."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        return _prepare_formula_cached(formula, expand_future_functions, self.use_future_functions)


@functools.lru_cache(maxsize=8192)
def _prepare_formula_cached(formula: str, expand: bool, future: bool) -> str:
    ws = Worksheet()
    ws.use_future_functions = future
    return Worksheet._prepare_formula(ws, formula, expand)


GUIDE_WIDTH = 72
UNIT_LINE = ('="被评价单位："&IF(LEN(QC_UNIT)=0,"（请先在“基本信息”填写）",QC_UNIT)'
             '&"    评价年度："&IF(LEN(QC_YEAR)=0,"",QC_YEAR)')


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"font_name": FONT, "font_size": 10, "valign": "vcenter", "text_wrap": True}
        border = {"border": 1, "border_color": "#808080"}

        def f(**kw: Any):
            return wb.add_format({**base, **kw})

        self.title = f(bold=True, font_size=16, align="center", text_wrap=False)
        self.subtitle = f(font_size=10, align="left", font_color="#404040", text_wrap=False)
        self.head = f(bold=True, align="center", bg_color="#D9E1F2", **border)
        self.cell = f(**border)
        self.center = f(align="center", **border)
        self.group = f(bold=True, align="center", bg_color="#F2F2F2", **border)
        self.method = f(font_size=9, **border)
        self.input = f(locked=False, bg_color="#FFF2CC", **border)
        self.input_num = f(locked=False, bg_color="#FFF2CC", num_format="0.####", **border)
        self.input_date = f(locked=False, bg_color="#FFF2CC", num_format="yyyy-mm-dd", **border)
        self.input_text = f(locked=False, bg_color="#FFF2CC", num_format="@", **border)
        self.score = f(bold=True, align="center", num_format="0.##", bg_color="#E2EFDA", **border)
        self.score_big = f(bold=True, font_size=14, align="center", num_format="0.0",
                           bg_color="#E2EFDA", **border)
        self.hint = f(font_color="#C00000", font_size=9, **border)
        self.small = f(font_size=9, font_color="#404040")
        self.para = f()
        self.para_bold = f(bold=True)
        self.status = f(bold=True, font_size=14, align="center", **border)
        self.pct = f(num_format="0.0%", align="center", **border)
        self.missing_fill = wb.add_format({"bg_color": "#F8CBAD"})
        self.flagged = wb.add_format({"bg_color": "#FF9999", "border": 2, "border_color": "#C00000"})
        self.over_claim = wb.add_format({"bg_color": "#FF7C80", "bold": True})
        self.hidden = f(font_color="#808080", **border)


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
    build(str(path), rubric, policy, fill)
    return path


def build(target: Any, rubric: Rubric, policy: Policy, fill: Fill) -> _Writer:
    """Write the workbook to ``target`` (a path or a binary file object); return the writer,
    whose ``cells`` and ``layout`` say where every named cell and formula went."""
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    if not isinstance(target, str):
        options["in_memory"] = True
    wb = xlsxwriter.Workbook(target, options)
    try:
        writer = _Writer(wb, rubric, policy, fill)
        writer.write()
    finally:
        wb.close()
    return writer


class _Writer:
    def __init__(self, wb: xlsxwriter.Workbook, rubric: Rubric, policy: Policy, fill: Fill):
        self.wb, self.rubric, self.policy, self.fill = wb, rubric, policy, fill
        self.fmt = _Formats(wb)
        self.na_policy = policy.na_policy
        self.layout: list[tuple[str, str, Callable[[_Writer], Any]]] = []  # formula cells
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
    def fw(self, ws, row: int, col: int, formula: str, fmt, value: Callable[[_Writer], Any]) -> None:
        """Write a formula with its cached result; ``value(writer)`` computes that result from
        the writer's fill, so a returned workbook can update every cached result (see returned.py)."""
        ws.write_formula(row, col, formula, fmt, value(self))
        self.layout.append((ws.name, xl_rowcol_to_cell(row, col), value))

    def name(self, name: str, sheet: str, row: int, col: int) -> None:
        self.cells[name] = (sheet, xl_rowcol_to_cell(row, col))
        self.wb.define_name(name, f"='{sheet}'!{xl_rowcol_to_cell(row, col, True, True)}")

    def cached(self, name: str, default: Any = 0) -> Any:
        return self.fill.cached.get(name, default)

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

    def input_validation(self, ws, row: int, col: int, inp: Input) -> None:
        title = f"{inp.code} {KIND_LABELS[inp.kind]}"
        unit = f"（单位：{inp.unit}）" if inp.unit and inp.unit != "%" else ""
        prompt = f"{inp.full_label}{unit}。请填写{inp.expected_text()}。"
        error = f"{inp.code} 应填写{inp.expected_text()}。"
        if inp.kind == "bool":
            opts = {"validate": "list", "source": "=QC_DD_YESNO"}
        elif inp.kind == "tier":
            opts = {"validate": "list", "source": "=" + self.dd_name(inp.code)}
            prompt = f"{inp.code} 请从下拉列表中选择一项：" + "；".join(
                f"{o.letter} {o.points}分" for o in inp.options)
            error = f"{inp.code} 请从下拉列表中选择一项，不要自行输入。"
        elif inp.kind == "pct":
            opts = {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 100}
        elif inp.kind == "int":
            opts = {"validate": "integer", "criteria": ">=", "value": 1 if inp.positive else 0}
        elif inp.kind == "rank":
            opts = {"validate": "integer", "criteria": ">=", "value": 1}
        elif inp.upper is not None:
            lo = 0.000001 if inp.positive else 0
            opts = {"validate": "decimal", "criteria": "between", "minimum": lo,
                    "maximum": float(inp.upper)}
        else:
            opts = {"validate": "decimal", "criteria": ">" if inp.positive else ">=", "value": 0}
        self.validation(ws, row, col, opts, title, prompt, error)

    @staticmethod
    def dd_name(code: str) -> str:
        return "QC_DD_" + code.replace(".", "_")

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
        self.write_lists(lists)
        self.write_header(header)
        self.write_scores(scores)
        self.write_summary(summary)
        self.write_guide(guide)
        if self.fill.extra_sheet is None:
            header.activate()

    def write_lists(self, ws) -> None:
        ws.hide()
        ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
        ws.set_column(0, 0, 24)
        ws.set_column(1, 30, 30)
        f = self.fmt
        ws.write_row(0, 0, ["模板信息", "值"], f.head)
        info = [
            (sn.NAME_TEMPLATE_ID, "模板标识", sn.TEMPLATE_ID),
            (sn.NAME_TEMPLATE_VERSION, "模板版本", sn.TEMPLATE_VERSION),
            (sn.NAME_RUBRIC_ID, "评分规则标识", self.rubric.id),
            (sn.NAME_RUBRIC_VERSION, "评分规则版本", self.rubric.version),
        ]
        for k, (name, label, value) in enumerate(info, start=1):
            ws.write_string(k, 0, label, f.cell)
            ws.write_string(k, 1, value, f.cell)
            self.name(name, sn.SHEET_LISTS, k, 1)
        row = len(info) + 2
        ws.write_row(row, 0, ["全国平均参考值", "值", "用于"], f.head)
        for k, (ref, about) in enumerate(REFERENCES.items(), start=row + 1):
            used_by = "、".join(self.rubric.reference_users(ref))
            ws.write_string(k, 0, f"{about.label}（{about.unit}）", f.cell)
            v = self.policy.refs.get(ref)
            if v is None:
                ws.write_blank(k, 1, None, f.cell)
            else:
                ws.write_number(k, 1, float(v), f.cell)
            ws.write_string(k, 2, used_by, f.cell)
            self.name(ref_name(ref), sn.SHEET_LISTS, k, 1)
        # one list per column, starting at row 12
        col = 3
        lists: list[tuple[str, str, list[str]]] = [
            (YES_LIST, "视为“是”的写法", list(TRUE_WORDS)),
            (NO_LIST, "视为“否”的写法", list(FALSE_WORDS)),
            ("QC_DD_YESNO", "是/否", ["是", "否"]),
            ("QC_DD_LEVEL", "层级", list(self.rubric.levels)),
            ("QC_DD_PARENT", "所属市州", list(hunan())),
        ]
        for ind in self.rubric.indicators:
            if ind.is_tier:
                lists.append((self.dd_name(ind.code), ind.code, [o.display for o in ind.inputs[0].options]))
        for name, label, items in lists:
            ws.write_string(0, col, label, f.head)
            for k, item in enumerate(items, start=1):
                ws.write_string(k, col, item)
            first = xl_rowcol_to_cell(1, col, True, True)
            last = xl_rowcol_to_cell(len(items), col, True, True)
            self.wb.define_name(name, f"='{sn.SHEET_LISTS}'!{first}:{last}")
            col += 1

    def write_header(self, ws) -> None:
        f = self.fmt
        ws.set_column(0, 0, 6)
        ws.set_column(1, 1, 30)
        ws.set_column(2, 2, 36)
        ws.set_column(3, 3, 40)
        ws.merge_range(0, 0, 0, 3, f"{self.rubric.title}——基本信息", f.title)
        ws.set_row(0, 28)
        ws.merge_range(1, 0, 1, 3, "黄色单元格为填写区域；其余单元格已锁定。填写完毕后请到“评分表”逐项填写。",
                       f.subtitle)
        ws.write_row(2, 0, ["序号", "项目", "填写内容", "说明"], f.head)
        row = 3
        for k, hf in enumerate(HEADER_FIELDS_ORDER, start=1):
            ws.write_number(row, 0, k, f.center)
            ws.write_string(row, 1, hf.label, f.cell)
            fmt = f.input_date if hf.kind == "date" else (f.input_num if hf.kind == "year" else f.input_text)
            self.put_value(ws, row, 2, hf.name, fmt)
            ws.write_string(row, 3, hf.hint, f.small)
            self.name(hf.name, sn.SHEET_HEADER, row, 2)
            self.header_validation(ws, row, hf)
            ws.set_row(row, 20)
            row += 1
        row += 1
        ws.merge_range(row, 0, row, 3, "不予受理情形（标准第15章）：近三年是否发生下列情况？有任一项为“是”的，不予受理。",
                       f.para_bold)
        ws.set_row(row, 30)
        row += 1
        ws.write_row(row, 0, ["序号", "情形", "是否发生（是/否）", "说明"], f.head)
        row += 1
        for k, text in enumerate(self.rubric.vetoes, start=1):
            name = sn.veto_name(k)
            ws.write_number(row, 0, k, f.center)
            ws.write_string(row, 1, text, f.cell)
            self.put_value(ws, row, 2, name, f.input)
            ws.write_string(row, 3, "如实填写；填“是”将导致不予受理", f.small)
            self.name(name, sn.SHEET_HEADER, row, 2)
            self.validation(ws, row, 2, {"validate": "list", "source": "=QC_DD_YESNO"},
                            f"不予受理情形{k}", f"近三年是否发生：{text}。请选择“是”或“否”。",
                            "请从下拉列表选择“是”或“否”。")
            ws.set_row(row, max(20, lines_needed(text, 30) * LINE_PT))
            row += 1
        first_veto = row - len(self.rubric.vetoes)
        ws.conditional_format(first_veto, 2, row - 1, 2, {"type": "blanks", "format": f.missing_fill})
        for k, hf in enumerate(HEADER_FIELDS_ORDER):
            cell = xl_rowcol_to_cell(3 + k, 2)
            if hf.name == "QC_PARENT":
                level = xl_rowcol_to_cell(3 + [h.name for h in HEADER_FIELDS_ORDER].index("QC_LEVEL"), 2)
                crit = f'=AND(TRIM({level})="县市区",LEN(TRIM({cell}))=0)'
            elif hf.required:
                crit = f"=LEN(TRIM({cell}))=0"
            else:
                continue
            ws.conditional_format(3 + k, 2, 3 + k, 2, {"type": "formula", "criteria": crit,
                                                       "format": f.missing_fill})
        self.page_setup(ws, repeat=None, landscape=False)
        ws.protect("", PROTECT)

    def header_validation(self, ws, row: int, hf: sn.HeaderField) -> None:
        if hf.kind == "level":
            self.validation(ws, row, 2, {"validate": "list", "source": "=QC_DD_LEVEL"},
                            "层级", "请选择“市州”或“县市区”。", "请从下拉列表选择“市州”或“县市区”。")
        elif hf.kind == "parent":
            self.validation(ws, row, 2, {"validate": "list", "source": "=QC_DD_PARENT"},
                            "所属市州", "县市区填写所属市州，可从下拉列表选择；市州不填。",
                            "所填市州不在列表中，请确认名称是否正确。", error_type="warning")
        elif hf.kind == "year":
            self.validation(ws, row, 2, {"validate": "integer", "criteria": "between",
                                         "minimum": 2000, "maximum": 2100},
                            "评价年度", "请填写四位数年份，如 2026。", "评价年度应为 2000 到 2100 之间的四位数年份。")
        elif hf.kind == "date":
            self.validation(ws, row, 2, {"validate": "date", "criteria": "between",
                                         "minimum": dt.date(2000, 1, 1), "maximum": dt.date(2100, 12, 31)},
                            "填报日期", "请填写日期，如 2026-03-15。", "请填写有效日期，如 2026-03-15。")
        elif hf.kind == "email":
            cell = xl_rowcol_to_cell(row, 2)
            self.validation(ws, row, 2, {"validate": "custom",
                                         "value": f'=ISNUMBER(FIND("@",{cell}))'},
                            "联系邮箱", "请填写有效邮箱地址，如 zlk@example.gov.cn。审核报告将发送到此邮箱。",
                            "邮箱地址应包含“@”，请检查。", error_type="warning")
        else:
            self.validation(ws, row, 2, {"validate": "length", "criteria": "<=", "value": 100},
                            hf.label, hf.hint, f"{hf.label}不超过 100 个字。")

    def write_scores(self, ws) -> None:
        f = self.fmt
        for col, (_, width) in enumerate(SCORE_COLUMNS):
            ws.set_column(col, col, width)
        ws.set_column(COL_MISSING, COL_BEST, None, None, {"hidden": True})
        last_col = COL_HINT
        ws.merge_range(0, 0, 0, last_col, f"{self.rubric.title}（表A.1）", f.title)
        ws.set_row(0, 26)
        ws.merge_range(1, 0, 1, last_col, "", f.subtitle)
        self.fw(ws, 1, 0, UNIT_LINE, f.subtitle, _Writer._unit_line)
        ws.merge_range(2, 0, 2, last_col,
                       "黄色单元格为填写区域。计算得分由公式按填报值自动计算（含排名的指标按“未进入前列”计，"
                       "最终由省局汇总后确定）；自评分高于计算得分时标红，缺填时标橙。", f.subtitle)
        ws.write_row(HEADER_ROW, 0, [h for h, _ in SCORE_COLUMNS], f.head)
        ws.set_row(HEADER_ROW, 30)
        row = HEADER_ROW + 1
        first_data = row
        for group in self.rubric.groups:
            g_first = row
            for ind in group.indicators:
                row = self.write_indicator(ws, ind, row)
            if row - 1 > g_first:
                ws.merge_range(g_first, COL_GROUP, row - 1, COL_GROUP, group.name, f.group)
            else:
                ws.write_string(g_first, COL_GROUP, group.name, f.group)
        last_data = row - 1
        self.wb.define_name("QC_MISSING_FLAGS",
                            f"='{sn.SHEET_SCORES}'!{xl_rowcol_to_cell(first_data, COL_MISSING, True, True)}:"
                            f"{xl_rowcol_to_cell(last_data, COL_MISSING, True, True)}")
        # missing inputs (orange) and over-claims (red)
        miss = xl_rowcol_to_cell(first_data, COL_MISSING, False, True)
        ws.conditional_format(first_data, COL_VALUE, last_data, COL_VALUE,
                              {"type": "formula", "criteria": f"={miss}=1", "format": f.missing_fill})
        claim = xl_rowcol_to_cell(first_data, COL_CLAIM, False, True)
        score = xl_rowcol_to_cell(first_data, COL_SCORE, False, True)
        code = xl_rowcol_to_cell(first_data, COL_CODE, False, True)
        ws.conditional_format(first_data, COL_CLAIM, last_data, COL_CLAIM,
                              {"type": "formula", "criteria": f"=AND(ISNUMBER({claim}),{claim}>{score})",
                               "format": f.over_claim})
        ws.conditional_format(first_data, COL_CLAIM, last_data, COL_CLAIM,
                              {"type": "formula", "criteria": f'=AND({code}<>"",LEN({claim})=0)',
                               "format": f.missing_fill})
        ws.freeze_panes(HEADER_ROW + 1, COL_MAX + 1)
        self.page_setup(ws, repeat=(HEADER_ROW, HEADER_ROW), landscape=True)
        ws.print_area(0, 0, last_data, COL_HINT)
        ws.protect("", PROTECT)

    def _unit_line(self) -> str:
        unit = self.fill.values.get("QC_UNIT") or "（请先在“基本信息”填写）"
        year = self.fill.values.get("QC_YEAR") or ""
        if isinstance(year, float) and year.is_integer():
            year = int(year)
        return f"被评价单位：{unit}    评价年度：{year}"

    def write_indicator(self, ws, ind: Indicator, row: int) -> int:
        f = self.fmt
        comp = Compiler(ind)
        n = len(ind.inputs)
        first, last = row, row + n - 1
        for k, inp in enumerate(ind.inputs):
            r = row + k
            ws.write_string(r, COL_INPUT_CODE, inp.code, f.center)
            unit = f"（{inp.unit}）" if inp.unit else ""
            ws.write_string(r, COL_LABEL, f"{inp.full_label}{unit}", f.cell)
            fmt = f.input if inp.kind in ("bool", "tier") else f.input_num
            self.put_value(ws, r, COL_VALUE, inp.name, fmt)
            self.name(inp.name, sn.SHEET_SCORES, r, COL_VALUE)
            self.input_validation(ws, r, COL_VALUE, inp)
            mf = comp.missing_formula(inp)
            key, default = "missing:" + inp.code, 0 if mf == "0" else 1
            self.fw(ws, r, COL_MISSING, "=" + mf, f.hidden, lambda w, k=key, d=default: w.cached(k, d))
            hint_cell = xl_rowcol_to_cell(r, COL_MISSING)
            self.fw(ws, r, COL_HINT, f'=IF({hint_cell}=1,"请填写","")', f.hint,
                    lambda w, k=key, d=default: "请填写" if w.cached(k, d) else "")
        label_lines = [lines_needed(ws_label(inp), SCORE_COLUMNS[COL_LABEL][1]) for inp in ind.inputs]
        value_lines = [
            lines_needed(inp.options[0].display, SCORE_COLUMNS[COL_VALUE][1]) if inp.kind == "tier" else 1
            for inp in ind.inputs
        ]
        block_lines = max(lines_needed(ind.method, SCORE_COLUMNS[COL_METHOD][1]),
                          lines_needed(ind.title, SCORE_COLUMNS[COL_TITLE][1]))
        row_lines = [max(a, b) for a, b in zip(label_lines, value_lines, strict=True)]
        extra = max(0, block_lines - sum(row_lines))
        for k, lines in enumerate(row_lines):
            add = extra // n + (1 if k < extra % n else 0)
            ws.set_row(row + k, (lines + add) * LINE_PT + 4)

        def block(col: int, value: Any, fmt, kind: str = "string") -> None:
            if first == last:
                if kind == "number":
                    ws.write_number(first, col, value, fmt)
                else:
                    ws.write_string(first, col, value, fmt)
            else:
                ws.merge_range(first, col, last, col, value, fmt)

        block(COL_CODE, ind.code, f.center)
        block(COL_TITLE, ind.title, f.cell)
        block(COL_MAX, ind.max, f.center, "number")
        method = ind.method + (f"\n【说明】{ind.note}" if ind.note else "")
        if ind.expert:
            method += "\n【说明】由验收专家现场核定。"
        block(COL_METHOD, method, f.method)
        # score, claim and evidence: one (merged) cell per indicator
        for col, fmt in ((COL_SCORE, f.score), (COL_CLAIM, f.input_num), (COL_EVIDENCE, f.input)):
            if first != last:
                ws.merge_range(first, col, last, col, "", fmt)
        self.fw(ws, first, COL_SCORE, "=" + comp.score_formula(self.na_policy), f.score,
                lambda w, k=ind.score_name: w.cached(k, 0))
        self.name(ind.score_name, sn.SHEET_SCORES, first, COL_SCORE)
        self.put_value(ws, first, COL_CLAIM, ind.claim_name, f.input_num)
        self.name(ind.claim_name, sn.SHEET_SCORES, first, COL_CLAIM)
        self.validation(ws, first, COL_CLAIM, {"validate": "decimal", "criteria": "between",
                                               "minimum": 0, "maximum": ind.max},
                        f"{ind.code} 自评分", f"请填写本指标的自评分，0 到 {ind.max} 分。",
                        f"{ind.code} 自评分应在 0 到 {ind.max} 分之间。")
        self.put_value(ws, first, COL_EVIDENCE, ind.evidence_name, f.input)
        self.name(ind.evidence_name, sn.SHEET_SCORES, first, COL_EVIDENCE)
        self.validation(ws, first, COL_EVIDENCE, {"validate": "length", "criteria": "<=", "value": 2000},
                        f"{ind.code} 佐证材料", "列出支撑本指标得分的佐证材料（文件名称、文号），多个用分号隔开。"
                        "有得分而无佐证材料的，审核时将提示。", "佐证材料不超过 2000 字。")
        if ind.is_ranked:
            best = Compiler(ind, optimistic=True).score_formula(self.na_policy)
            best_name = sn.best_name(ind.code)
            self.fw(ws, first, COL_BEST, "=" + best, f.hidden, lambda w, k=best_name: w.cached(k, 0))
            self.name(sn.best_name(ind.code), sn.SHEET_SCORES, first, COL_BEST)
        return last + 1

    def write_summary(self, ws) -> None:
        f = self.fmt
        r = self.rubric
        ws.set_column(0, 0, 6)
        ws.set_column(1, 1, 30)
        ws.set_column(2, 5, 12)
        ws.set_column(6, 6, 40)
        ws.merge_range(0, 0, 0, 6, f"{r.title}——得分汇总", f.title)
        ws.set_row(0, 28)
        ws.merge_range(1, 0, 1, 6, "", f.subtitle)
        self.fw(ws, 1, 0, UNIT_LINE, f.subtitle, _Writer._unit_line)
        ws.write_row(3, 0, ["序号", "类别", "分值", "计算得分", "自评分合计", "得分率", "说明"], f.head)
        row = 4
        for g in r.groups:
            scores = ",".join(i.score_name for i in g.indicators)
            claims = ",".join(i.claim_name for i in g.indicators)
            ws.write_number(row, 0, g.number, f.center)
            ws.write_string(row, 1, g.name, f.cell)
            ws.write_number(row, 2, g.max, f.center)
            gname = f"QC_GROUP_{g.number}"
            self.fw(ws, row, 3, f"=SUM({scores})", f.score, lambda w, k=gname: w.cached(k, 0))
            self.name(gname, sn.SHEET_SUMMARY, row, 3)
            self.fw(ws, row, 4, f"=SUM({claims})", f.score, lambda w, k=gname + "_CLAIM": w.cached(k, 0))
            self.fw(ws, row, 5, f"={xl_rowcol_to_cell(row, 3)}/{g.max}", f.pct,
                    lambda w, k=gname, m=g.max: float(w.cached(k, 0)) / m)
            notes = []
            ranked = [i.code for i in g.indicators if i.is_ranked]
            if ranked:
                notes.append(f"{'、'.join(ranked)} 含排名项")
            if any(i.expert for i in g.indicators):
                notes.append("含验收专家核定项")
            ws.write_string(row, 6, "；".join(notes), f.small)
            row += 1
        g_first, g_last = 4, row - 1
        col_cell = lambda c: f"{xl_rowcol_to_cell(g_first, c)}:{xl_rowcol_to_cell(g_last, c)}"  # noqa: E731
        ws.write_string(row, 1, "合计", f.para_bold)
        ws.write_number(row, 2, r.total, f.center)
        self.fw(ws, row, 3, f"=SUM({col_cell(3)})", f.score, lambda w: w.cached(sn.NAME_RAW_TOTAL, 0))
        self.name(sn.NAME_RAW_TOTAL, sn.SHEET_SUMMARY, row, 3)
        self.fw(ws, row, 4, f"=SUM({col_cell(4)})", f.score, lambda w: w.cached(sn.NAME_CLAIM_TOTAL, 0))
        self.name(sn.NAME_CLAIM_TOTAL, sn.SHEET_SUMMARY, row, 4)
        row += 2
        na_terms = [Compiler(i).na_formula(self.na_policy) for i in r.indicators]
        na_terms = [t for t in na_terms if t != "0"] or ["0"]
        total = (f"ROUND(ROUND({sn.NAME_RAW_TOTAL}*{r.total}/({r.total}-{sn.NAME_NA_POINTS}),10),1)"
                 if self.na_policy == "prorate" else f"ROUND({sn.NAME_RAW_TOTAL},1)")
        vetoes = ",".join(f"{sn.veto_name(k)}" for k in range(1, len(r.vetoes) + 1))
        veto_test = "+".join(f'SUMPRODUCT(--(TRIM({sn.veto_name(k)})={YES_LIST}))'
                             for k in range(1, len(r.vetoes) + 1))
        best_terms = []
        for ind in r.indicators:
            best_terms.append(sn.best_name(ind.code) if ind.is_ranked else ind.score_name)
        ranked_codes = "、".join(i.code for i in r.indicators if i.is_ranked)
        na_note = ("按“比例折算”：总分 = 计算得分合计 × 1060 ÷（1060 − 合理缺项分值），四舍五入保留一位小数"
                   if self.na_policy == "prorate" else "合理缺项按满分计入")
        lines = [
            (sn.NAME_NA_POINTS, "合理缺项分值（3.5 无口岸）", "=" + "+".join(na_terms), f.score, na_note),
            (sn.NAME_TOTAL, "总分（本表测算）", "=" + total, f.score_big,
             f"含排名的指标（{ranked_codes}）按“未进入前列”计，最终以省局汇总结果为准"),
            (sn.NAME_BEST_TOTAL, "若排名项均居前列，最高可得", "=ROUND(" + "+".join(best_terms) + ",1)", f.score,
             "仅供参考：排名须与同级单位比较后确定"),
            ("QC_PASS_MARK", "合格线", f"={r.pass_mark}", f.score, f"总分 {r.pass_mark} 分及以上为合格"),
            ("QC_VETO_COUNT", "不予受理情形（填“是”的项数）", "=" + veto_test, f.score, "见“基本信息”第15章情形"),
            (sn.NAME_STATUS, "评价结论（本表测算）",
             f'=IF(QC_VETO_COUNT>0,"不予受理",IF({sn.NAME_TOTAL}>={r.pass_mark},"合格","不合格"))',
             f.status, "任一不予受理情形为“是”即不予受理"),
            (sn.NAME_MISSING_COUNT, "缺填项数", "=SUM(QC_MISSING_FLAGS)", f.score,
             "缺填的项目不得分；请在“评分表”中补齐标橙的单元格"),
        ]
        del vetoes
        for name, label, formula, fmt, note in lines:
            ws.write_string(row, 1, label, f.para_bold)
            default = 0 if name != sn.NAME_STATUS else "不合格"
            if name == "QC_PASS_MARK":
                default = r.pass_mark
            self.fw(ws, row, 3, formula, fmt, lambda w, k=name, d=default: w.cached(k, d))
            self.name(name, sn.SHEET_SUMMARY, row, 3)
            ws.merge_range(row, 4, row, 6, note, f.small)
            ws.set_row(row, 30)
            row += 1
        status_cell = xl_rowcol_to_cell(row - 2, 3)
        ws.conditional_format(status_cell, {"type": "cell", "criteria": "==", "value": '"合格"',
                                            "format": self.wb.add_format({"bg_color": "#C6EFCE",
                                                                          "font_color": "#006100"})})
        ws.conditional_format(status_cell, {"type": "cell", "criteria": "!=", "value": '"合格"',
                                            "format": self.wb.add_format({"bg_color": "#FFC7CE",
                                                                          "font_color": "#9C0006"})})
        row += 1
        refs_note = []
        for ref, about in REFERENCES.items():
            used_by = "、".join(self.rubric.reference_users(ref))
            v = self.policy.refs.get(ref)
            shown = "未提供，该项暂按0分计，由省局汇总时按年度设置计算" if v is None else f"{float(v):g}（{about.unit}）"
            refs_note.append(f"{used_by} 使用的{about.label}：{shown}")
        notes = [
            "说明：",
            f"1. 含排名的指标（{ranked_codes}）须与全省同级单位比较，单个工作簿无法确定；本表按“未进入前列”计分，"
            "“最高可得”按全部进入前列估算。",
            "2. " + "；".join(refs_note) + "。",
            "3. 5.4 和第11类由验收专家现场核定；本表按所填内容测算。",
            "4. 本表结果仅供自查，最终得分以省局审核重新计算的结果为准。",
        ]
        for line in notes:
            ws.merge_range(row, 0, row, 6, line, f.para)
            ws.set_row(row, max(18, lines_needed(line, 120) * LINE_PT))
            row += 1
        self.page_setup(ws, repeat=None, landscape=True)
        ws.protect("", PROTECT)

    def write_guide(self, ws) -> None:
        f = self.fmt
        r = self.rubric
        ws.set_column(0, 0, GUIDE_WIDTH)
        paras = guide_text(r)
        ws.write_string(0, 0, f"{r.title}——填表说明", f.title)
        ws.set_row(0, 28)
        for k, (text, bold) in enumerate(paras, start=1):
            ws.write_string(k, 0, text, f.para_bold if bold else f.para)
            ws.set_row(k, max(18, lines_needed(text, GUIDE_WIDTH) * LINE_PT + 2))
        self.page_setup(ws, repeat=None, landscape=False)
        ws.protect("", PROTECT)

    def page_setup(self, ws, *, repeat: tuple[int, int] | None, landscape: bool) -> None:
        ws.set_paper(9)  # A4
        if landscape:
            ws.set_landscape()
        else:
            ws.set_portrait()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_header(f"&L&8{self.rubric.title}&R&8&A")
        ws.set_footer("&C&8第 &P 页，共 &N 页")
        if repeat:
            ws.repeat_rows(*repeat)


PROTECT = {
    "select_locked_cells": True,
    "select_unlocked_cells": True,
    "format_columns": True,
    "format_rows": True,
}

HEADER_FIELDS_ORDER = sn.HEADER_FIELDS


def ws_label(inp: Input) -> str:
    unit = f"（{inp.unit}）" if inp.unit else ""
    return f"{inp.full_label}{unit}"


def guide_text(r: Rubric) -> list[tuple[str, bool]]:
    """The 填表说明 paragraphs: (text, bold)."""
    ranked = "、".join(i.code for i in r.indicators if i.is_ranked)
    return [
        (f"本表依据{r.standard}制作，共 {len(r.groups)} 类 {len(r.indicators)} 项指标，"
         f"总分 {r.total} 分，{r.pass_mark} 分及以上为合格。", False),
        ("一、填写步骤", True),
        ("1. 在“基本信息”工作表填写被评价单位、层级（市州或县市区）、所属市州（县市区填写）、评价年度、联系人、"
         "联系电话、联系邮箱和填报日期，并逐项回答四种“不予受理”情形。", False),
        ("2. 在“评分表”工作表逐项填写黄色单元格：每个指标可能有多个“填报项”，请在“填报值”列填写事实数据，"
         "不要直接填写分数；“计算得分”列由公式自动计算。", False),
        ("3. 每个指标在“自评分”列填写本单位的自评分，在“佐证材料”列列出支撑材料的名称或文号（多个用分号隔开）。", False),
        ("4. 在“得分汇总”工作表查看各类得分、总分测算和评价结论测算。", False),
        ("二、各列含义（评分表）", True),
        ("类别、编号、指标内容、分值、考核评分方法：摘自标准附录A表A.1，不可修改。", False),
        ("填报项编号、填报项目：本指标需要填写的事实；填报值：黄色，由您填写；计算得分：公式自动计算；"
         "自评分：您对本指标的自评分；佐证材料：支撑得分的材料清单；提示：缺填时显示“请填写”。", False),
        ("三、填报值的写法", True),
        ("是/否：从下拉列表选择“是”或“否”。", False),
        ("选项：从下拉列表选择一项，不要自行输入文字。", False),
        ("百分比：填写百分数的数值，如 97.5 表示 97.5%；也可以填写 0.975 或 97.5%。0 到 1 之间的数按比例理解"
         "（1 表示 100%）。", False),
        ("整数、名次：填写整数，如 3；名次从 1 开始。", False),
        ("数值：按“填报项目”中注明的单位填写，如“万元”“亿元”“万人”，不要带单位文字。", False),
        ("不适用或确实没有的，是/否项请选择“否”，数量请填 0，不要留空：留空视为缺填，缺填项不得分。", False),
        ("四、特别说明", True),
        (f"含排名的指标（{ranked}）需与全省同级单位比较，由省局汇总后确定；本表按“未进入前列”计分，"
         "“得分汇总”中另列“最高可得”。", False),
        ("3.5 第二项：无口岸的单位“本地有口岸”选择“否”，该项按合理缺项处理，总分按比例折算。", False),
        ("6.3、6.4 中与全国平均水平比较的项目，使用省局每年公布的全国平均值。", False),
        ("5.4 和第11类指标由验收专家现场核定，可先按实际情况填写。", False),
        ("五、保存和报送", True),
        ("1. 请使用 Excel 或 WPS 表格填写，保存为 .xlsx 格式（不要另存为 .xls、.et 或 .csv），不要设置打开密码。", False),
        ("2. 不要重命名、删除或移动工作表，不要删除行列；可以调整行高列宽。", False),
        ("3. 文件名建议为“单位名称_评价年度_质量强市评分表.xlsx”，报送至省市场监督管理局指定邮箱。", False),
        ("4. 省局将重新计算全部得分并逐项审核，审核报告和标注问题的工作簿将发回联系邮箱；修改后可再次报送。", False),
        (f"模板标识：{sn.TEMPLATE_ID}　模板版本：{sn.TEMPLATE_VERSION}　评分规则版本：{r.version}", False),
    ]
