"""The 基本信息 sheet: the unit, its level, contacts and the four 不予受理 questions."""

from __future__ import annotations

import datetime as dt

from xlsxwriter.utility import xl_rowcol_to_cell

from qc_batch.sheet import names as sn
from qc_batch.sheet.formats import LINE_PT, PROTECT, lines_needed


def write(w, ws) -> None:
    """Write the sheet with ``w`` (a :class:`~qc_batch.sheet.writer.SheetWriter`)."""
    f = w.fmt
    ws.set_column(0, 0, 6)
    ws.set_column(1, 1, 30)
    ws.set_column(2, 2, 36)
    ws.set_column(3, 3, 40)
    ws.merge_range(0, 0, 0, 3, f"{w.rubric.title}——基本信息", f.title)
    ws.set_row(0, 28)
    ws.merge_range(1, 0, 1, 3, "浅黄色单元格为填写区域（必填而未填的显示为橙色）；其余单元格已锁定。"
                   "填写完毕后请到“评分表”逐项填写。",
                   f.subtitle)
    ws.write_row(2, 0, ["序号", "项目", "填写内容", "说明"], f.head)
    row = 3
    for k, hf in enumerate(sn.HEADER_FIELDS, start=1):
        ws.write_number(row, 0, k, f.center)
        ws.write_string(row, 1, hf.label, f.cell)
        fmt = f.input_date if hf.kind == "date" else (f.input_num if hf.kind == "year" else f.input_text)
        w.put_value(ws, row, 2, hf.name, fmt)
        ws.write_string(row, 3, hf.hint, f.small)
        w.name(hf.name, sn.SHEET_HEADER, row, 2)
        header_validation(w, ws, row, hf)
        ws.set_row(row, 20)
        row += 1
    row += 1
    ws.merge_range(row, 0, row, 3, "不予受理情形（标准第15章）：近三年是否发生下列情况？有任一项为“是”的，不予受理。",
                   f.para_bold)
    ws.set_row(row, 30)
    row += 1
    ws.write_row(row, 0, ["序号", "情形", "是否发生（是/否）", "说明"], f.head)
    row += 1
    for k, text in enumerate(w.rubric.vetoes, start=1):
        name = sn.veto_name(k)
        ws.write_number(row, 0, k, f.center)
        ws.write_string(row, 1, text, f.cell)
        w.put_value(ws, row, 2, name, f.input)
        ws.write_string(row, 3, "如实填写；填“是”将导致不予受理", f.small)
        w.name(name, sn.SHEET_HEADER, row, 2)
        w.validation(ws, row, 2, {"validate": "list", "source": "=QC_DD_YESNO"},
                        f"不予受理情形{k}", f"近三年是否发生：{text}。请选择“是”或“否”。",
                        "请从下拉列表选择“是”或“否”。")
        ws.set_row(row, max(20, lines_needed(text, 30) * LINE_PT + 4))
        row += 1
    first_veto = row - len(w.rubric.vetoes)
    ws.conditional_format(first_veto, 2, row - 1, 2, {"type": "blanks", "format": f.missing_fill})
    for k, hf in enumerate(sn.HEADER_FIELDS):
        cell = xl_rowcol_to_cell(3 + k, 2)
        if hf.name == "QC_PARENT":
            level = xl_rowcol_to_cell(3 + [h.name for h in sn.HEADER_FIELDS].index("QC_LEVEL"), 2)
            crit = f'=AND(TRIM({level})="县市区",LEN(TRIM({cell}))=0)'
        elif hf.required:
            crit = f"=LEN(TRIM({cell}))=0"
        else:
            continue
        ws.conditional_format(3 + k, 2, 3 + k, 2, {"type": "formula", "criteria": crit,
                                                   "format": f.missing_fill})
    w.page_setup(ws, repeat=None, landscape=False)
    ws.protect("", PROTECT)

def header_validation(w, ws, row: int, hf: sn.HeaderField) -> None:
    if hf.kind == "level":
        w.validation(ws, row, 2, {"validate": "list", "source": "=QC_DD_LEVEL"},
                        "层级", "请选择“市州”或“县市区”。", "请从下拉列表选择“市州”或“县市区”。")
    elif hf.kind == "parent":
        w.validation(ws, row, 2, {"validate": "list", "source": "=QC_DD_PARENT"},
                        "所属市州", "县市区填写所属市州，可从下拉列表选择；市州不填。",
                        "所填市州不在列表中，请确认名称是否正确。", error_type="warning")
    elif hf.kind == "year":
        w.validation(ws, row, 2, {"validate": "integer", "criteria": "between",
                                     "minimum": 2000, "maximum": 2100},
                        "评价年度", "请填写四位数年份，如 2026。", "评价年度应为 2000 到 2100 之间的四位数年份。")
    elif hf.kind == "date":
        w.validation(ws, row, 2, {"validate": "date", "criteria": "between",
                                     "minimum": dt.date(2000, 1, 1), "maximum": dt.date(2100, 12, 31)},
                        "填报日期", "请填写日期，如 2026-03-15。", "请填写有效日期，如 2026-03-15。")
    elif hf.kind == "email":
        cell = xl_rowcol_to_cell(row, 2)
        w.validation(ws, row, 2, {"validate": "custom",
                                     "value": f'=ISNUMBER(FIND("@",{cell}))'},
                        "联系邮箱", "请填写有效邮箱地址，如 zlk@example.gov.cn。审核报告将发送到此邮箱。",
                        "邮箱地址应包含“@”，请检查。", error_type="warning")
    else:
        w.validation(ws, row, 2, {"validate": "length", "criteria": "<=", "value": 100},
                        hf.label, hf.hint, f"{hf.label}不超过 100 个字。")
