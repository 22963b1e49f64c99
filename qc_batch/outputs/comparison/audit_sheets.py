"""审核发现: every finding that needs a look, one a row, filterable by unit, level, severity and problem.

The routine notes (rank positions, expert-rated items: the catalogue's ``ranking`` and
``expert`` sections) are on 例行提示 instead, one row a unit (``routine``), so that this
sheet prints as the list to work through.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation

from qc_batch import codes
from qc_batch.batch.run import UnitResult
from qc_batch.outputs.comparison import routine as routine_sheet
from qc_batch.outputs.comparison.table import Column, Formats, Page, Table, write_table_sheet

SHEET = "审核发现"
#: the 问题 column: the code's Chinese title, then the code (as results.json has it)
PROBLEMS = {c.code: f"{c.title}（{c.code}）" for c in codes.findings()}
_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def plain_number(text: str) -> str:
    """``7.314e-05`` as ``0.00007314``; any other text unchanged."""
    if ("e" in text or "E" in text) and _EXPONENT.fullmatch(text.strip()):
        try:
            d = Decimal(text.strip())
        except InvalidOperation:
            return text
        s = format(d, "f")
        return s.rstrip("0").rstrip(".") if "." in s else s
    return text


def columns() -> list[Column]:
    severity = tuple({"type": "cell", "criteria": "==", "value": f'"{sev}"', "format": fmt}
                     for sev, fmt in ((codes.ERROR, "err"), (codes.WARNING, "warn")))
    return [
        Column("单位", 14, lambda r: r[0].entry.unit),
        Column("层级", 7, lambda r: r[0].entry.level, "center"),
        Column("指标", 6, lambda r: r[1].indicator, "center"),
        Column("填报项", 8, lambda r: r[1].input),
        Column("单元格", 13, lambda r: r[1].cell),
        Column("级别", 6, lambda r: r[1].severity, "center", cond=severity),
        Column("问题", 26, lambda r: PROBLEMS[r[1].code], "wrap"),
        Column("填写的值", 12, lambda r: plain_number(r[1].value), "wrap"),
        Column("说明", 64, lambda r: r[1].message, "wrap"),
    ]


def rows(units: Sequence[UnitResult]) -> Iterator[tuple]:
    """(unit, finding) for every finding that is not a routine note."""
    routine = routine_sheet.CODES
    for u in units:
        for f in u.findings:
            if f.code not in routine:
                yield u, f


def write(wb, fmts: Formats, page: Page, units: Sequence[UnitResult]) -> Table:
    _ws, table = write_table_sheet(wb, fmts, page, SHEET, columns(), rows(units), freeze_cols=1)
    return table
