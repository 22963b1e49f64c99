"""Plain records the template writer emits about the workbook it wrote.

A returned workbook is the template re-filled with one unit's values; the
fast writer (:mod:`qc_batch.outputs.returned_patch`) patches a base workbook
instead of writing it again, and needs to know, for every formula cell, which
cached result to store. The writer says so in :class:`FormulaCell` records;
:func:`cached_value` turns a record and a unit's :class:`Fill` into the value,
for both writers alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: how a formula cell shows its cached result (see :func:`cached_value`)
SHOW_VALUE = "value"       # the cached result under ``key`` (``default`` when absent)
SHOW_HINT = "hint"         # ``text`` when the cached result under ``key`` is true, else ``alt_text`` when
                           # the one under ``alt_key`` is, else ""
SHOW_SHARE = "share"       # the cached result under ``key`` divided by ``scale``
SHOW_UNIT_LINE = "unit"    # the line naming the unit and the year (:func:`unit_line`)
SHOWS = (SHOW_VALUE, SHOW_HINT, SHOW_SHARE, SHOW_UNIT_LINE)

NO_UNIT = "（请先在“基本信息”填写）"
UNIT_LINE = (f'="被评价单位："&IF(LEN(QC_UNIT)=0,"{NO_UNIT}",QC_UNIT)'
             '&"    评价年度："&IF(LEN(QC_YEAR)=0,"",QC_YEAR)')


@dataclass
class Fill:
    """Values to put into the template, keyed by defined name (raw cell content)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    cached: Mapping[str, Any] = field(default_factory=dict)  # formula results by name
    notes: Mapping[str, str] = field(default_factory=dict)   # name -> audit comment (returned sheets)
    sources: Mapping[str, str] = field(default_factory=dict)  # name -> where a prefilled value is from (comment only)
    extra_sheet: Callable[[Any], None] | None = None  # e.g. the 审核结果 sheet, written first (gets the workbook)


@dataclass(frozen=True)
class FormulaCell:
    """One formula cell: where it is and which cached result it shows."""

    sheet: str
    addr: str
    key: str = ""
    default: Any = 0
    show: str = SHOW_VALUE
    scale: float = 1.0
    text: str = ""
    alt_key: str = ""
    alt_text: str = ""


def unit_line(values: Mapping[str, Any]) -> str:
    """What :data:`UNIT_LINE` shows for these header values."""
    unit = values.get("QC_UNIT") or NO_UNIT
    year = values.get("QC_YEAR") or ""
    if isinstance(year, float) and year.is_integer():
        year = int(year)
    return f"被评价单位：{unit}    评价年度：{year}"


def cached_value(cell: FormulaCell, fill: Fill) -> Any:
    """The result a spreadsheet shows in ``cell`` for the unit in ``fill``."""
    if cell.show == SHOW_UNIT_LINE:
        return unit_line(fill.values)
    v = fill.cached.get(cell.key, cell.default)
    if cell.show == SHOW_HINT:
        if v:
            return cell.text
        return cell.alt_text if cell.alt_key and fill.cached.get(cell.alt_key) else ""
    if cell.show == SHOW_SHARE:
        return float(v) / cell.scale
    return v
