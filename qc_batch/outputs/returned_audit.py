"""The 审核结果 sheet of a returned workbook: the findings and the recomputed scores.

:func:`audit_rows` lays the sheet out as plain rows; :func:`audit_sheet` writes
them with xlsxwriter (the plain writer, and the fast writer's base), and
:mod:`qc_batch.outputs.returned_patch` writes the same rows as XML.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import xlsxwriter

from qc_batch import codes
from qc_batch.batch.run import UnitResult
from qc_batch.rubric.model import Rubric
from qc_batch.sheet.formats import FONT, LINE_PT, lines_needed

SHEET_AUDIT = "审核结果"

AuditRow = tuple[float | None, list[tuple[int, Any, str]]]  # height, [(col, value, style)]
STYLES = ("title", "plain", "head", "text", "num", "diff")
COLUMNS = ((0, 0, 8), (1, 1, 40), (2, 5, 10), (6, 6, 70))
WIDTH = {0: 8, 1: 40, 6: 70}
HEAD_ROW = 3
ROW_PAD = 6
#: 自评−核算: an over-claim red, an under-claim blue, agreement left empty
DIFF_FORMAT = '[Red]+0.0#;[Blue]-0.0#;""'


def _height(*texts: tuple[str, int]) -> float:
    """One row height for texts in columns of these widths: whole lines, the same padding everywhere."""
    lines = max([1] + [lines_needed(t, w) for t, w in texts if t])
    return lines * LINE_PT + ROW_PAD



def audit_rows(u: UnitResult, rubric: Rubric, view: dict[str, Any]) -> list[AuditRow]:
    """The 审核结果 sheet as rows (0-based, in order); both writers render these."""
    rows: list[AuditRow] = [
        (None, [(0, f"{u.entry.unit} {u.entry.year}年度评分表审核结果", "title")]),
        (None, [(0, f"结论：{u.score.status}；核算总分 {u.score.total} 分（合格线 {rubric.pass_mark} 分）。"
                    "请按下列意见和各单元格批注（标红处）改正后重新报送；改正时不要删除或移动工作表。", "plain")]),
        (None, []),
        (None, [(c, h, "head") for c, h in enumerate(["指标", "指标内容", "分值", "核算得分", "自评分", "自评−核算",
                                                      "审核意见"])]),
    ]
    by_ind: dict[str, list[str]] = defaultdict(list)
    for f in u.findings:
        if f.indicator and f.code != codes.RANKED_ITEM.code:
            by_ind[f.indicator].append(f"【{f.severity}】{f.message}")
    for ind in rubric.indicators:
        s = u.score.indicators[ind.code]
        claim = u.sheet.data.claims[ind.code].value
        msgs = "\n".join(by_ind.get(ind.code, []))
        cells = [(0, ind.code, "text"), (1, ind.title, "text"), (2, ind.max, "num"), (3, float(s.points), "num")]
        if claim is None:
            cells += [(4, None, "num"), (5, None, "diff")]
        else:
            cells += [(4, float(claim), "num"), (5, float(claim - s.points), "diff")]
        cells.append((6, msgs, "text"))
        rows.append((_height((ind.title, WIDTH[1]), (msgs, WIDTH[6])), cells))
    claimed = u.sheet.data.claimed_total
    rows.append((None, [(1, "合计", "head"), (2, rubric.total, "num"), (3, float(u.score.raw_total), "num"),
                        (4, float(claimed), "num"), (5, float(claimed - u.score.raw_total), "diff")]))
    rows.append((None, []))
    general = [f for f in u.findings if not f.indicator]
    if general:
        rows.append((None, [(0, "其他审核意见", "title")]))
        for f in general:
            text = f.message + (f"（{f.cell}）" if f.cell else "")
            rows.append((_height((text, WIDTH[1] + 40 + WIDTH[6])), [(0, f.severity, "text"), (1, text, "text")]))
    rows.append((None, []))
    rows.append((None, [(0, f"丢失 {view['lost_total']} 分的改进清单见随附的审核报告。", "plain")]))
    return rows


def audit_formats(wb: xlsxwriter.Workbook) -> dict[str, Any]:
    """The sheet's formats by style name (see :data:`STYLES`)."""
    base = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}
    border = {"border": 1, "border_color": "#A6A6A6"}
    return {
        "title": wb.add_format({**base, "bold": True, "font_size": 14}),
        "plain": wb.add_format(base),
        "head": wb.add_format({**base, **border, "bold": True, "bg_color": "#D9E1F2", "align": "center"}),
        "text": wb.add_format({**base, **border, "text_wrap": True}),
        "num": wb.add_format({**base, **border, "num_format": "0.0#"}),
        "diff": wb.add_format({**base, **border, "num_format": DIFF_FORMAT}),
    }


def audit_sheet(rows: list[AuditRow], formats_out: dict[str, Any] | None = None):
    """An ``extra_sheet`` callback writing the 审核结果 sheet with xlsxwriter; the formats
    it made are put into ``formats_out`` when given."""
    def write(wb: xlsxwriter.Workbook) -> None:
        ws = wb.add_worksheet(SHEET_AUDIT)
        fmt = audit_formats(wb)
        if formats_out is not None:
            formats_out.update(fmt)
        for first, last, width in COLUMNS:
            ws.set_column(first, last, width)
        for r, (height, cells) in enumerate(rows):
            if height:
                ws.set_row(r, height)
            for col, value, style in cells:
                if value is None:
                    ws.write_blank(r, col, None, fmt[style])
                elif isinstance(value, str):
                    ws.write_string(r, col, value, fmt[style])
                else:
                    ws.write_number(r, col, value, fmt[style])
        ws.freeze_panes(HEAD_ROW + 1, 0)
        ws.repeat_rows(HEAD_ROW)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.activate()
        ws.set_first_sheet()
    return write
