"""指标得分 (units × indicators) and 类别得分率 (units × groups, and each level's average)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qc_batch.batch.run import BatchResult, UnitResult
from qc_batch.outputs.comparison.table import NUMBER, Column, Formats, Page, Table, write_table, write_table_sheet
from qc_batch.outputs.report_data import ReportSet

SHEET_INDICATORS = "指标得分"
SHEET_GROUPS = "类别得分率"
STATS = (("平均", "AVERAGE"), ("最高", "MAX"))
MAX_LABEL = "分值"
RED, YELLOW, GREEN = "#F8696B", "#FFEB84", "#63BE7B"


def scale(maximum: float) -> dict[str, Any]:
    """A red-yellow-green scale from 0 to the column's maximum: full marks are green in every column."""
    return {"type": "3_color_scale", "min_type": "num", "min_value": 0, "min_color": RED,
            "mid_type": "num", "mid_value": maximum / 2, "mid_color": YELLOW,
            "max_type": "num", "max_value": maximum, "max_color": GREEN}


def unit_columns(b: BatchResult) -> list[Column]:
    """The columns every units × something sheet starts with."""
    return [
        Column("单位", 16, lambda u: u.entry.unit, sub=MAX_LABEL),
        Column("层级", 7, lambda u: u.entry.level, "center"),
        Column("总分", 7, lambda u: float(u.score.total), "total", kind=NUMBER, sub=b.rubric.total, stat=True),
    ]


def _points(code: str):
    return lambda u: float(u.score.indicators[code].points)


def indicator_columns(b: BatchResult) -> list[Column]:
    return unit_columns(b) + [
        Column(ind.code, 5.5, _points(ind.code), "pts", kind=NUMBER, sub=ind.max, stat=True,
               cond=(scale(ind.max),), comment=f"{ind.code} {ind.title}（{ind.max} 分）")
        for ind in b.rubric.indicators]


def _rate(number: int, maximum: int):
    return lambda u: float(u.score.group_points(number) / maximum)


def group_columns(b: BatchResult) -> list[Column]:
    return unit_columns(b) + [
        Column(f"{g.number} {g.name}", 10, _rate(g.number, g.max), "pct", kind=NUMBER, sub=g.max, stat=True,
               cond=(scale(1),))
        for g in b.rubric.groups]


def _level_rate(number: int, maximum: int):
    return lambda p: float(p.group_avg[number] / maximum)


def level_columns(b: BatchResult) -> list[Column]:
    """Each level's averages, aligned under the columns of :func:`group_columns`."""
    return [
        Column("层级", 16, lambda p: p.level),
        Column("单位数", 7, lambda p: p.n, "int", kind=NUMBER),
        Column("平均总分", 7, lambda p: float(p.total_avg), "total", kind=NUMBER),
    ] + [Column(f"{g.number} {g.name}", 10, _level_rate(g.number, g.max), "pct", kind=NUMBER, cond=(scale(1),))
         for g in b.rubric.groups]


def write_indicators(wb, fmts: Formats, page: Page, b: BatchResult, units: Sequence[UnitResult]) -> Table:
    _ws, table = write_table_sheet(wb, fmts, page, SHEET_INDICATORS, indicator_columns(b), units, stats=STATS,
                                   freeze_cols=1, pages_wide=3, repeat_cols=1)
    return table


def write_groups(wb, fmts: Formats, page: Page, b: BatchResult, rs: ReportSet,
                 units: Sequence[UnitResult]) -> tuple[Table, Table]:
    """The units' rates by group, then below them each level's average rates."""
    ws, table = write_table_sheet(wb, fmts, page, SHEET_GROUPS, group_columns(b), units, stats=STATS)
    top = table.last + len(STATS) + 3
    ws.write_string(top - 1, 0, "各层级平均得分率", fmts.subtitle)
    levels = [rs.peers[lv] for lv in b.rubric.levels if lv in rs.peers]
    averages = write_table(ws, fmts, level_columns(b), levels, top=top, set_widths=False)
    return table, averages
