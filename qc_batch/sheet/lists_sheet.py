"""The hidden 选项与参数 sheet: template identity, national reference values, dropdown lists."""

from __future__ import annotations

from xlsxwriter.utility import xl_rowcol_to_cell

from qc_batch.read.cells import FALSE_WORDS, TRUE_WORDS
from qc_batch.rubric.excel_formula import NO_LIST, YES_LIST, ref_name
from qc_batch.rubric.expr import REFERENCES
from qc_batch.rubric.regions import hunan
from qc_batch.sheet import names as sn
from qc_batch.sheet.scores_sheet import dropdown_items


def write(w, ws) -> None:
    """Write the sheet with ``w`` (a :class:`~qc_batch.sheet.writer.SheetWriter`)."""
    ws.hide()
    ws.protect("", {"select_locked_cells": True, "select_unlocked_cells": True})
    ws.set_column(0, 0, 24)
    ws.set_column(1, 30, 30)
    f = w.fmt
    ws.write_row(0, 0, ["模板信息", "值"], f.head)
    info = [
        (sn.NAME_TEMPLATE_ID, "模板标识", sn.TEMPLATE_ID),
        (sn.NAME_TEMPLATE_VERSION, "模板版本", sn.TEMPLATE_VERSION),
        (sn.NAME_RUBRIC_ID, "评分规则标识", w.rubric.id),
        (sn.NAME_RUBRIC_VERSION, "评分规则版本", w.rubric.version),
    ]
    for k, (name, label, value) in enumerate(info, start=1):
        ws.write_string(k, 0, label, f.cell)
        ws.write_string(k, 1, value, f.cell)
        w.name(name, sn.SHEET_LISTS, k, 1)
    row = len(info) + 2
    ws.write_row(row, 0, ["全国平均参考值", "值", "用于"], f.head)
    for k, (ref, about) in enumerate(REFERENCES.items(), start=row + 1):
        used_by = "、".join(w.rubric.reference_users(ref))
        ws.write_string(k, 0, f"{about.label}（{about.unit}）", f.cell)
        v = w.policy.refs.get(ref)
        if v is None:
            ws.write_blank(k, 1, None, f.cell)
        else:
            ws.write_number(k, 1, float(v), f.cell)
        ws.write_string(k, 2, used_by, f.cell)
        w.name(ref_name(ref), sn.SHEET_LISTS, k, 1)
    # one list per column
    col = 3
    lists: list[tuple[str, str, list[str]]] = [
        (YES_LIST, "视为“是”的写法", list(TRUE_WORDS)),
        (NO_LIST, "视为“否”的写法", list(FALSE_WORDS)),
        ("QC_DD_YESNO", "是/否", ["是", "否"]),
        ("QC_DD_LEVEL", "层级", list(w.rubric.levels)),
        ("QC_DD_PARENT", "所属市州", list(hunan())),
    ]
    for ind in w.rubric.indicators:
        if ind.is_tier:
            lists.append((w.dd_name(ind.code), ind.code, dropdown_items(ind.inputs[0])))
    for name, label, items in lists:
        ws.write_string(0, col, label, f.head)
        for k, item in enumerate(items, start=1):
            ws.write_string(k, col, item)
        first = xl_rowcol_to_cell(1, col, True, True)
        last = xl_rowcol_to_cell(len(items), col, True, True)
        w.wb.define_name(name, f"='{sn.SHEET_LISTS}'!{first}:{last}")
        col += 1
