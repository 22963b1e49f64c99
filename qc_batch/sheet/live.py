"""What the score sheet's own live formulas show beyond the indicator scores.

The batch's score is final; the sheet's live figures are a unit's own
estimate before the province ranks the units. This module is the engine-side
twin of the summary sheet's formulas (:mod:`qc_batch.sheet.summary_sheet`) and
of the hidden read cells (:func:`qc_batch.rubric.excel_formula.read_formula`):
:func:`live_results` gives the values those formulas compute, which the
writer stores as their cached results and the LibreOffice test compares with
a real recalculation.

The live verdict (:data:`STATUSES`) is honest about what one workbook cannot know:
a blank sheet is 尚未填写, a sheet with required inputs missing is 填报不完整, and
a total under the pass mark that ranking items, the national reference values
or the expert-rated items could still lift is 待省局汇总确定.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any

from qc_batch.engine.scoring import Policy, UnitScore, exact_sum, round_half_up
from qc_batch.rubric import expr
from qc_batch.rubric.excel_formula import claim_read_name, read_name
from qc_batch.rubric.model import Indicator, Part, Rubric
from qc_batch.sheet import names as sn

BLANK = "尚未填写"
INCOMPLETE = "填报不完整"
AWAITING = "待省局汇总确定"
STATUSES = ("不予受理", "合格", BLANK, INCOMPLETE, AWAITING, "不合格")
NUMERIC = ("pct", "int", "rank", "num")


def reference_parts(rubric: Rubric) -> tuple[tuple[Indicator, Part, str], ...]:
    """Every part that compares with a national reference value, with the value's key."""
    return rubric.memo(reference_parts, lambda: tuple(_reference_parts(rubric)))


def _reference_parts(rubric: Rubric) -> Iterator[tuple[Indicator, Part, str]]:
    for ind in rubric.indicators:
        for part in ind.parts:
            for ref in dict.fromkeys(r for c in part.cases for r in expr.refs(c.when)):
                yield ind, part, ref


def part_inputs(ind: Indicator, part: Part) -> list[str]:
    """Input codes a part's conditions read, in the indicator's order."""
    used = {v for c in part.cases for v in expr.variables(c.when)}
    return [i.code for i in ind.inputs if i.code.rsplit(".", 1)[1] in used]


def awaiting_key(ref: str) -> str:
    return "awaiting:" + ref


def live_results(rubric: Rubric, data: Any, policy: Policy, pess: UnitScore, best: UnitScore,
                 raw: Mapping[str, Any]) -> dict[str, Any]:
    """The cached results of the read cells, the reference notes, the upper total and the live verdict.

    ``data`` is the unit's :class:`~qc_batch.read.sheet_data.SheetData`; ``pess`` and ``best``
    are the sheet's scores with ranking items not reached and all reached.
    """
    out: dict[str, Any] = {}
    for inp in rubric.inputs:
        if inp.kind in NUMERIC:
            v = data.readings[inp.code].value
            out[read_name(inp)] = "" if v is None else float(v)
    for ind in rubric.indicators:
        c = data.claims[ind.code].value
        out[claim_read_name(ind.claim_name)] = "" if c is None else float(c)
    awaiting: list[Fraction] = []
    for _ind, part, ref in reference_parts(rubric):
        missing = policy.refs.get(ref) is None
        out[awaiting_key(ref)] = 1 if missing else 0
        if missing:
            awaiting.append(Fraction(part.points))
    expert_gap = [ind.max - pess.indicators[ind.code].points for ind in rubric.indicators if ind.expert]
    upper_raw = exact_sum([best.raw_total, *expert_gap, *awaiting])
    na = Fraction(pess.na_points) if policy.na_policy == "prorate" else Fraction(0)
    upper = upper_raw * rubric.total / (rubric.total - na) if na else upper_raw
    out[sn.NAME_UPPER_TOTAL] = float(round_half_up(upper))
    out[sn.NAME_STATUS] = live_status(rubric, data, pess, Fraction(str(round_half_up(upper))), raw)
    return out


def live_status(rubric: Rubric, data: Any, pess: UnitScore, upper: Fraction, raw: Mapping[str, Any]) -> str:
    """The summary sheet's 评价结论（本表测算）, as its formula decides it."""
    if any(v is True for v in data.veto_values):
        return "不予受理"
    if pess.total >= rubric.pass_mark:
        return "合格"
    if all(_blank(raw.get(i.name)) for i in rubric.inputs):
        return BLANK
    if pess.missing:
        return INCOMPLETE
    if upper >= rubric.pass_mark:
        return AWAITING
    return "不合格"


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v == "")
