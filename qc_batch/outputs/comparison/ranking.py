"""总排名: one row per accepted unit, by level and rank within the level."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qc_batch.batch.run import BatchResult, UnitResult
from qc_batch.codes import ERROR, NOTE, WARNING
from qc_batch.engine.numbers import to_float
from qc_batch.engine.scoring import STATUS_FAIL, STATUS_PASS, STATUS_VETO
from qc_batch.outputs.comparison.table import ANY, NUMBER, Column, Formats, Page, Table, write_table_sheet
from qc_batch.outputs.report_data import ReportSet

SHEET = "总排名"
UNRANKED = "—"


@dataclass(frozen=True)
class RankRow:
    """What the 总排名 row of a unit shows, computed once."""

    unit: UnitResult
    rank: int | None
    claimed: float
    errors: int
    warnings: int
    notes: int
    review: str


def rows(units: Sequence[UnitResult], rs: ReportSet) -> list[RankRow]:
    out = []
    for u in units:
        counts = {ERROR: 0, WARNING: 0, NOTE: 0}
        for f in u.findings:
            counts[f.severity] += 1
        view = rs.views.get(u.id)
        review = "；".join(view["pass_line"]["items"]) if view else ""
        out.append(RankRow(u, rs.peers[u.entry.level].ranks.get(u.id), to_float(u.sheet.data.claimed_total),
                           counts[ERROR], counts[WARNING], counts[NOTE], review))
    return out


def _status_colours() -> tuple[dict[str, Any], ...]:
    return tuple({"type": "cell", "criteria": "==", "value": f'"{status}"', "format": fmt}
                 for status, fmt in ((STATUS_PASS, "pass_"), (STATUS_FAIL, "fail"), (STATUS_VETO, "veto")))


def columns(b: BatchResult) -> list[Column]:
    total, mark = b.rubric.total, b.rubric.pass_mark
    positive = ({"type": "cell", "criteria": ">", "value": 0, "format": "err"},)
    return [
        Column("层级内名次", 7, lambda r: UNRANKED if r.rank is None else r.rank, "int", kind=ANY),
        Column("单位", 16, lambda r: r.unit.entry.unit),
        Column("层级", 7, lambda r: r.unit.entry.level, "center"),
        Column("所属市州", 14, lambda r: r.unit.entry.parent),
        Column("总分", 8, lambda r: float(r.unit.score.total), "total", kind=NUMBER, cond=(
            {"type": "data_bar", "bar_color": "#9BC2E6", "bar_solid": True, "min_type": "num", "min_value": 0,
             "max_type": "num", "max_value": total},
            {"type": "cell", "criteria": "<", "value": mark, "format": "fail"})),
        Column("得分合计", 8, lambda r: float(r.unit.score.raw_total), "pts", kind=NUMBER),
        Column("自评总分", 8, lambda r: r.claimed, "pts", kind=NUMBER),
        Column("自评−核算", 8, lambda r: r.claimed - float(r.unit.score.raw_total), "diff", kind=NUMBER,
               cond=({"type": "cell", "criteria": ">", "value": 0, "format": "red"},)),
        Column("结论", 8, lambda r: r.unit.score.status, "center", cond=_status_colours()),
        Column(ERROR, 5, lambda r: r.errors, "int", kind=NUMBER, cond=positive),
        Column(WARNING, 5, lambda r: r.warnings, "int", kind=NUMBER),
        Column(NOTE, 5, lambda r: r.notes, "int", kind=NUMBER),
        Column("需重点复核", 44, lambda r: r.review, "wrap"),
        Column("来源文件", 34, lambda r: r.unit.entry.file, "wrap"),
    ]


def write(wb, fmts: Formats, page: Page, b: BatchResult, rs: ReportSet, units: Sequence[UnitResult]) -> Table:
    """The 总排名 sheet: levels in the rubric's order, each starting on a new page when printed."""
    _ws, table = write_table_sheet(wb, fmts, page, SHEET, columns(b), rows(units, rs), freeze_cols=2,
                                   breaks_by=lambda r: r.unit.entry.level)
    return table
