"""The 评分表 sheet: Table A.1, one block of rows per indicator, with the live scores."""

from __future__ import annotations

from typing import Any

from xlsxwriter.utility import xl_rowcol_to_cell

from qc_batch.rubric.excel_formula import Compiler
from qc_batch.rubric.model import KIND_LABELS, Indicator, Input
from qc_batch.sheet import names as sn
from qc_batch.sheet.formats import LINE_PT, PROTECT, lines_needed
from qc_batch.sheet.records import SHOW_HINT, SHOW_UNIT_LINE, UNIT_LINE

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


def ws_label(inp: Input) -> str:
    unit = f"（{inp.unit}）" if inp.unit else ""
    return f"{inp.full_label}{unit}"


def write(w, ws) -> None:
    """Write the sheet with ``w`` (a :class:`~qc_batch.sheet.writer.SheetWriter`)."""
    f = w.fmt
    for col, (_, width) in enumerate(SCORE_COLUMNS):
        ws.set_column(col, col, width)
    ws.set_column(COL_MISSING, COL_BEST, None, None, {"hidden": True})
    last_col = COL_HINT
    ws.merge_range(0, 0, 0, last_col, f"{w.rubric.title}（表A.1）", f.title)
    ws.set_row(0, 26)
    ws.merge_range(1, 0, 1, last_col, "", f.subtitle)
    w.fw(ws, 1, 0, UNIT_LINE, f.subtitle, show=SHOW_UNIT_LINE)
    ws.merge_range(2, 0, 2, last_col,
                   "黄色单元格为填写区域。计算得分由公式按填报值自动计算（含排名的指标按“未进入前列”计，"
                   "最终由省局汇总后确定）；自评分高于计算得分时标红，缺填时标橙。", f.subtitle)
    ws.write_row(HEADER_ROW, 0, [h for h, _ in SCORE_COLUMNS], f.head)
    ws.set_row(HEADER_ROW, 30)
    row = HEADER_ROW + 1
    first_data = row
    for group in w.rubric.groups:
        g_first = row
        for ind in group.indicators:
            row = write_indicator(w, ws, ind, row)
        if row - 1 > g_first:
            ws.merge_range(g_first, COL_GROUP, row - 1, COL_GROUP, group.name, f.group)
        else:
            ws.write_string(g_first, COL_GROUP, group.name, f.group)
    last_data = row - 1
    w.wb.define_name("QC_MISSING_FLAGS",
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
    w.page_setup(ws, repeat=(HEADER_ROW, HEADER_ROW), landscape=True)
    ws.print_area(0, 0, last_data, COL_HINT)
    ws.protect("", PROTECT)

def _unit_line(w) -> str:
    unit = w.fill.values.get("QC_UNIT") or "（请先在“基本信息”填写）"
    year = w.fill.values.get("QC_YEAR") or ""
    if isinstance(year, float) and year.is_integer():
        year = int(year)
    return f"被评价单位：{unit}    评价年度：{year}"

def write_indicator(w, ws, ind: Indicator, row: int) -> int:
    """One indicator's rows from ``row``; returns the row after them."""
    f = w.fmt
    comp = Compiler(ind)
    n = len(ind.inputs)
    first, last = row, row + n - 1
    for k, inp in enumerate(ind.inputs):
        r = row + k
        ws.write_string(r, COL_INPUT_CODE, inp.code, f.center)
        unit = f"（{inp.unit}）" if inp.unit else ""
        ws.write_string(r, COL_LABEL, f"{inp.full_label}{unit}", f.cell)
        fmt = f.input if inp.kind in ("bool", "tier") else f.input_num
        w.put_value(ws, r, COL_VALUE, inp.name, fmt)
        w.name(inp.name, sn.SHEET_SCORES, r, COL_VALUE)
        input_validation(w, ws, r, COL_VALUE, inp)
        mf = comp.missing_formula(inp)
        key, default = "missing:" + inp.code, 0 if mf == "0" else 1
        w.fw(ws, r, COL_MISSING, "=" + mf, f.hidden, key, default)
        hint_cell = xl_rowcol_to_cell(r, COL_MISSING)
        w.fw(ws, r, COL_HINT, f'=IF({hint_cell}=1,"请填写","")', f.hint, key, default,
             show=SHOW_HINT, text="请填写")
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
    w.fw(ws, first, COL_SCORE, "=" + comp.score_formula(w.na_policy), f.score, ind.score_name)
    w.name(ind.score_name, sn.SHEET_SCORES, first, COL_SCORE)
    w.put_value(ws, first, COL_CLAIM, ind.claim_name, f.input_num)
    w.name(ind.claim_name, sn.SHEET_SCORES, first, COL_CLAIM)
    w.validation(ws, first, COL_CLAIM, {"validate": "decimal", "criteria": "between",
                                           "minimum": 0, "maximum": ind.max},
                    f"{ind.code} 自评分", f"请填写本指标的自评分，0 到 {ind.max} 分。",
                    f"{ind.code} 自评分应在 0 到 {ind.max} 分之间。")
    w.put_value(ws, first, COL_EVIDENCE, ind.evidence_name, f.input)
    w.name(ind.evidence_name, sn.SHEET_SCORES, first, COL_EVIDENCE)
    w.validation(ws, first, COL_EVIDENCE, {"validate": "length", "criteria": "<=", "value": 2000},
                    f"{ind.code} 佐证材料", "列出支撑本指标得分的佐证材料（文件名称、文号），多个用分号隔开。"
                    "有得分而无佐证材料的，审核时将提示。", "佐证材料不超过 2000 字。")
    if ind.is_ranked:
        best = Compiler(ind, optimistic=True).score_formula(w.na_policy)
        best_name = sn.best_name(ind.code)
        w.fw(ws, first, COL_BEST, "=" + best, f.hidden, best_name)
        w.name(sn.best_name(ind.code), sn.SHEET_SCORES, first, COL_BEST)
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
    w.validation(ws, row, col, opts, title, prompt, error)
