"""The 评分表 sheet: Table A.1, one block of rows per indicator, with the live scores.

Laid out to print on A4 landscape with body text of at least 9 pt: the columns
are narrow enough for a print scale of about 95 %, the row heights are set
from the texts, and the pages break between indicators (the group's label is
repeated on the next page).
"""

from __future__ import annotations

import math
from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell

from qc_batch.rubric.excel_formula import (
    Compiler,
    claim_read_formula,
    claim_read_name,
    read_formula,
    read_name,
    ref_name,
)
from qc_batch.rubric.model import KIND_LABELS, Indicator, Input
from qc_batch.sheet import names as sn
from qc_batch.sheet.formats import LINE_PT, PROTECT, clip, lines_needed, text_width
from qc_batch.sheet.live import NUMERIC, awaiting_key, part_inputs, reference_parts
from qc_batch.sheet.records import SHOW_HINT, SHOW_UNIT_LINE, SHOW_VALUE, UNIT_LINE

# 评分表 columns (0-based)
COL_GROUP, COL_CODE, COL_TITLE, COL_MAX, COL_METHOD = 0, 1, 2, 3, 4
COL_INPUT_CODE, COL_LABEL, COL_VALUE, COL_SCORE, COL_CLAIM, COL_EVIDENCE, COL_HINT = range(5, 12)
COL_MISSING, COL_BEST, COL_READ, COL_CLAIM_READ = 12, 13, 14, 15  # hidden helpers
SCORE_COLUMNS = [
    ("类别", 5), ("编号", 5), ("指标内容", 14), ("分值", 4), ("考核评分方法（标准原文）", 32),
    ("填报项\n编号", 7), ("填报项目", 21), ("填报值", 20), ("计算\n得分", 6), ("自评分", 7),
    ("佐证材料\n（文件名称、文号）", 14), ("提示", 8), ("缺填", 5), ("最高可得", 8), ("读取值", 10),
    ("自评分读取值", 10),
]
# Spreadsheet programs measure column widths slightly differently (LibreOffice draws them about
# 5 % wider than Excel): the print scale leaves that much room.
WIDTH_SLACK = 1.06
HEADER_ROW = 3  # 0-based row of the column headings on 评分表
TOP_ROWS_PT = 26 + 2 * 18 + 3 * LINE_PT  # title, unit line, instructions, headings
# A4 landscape in points, less the margins below (inches)
PAGE_W, PAGE_H = 842, 595
MARGIN_LR, MARGIN_TB = 0.3, 0.55
PAD_PT = 4
AWAITING_TEXT = "待省局提供全国平均值"
INSTRUCTIONS = ("浅黄色单元格为填写区域，必填而未填的显示为橙色。计算得分由公式按填报值自动计算（含排名的指标按"
                "“未进入前列”计，与全国平均值比较的项目在省局提供数值前不计分，最终由省局汇总后确定）；"
                "自评分高于计算得分时标红。")


def ws_label(inp: Input) -> str:
    unit = f"（{inp.unit}）" if inp.unit else ""
    return f"{inp.full_label}{unit}"


def col_px(width: float) -> int:
    """A column's width in pixels, as Excel draws it with the default font."""
    return int(width * 7 + 5)


def print_scale() -> int:
    """The print scale (%) at which the printed columns fill the width of an A4 landscape page."""
    printed = sum(col_px(w) for _, w in SCORE_COLUMNS[: COL_HINT + 1]) * 0.75  # px -> pt
    return min(100, math.floor((PAGE_W - 2 * MARGIN_LR * 72) / (printed * WIDTH_SLACK) * 100))


def usable_height() -> float:
    """Row heights (pt, unscaled) that fit on one printed page below the repeated headings."""
    return (PAGE_H - 2 * MARGIN_TB * 72 - 8) * 100 / print_scale() - 3 * LINE_PT - PAD_PT


def row_heights(ind: Indicator) -> list[float]:
    """The heights (pt) of an indicator's rows: each input's row fits its texts; the block fits
    the indicator's text and method."""
    n = len(ind.inputs)
    label_lines = [lines_needed(ws_label(inp), SCORE_COLUMNS[COL_LABEL][1]) for inp in ind.inputs]
    value_lines = [lines_needed(dropdown_items(inp)[0], SCORE_COLUMNS[COL_VALUE][1]) if inp.kind == "tier" else 1
                   for inp in ind.inputs]
    block_lines = max(lines_needed(method_text(ind), SCORE_COLUMNS[COL_METHOD][1]),
                      lines_needed(ind.title, SCORE_COLUMNS[COL_TITLE][1]))
    row_lines = [max(a, b) for a, b in zip(label_lines, value_lines, strict=True)]
    extra = max(0, block_lines - sum(row_lines))
    return [(lines + extra // n + (1 if k < extra % n else 0)) * LINE_PT + PAD_PT
            for k, lines in enumerate(row_lines)]


def method_text(ind: Indicator) -> str:
    method = ind.method + (f"\n【说明】{ind.note}" if ind.note else "")
    if ind.expert:
        method += "\n【说明】由验收专家现场核定。"
    return method


def dropdown_items(inp: Input) -> list[str]:
    """A tier's dropdown options, each short enough to show whole in the 填报值 column:
    the letter and the points first, then the option's text (the full text is in the
    method column and in the cell's prompt). The batch reads an option by its letter."""
    return inp.memo(dropdown_items, lambda: _dropdown_items(inp))


def _dropdown_items(inp: Input) -> list[str]:
    room = SCORE_COLUMNS[COL_VALUE][1] - 2
    out = []
    for o in inp.options:
        head = f"{o.letter}（{o.points}分）"
        text = o.display
        text = text.removeprefix(o.letter).strip()
        text = text.removesuffix(f"（{o.points}分）").strip()
        full = head + text
        if text_width(full) > room:
            while text and text_width(head + text + "…") > room:
                text = text[:-1]
            full = head + text + "…"
        out.append(full)
    return out


def plan_pages(w) -> tuple[str, ...]:
    """Codes of the indicators that begin a new printed page: pages break between indicators."""
    room = usable_height()
    used = TOP_ROWS_PT - 3 * LINE_PT
    starts: list[str] = []
    for ind in w.rubric.indicators:
        h = sum(row_heights(ind))
        if used + h > room and used > 0:
            starts.append(ind.code)
            used = 0
        used += h
    return tuple(starts)


def write(w, ws) -> None:
    """Write the sheet with ``w`` (a :class:`~qc_batch.sheet.writer.SheetWriter`)."""
    f = w.fmt
    for col, (_, width) in enumerate(SCORE_COLUMNS):
        ws.set_column(col, col, width)
    ws.set_column(COL_MISSING, COL_CLAIM_READ, None, None, {"hidden": True})
    last_col = COL_HINT
    ws.merge_range(0, 0, 0, last_col, f"{w.rubric.title}（表A.1）", f.title)
    ws.set_row(0, 26)
    ws.merge_range(1, 0, 1, last_col, "", f.subtitle)
    w.fw(ws, 1, 0, UNIT_LINE, f.subtitle, show=SHOW_UNIT_LINE)
    ws.merge_range(2, 0, 2, last_col, INSTRUCTIONS, f.note)
    ws.set_row(2, lines_needed(INSTRUCTIONS, sum(wd for _, wd in SCORE_COLUMNS[: last_col + 1])) * LINE_PT + PAD_PT)
    ws.write_row(HEADER_ROW, 0, [h for h, _ in SCORE_COLUMNS], f.head)
    ws.set_row(HEADER_ROW, 3 * LINE_PT + PAD_PT)
    awaiting = {}
    for ind, part, ref in reference_parts(w.rubric):
        for code in part_inputs(ind, part):
            awaiting[code] = ref
    starts = set(plan_pages(w))
    breaks = []
    row = HEADER_ROW + 1
    first_data = row
    for group in w.rubric.groups:
        g_first = row
        for ind in group.indicators:
            if ind.code in starts:
                _group_label(ws, f, group.name, g_first, row - 1)
                breaks.append(row)
                g_first = row
            row = write_indicator(w, ws, ind, row, awaiting)
        _group_label(ws, f, group.name, g_first, row - 1)
    last_data = row - 1
    ws.set_h_pagebreaks(breaks)
    w.wb.define_name("QC_MISSING_FLAGS",
                     f"='{sn.SHEET_SCORES}'!{xl_rowcol_to_cell(first_data, COL_MISSING, True, True)}:"
                     f"{xl_rowcol_to_cell(last_data, COL_MISSING, True, True)}")
    w.wb.define_name(sn.NAME_INPUT_VALUES,
                     f"='{sn.SHEET_SCORES}'!{xl_rowcol_to_cell(first_data, COL_VALUE, True, True)}:"
                     f"{xl_rowcol_to_cell(last_data, COL_VALUE, True, True)}")
    # missing inputs (orange) and over-claims (red)
    miss = xl_rowcol_to_cell(first_data, COL_MISSING, False, True)
    ws.conditional_format(first_data, COL_VALUE, last_data, COL_VALUE,
                          {"type": "formula", "criteria": f"={miss}=1", "format": f.missing_fill})
    claim = xl_rowcol_to_cell(first_data, COL_CLAIM, False, True)
    claim_read = xl_rowcol_to_cell(first_data, COL_CLAIM_READ, False, True)
    score = xl_rowcol_to_cell(first_data, COL_SCORE, False, True)
    code = xl_rowcol_to_cell(first_data, COL_CODE, False, True)
    ws.conditional_format(first_data, COL_CLAIM, last_data, COL_CLAIM,
                          {"type": "formula", "criteria": f"=AND(ISNUMBER({claim_read}),{claim_read}>{score})",
                           "format": f.over_claim})
    ws.conditional_format(first_data, COL_CLAIM, last_data, COL_CLAIM,
                          {"type": "formula", "criteria": f'=AND({code}<>"",LEN({claim})=0)',
                           "format": f.missing_fill})
    ws.freeze_panes(HEADER_ROW + 1, COL_MAX + 1)
    w.page_setup(ws, repeat=(HEADER_ROW, HEADER_ROW), landscape=True, scale=print_scale())
    ws.print_area(0, 0, last_data, COL_HINT)
    ws.protect("", PROTECT)


def _group_label(ws, f, name: str, first: int, last: int) -> None:
    if last > first:
        ws.merge_range(first, COL_GROUP, last, COL_GROUP, name, f.group)
    elif last == first:
        ws.write_string(first, COL_GROUP, name, f.group)


def write_indicator(w, ws, ind: Indicator, row: int, awaiting: dict[str, str] | None = None) -> int:
    """One indicator's rows from ``row``; returns the row after them."""
    f = w.fmt
    comp = Compiler(ind)
    awaiting = awaiting or {}
    n = len(ind.inputs)
    first, last = row, row + n - 1
    for k, inp in enumerate(ind.inputs):
        r = row + k
        ws.write_string(r, COL_INPUT_CODE, inp.code, f.center)
        ws.write_string(r, COL_LABEL, ws_label(inp), f.cell)
        fmt = f.input if inp.kind in ("bool", "tier") else f.input_num
        w.put_value(ws, r, COL_VALUE, inp.name, fmt)
        w.name(inp.name, sn.SHEET_SCORES, r, COL_VALUE)
        input_validation(w, ws, r, COL_VALUE, inp)
        if inp.kind in NUMERIC:
            w.fw(ws, r, COL_READ, "=" + read_formula(inp), f.hidden, read_name(inp), "")
            w.name(read_name(inp), sn.SHEET_SCORES, r, COL_READ)
        mf = comp.missing_formula(inp)
        key, default = "missing:" + inp.code, 0 if mf == "0" else 1
        w.fw(ws, r, COL_MISSING, "=" + mf, f.hidden, key, default)
        hint_cell = xl_rowcol_to_cell(r, COL_MISSING)
        ref = awaiting.get(inp.code)
        if ref is None:
            w.fw(ws, r, COL_HINT, f'=IF({hint_cell}=1,"请填写","")', f.hint, key, default,
                 show=SHOW_HINT, text="请填写")
        else:
            w.fw(ws, r, COL_HINT, f'=IF({hint_cell}=1,"请填写",IF(ISNUMBER({ref_name(ref)}),"","{AWAITING_TEXT}"))',
                 f.hint, key, default, show=SHOW_HINT, text="请填写", alt_key=awaiting_key(ref),
                 alt_text=AWAITING_TEXT)
    for k, height in enumerate(row_heights(ind)):
        ws.set_row(row + k, height)

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
    block(COL_METHOD, method_text(ind), f.method)
    # score, claim and evidence: one (merged) cell per indicator
    for col, fmt in ((COL_SCORE, f.score), (COL_CLAIM, f.input_num), (COL_EVIDENCE, f.input)):
        if first != last:
            ws.merge_range(first, col, last, col, "", fmt)
    w.fw(ws, first, COL_SCORE, "=" + comp.score_formula(w.na_policy), f.score, ind.score_name)
    w.name(ind.score_name, sn.SHEET_SCORES, first, COL_SCORE)
    w.put_value(ws, first, COL_CLAIM, ind.claim_name, f.input_num)
    w.name(ind.claim_name, sn.SHEET_SCORES, first, COL_CLAIM)
    w.validation(ws, first, COL_CLAIM, {"validate": "decimal", "criteria": "between",
                                        "minimum": 0, "maximum": ind.max},
                 f"{ind.code} 自评分", f"请填写本指标的自评分，0 到 {ind.max} 分。",
                 f"{ind.code} 自评分应在 0 到 {ind.max} 分之间。")
    claim_read = claim_read_name(ind.claim_name)
    w.fw(ws, first, COL_CLAIM_READ, "=" + claim_read_formula(ind.claim_name), f.hidden, claim_read, "",
         show=SHOW_VALUE)
    w.name(claim_read, sn.SHEET_SCORES, first, COL_CLAIM_READ)
    w.put_value(ws, first, COL_EVIDENCE, ind.evidence_name, f.input)
    w.name(ind.evidence_name, sn.SHEET_SCORES, first, COL_EVIDENCE)
    w.validation(ws, first, COL_EVIDENCE, {"validate": "length", "criteria": "<=", "value": 2000},
                 f"{ind.code} 佐证材料", "列出支撑本指标得分的佐证材料（文件名称、文号），多个用分号隔开。"
                 "有得分而无佐证材料的，审核时将提示。", "佐证材料不超过 2000 字。")
    if ind.is_ranked:
        best = Compiler(ind, optimistic=True).score_formula(w.na_policy)
        best_name = sn.best_name(ind.code)
        w.fw(ws, first, COL_BEST, "=" + best, f.hidden, best_name)
        w.name(best_name, sn.SHEET_SCORES, first, COL_BEST)
    return last + 1


def input_validation(w, ws, row: int, col: int, inp: Input) -> None:
    title = f"{inp.code} {KIND_LABELS[inp.kind]}"
    unit = f"（单位：{inp.unit}）" if inp.unit and inp.unit != "%" else ""
    prompt = f"{inp.full_label}{unit}。请填写{inp.expected_text()}。"
    error = f"{inp.code} 应填写{inp.expected_text()}。"
    if inp.kind == "bool":
        opts = {"validate": "list", "source": "=QC_DD_YESNO"}
    elif inp.kind == "tier":
        opts = {"validate": "list", "source": "=" + w.dd_name(inp.code)}
        prompt = clip(f"{inp.code} 请从下拉列表中选择一项：" + "；".join(o.display for o in inp.options), 255)
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
    w.validation(ws, row, col, opts, title, prompt, error)
