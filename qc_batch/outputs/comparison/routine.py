"""例行提示: the routine notes of every unit as one row: its rank on each ranking item, and the
points its expert-rated indicators carry until the experts rate them on site.

These are the notes of the catalogue's ``ranking`` and ``expert`` sections (rank positions,
expert-rated items): every unit has them, so 审核发现 leaves them out and this sheet shows
them compactly, one column per ranking item or expert-rated indicator.
"""

from __future__ import annotations

from collections.abc import Sequence

from qc_batch import codes
from qc_batch.batch.run import BAND_LABELS, BatchResult, UnitResult
from qc_batch.outputs.comparison.scores import MAX_LABEL, scale
from qc_batch.outputs.comparison.table import NUMBER, Column, Formats, Page, Table, write_table_sheet

SHEET = "例行提示"
SECTIONS = ("ranking", "expert")
CODES = frozenset(c.code for c in codes.findings() if c.section in SECTIONS)
SHOWN_BANDS = ("front", "middle")  # the bands named in a cell; other ranks show as a plain rank
NO_RANK = "无法排名"


def _standing(code: str):
    def value(u: UnitResult) -> str:
        st = u.standings.get(code)
        if st is None:
            return ""
        if st.rank is None:
            return NO_RANK
        band = f" {BAND_LABELS[st.band]}" if st.band in SHOWN_BANDS else ""
        return f"{st.rank}/{st.peers}{band}"
    return value


def _points(code: str):
    return lambda u: float(u.score.indicators[code].points)


def columns(b: BatchResult) -> list[Column]:
    bands = tuple({"type": "text", "criteria": "containing", "value": BAND_LABELS[band], "format": fmt}
                  for band, fmt in zip(SHOWN_BANDS, ("pass_", "warn"), strict=True))
    cols = [Column("单位", 16, lambda u: u.entry.unit, sub=MAX_LABEL),
            Column("层级", 7, lambda u: u.entry.level, "center")]
    for ind in b.rubric.indicators:
        for part in ind.parts:
            if part.is_ranked:
                cols.append(Column(f"{part.code} 名次", 9, _standing(part.code), "center", cond=bands,
                                   comment=f"{part.code} {part.label or ind.title}：名次/同级单位数"))
    for ind in b.rubric.indicators:
        if ind.expert:
            cols.append(Column(f"{ind.code} 暂计分", 8, _points(ind.code), "pts", kind=NUMBER, sub=ind.max,
                               cond=(scale(ind.max),), comment=f"{ind.code} {ind.title}：须由验收专家现场核定"))
    return cols


def write(wb, fmts: Formats, page: Page, b: BatchResult, units: Sequence[UnitResult]) -> Table:
    _ws, table = write_table_sheet(wb, fmts, page, SHEET, columns(b), units, freeze_cols=1)
    return table

