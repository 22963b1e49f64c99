"""From the raw contents of a score sheet's named cells to typed facts.

Pure: takes ``{defined name: raw cell value}`` (as any reader returns it) and
gives the unit's header, facts, vetoes, claims and evidence, each input with
its :class:`~qc_batch.read.cells.Reading` (value or Chinese reason). Also
computes what the sheet's own formulas show for those values, which the
sheet writer stores as cached results.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from qc_batch.engine.scoring import Policy, UnitScore, exact_sum, rescore_ranked, round_half_up, score_unit, sheet_bands
from qc_batch.read import cells as readers
from qc_batch.read.cells import Reading
from qc_batch.rubric.model import Rubric
from qc_batch.sheet import names as sn
from qc_batch.sheet.live import live_results

Raw = Mapping[str, Any]


@dataclass(frozen=True)
class SheetData:
    """One unit's sheet, read and typed."""

    header: Mapping[str, Reading]           # QC_UNIT ... QC_DATE
    readings: Mapping[str, Reading]         # input code -> reading
    vetoes: tuple[Reading, ...]
    claims: Mapping[str, Reading]           # indicator code -> reading (num)
    evidence: Mapping[str, str | None]      # indicator code -> text
    raw: Raw = field(default_factory=dict)

    @functools.cached_property
    def facts(self) -> dict[str, Any]:
        return {code: r.value for code, r in self.readings.items()}

    @functools.cached_property
    def claimed_total(self) -> Fraction:
        """The sum of the readable 自评分."""
        return exact_sum([r.value for r in self.claims.values() if r.value is not None])

    @property
    def veto_values(self) -> tuple[bool | None, ...]:
        return tuple(r.value if isinstance(r.value, bool) else None for r in self.vetoes)

    def text(self, name: str) -> str | None:
        r = self.header.get(name)
        return None if r is None or r.value is None else str(r.value)


def read_claim(raw: Any, maximum: int) -> Reading:
    """A 自评分: a number of points (any decimal); range is judged by the audit."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Reading(None, None, raw)
    value = readers.exact_number(raw.replace("分", "") if isinstance(raw, str) else raw)
    if value is None:
        return Reading(None, f"填写的是“{readers.shown(raw)}”，无法识别为分数；应填写 0 到 {maximum} 之间的分数", raw)
    return Reading(value, None, raw)


def read_header(name: str, raw: Any) -> Reading:
    if name == "QC_YEAR":
        return readers.read_year(raw)
    if name == "QC_DATE":
        return readers.read_date_value(raw)
    return Reading(readers.read_text(raw), None, raw)


def interpret(rubric: Rubric, raw: Raw) -> SheetData:
    """Type every named cell of one sheet."""
    header = {hf.name: read_header(hf.name, raw.get(hf.name)) for hf in sn.HEADER_FIELDS}
    readings = {inp.code: readers.read_value(inp, raw.get(inp.name)) for inp in rubric.inputs}
    yes_no = rubric.input(rubric.indicators[1].inputs[0].code)  # any bool input reads 是/否
    vetoes = tuple(
        readers.read_value(yes_no, raw.get(sn.veto_name(k))) for k in range(1, len(rubric.vetoes) + 1)
    )
    claims = {ind.code: read_claim(raw.get(ind.claim_name), ind.max) for ind in rubric.indicators}
    evidence = {ind.code: readers.read_text(raw.get(ind.evidence_name)) for ind in rubric.indicators}
    return SheetData(header, readings, vetoes, claims, evidence, raw)


def sheet_view(rubric: Rubric, data: SheetData, policy: Policy, *, optimistic: bool = False) -> UnitScore:
    """The score as the sheet's own formulas compute it (ranking assumed, see
    :func:`qc_batch.engine.scoring.sheet_bands`)."""
    facts = data.facts
    return score_unit(rubric, facts, data.veto_values, policy,
                      sheet_bands(rubric, facts, optimistic=optimistic))


def cached_results(rubric: Rubric, data: SheetData, policy: Policy,
                   pess: UnitScore | None = None) -> dict[str, Any]:
    """Formula results for the sheet writer, keyed like :class:`~qc_batch.sheet.writer.Fill`.

    ``pess`` is :func:`sheet_view` of the same data when the caller has it
    already (ingest computes it); only the ranked indicators are then scored again.
    """
    facts = data.facts
    pess = pess or sheet_view(rubric, data, policy)
    best = rescore_ranked(rubric, pess, facts, policy, sheet_bands(rubric, facts, optimistic=True))
    out: dict[str, Any] = {}
    for ind in rubric.indicators:
        s = pess.indicators[ind.code]
        out[ind.score_name] = float(s.points)
        if ind.is_ranked:
            out[sn.best_name(ind.code)] = float(best.indicators[ind.code].points)
        for inp in ind.inputs:
            out["missing:" + inp.code] = 1 if inp.code in s.missing else 0
    for g in rubric.groups:
        out[f"QC_GROUP_{g.number}"] = float(pess.group_points(g.number))
        claims = [data.claims[i.code].value for i in g.indicators]
        out[f"QC_GROUP_{g.number}_CLAIM"] = float(sum(c for c in claims if c is not None))
    out[sn.NAME_RAW_TOTAL] = float(pess.raw_total)
    out[sn.NAME_CLAIM_TOTAL] = sum(out[f"QC_GROUP_{g.number}_CLAIM"] for g in rubric.groups)
    out[sn.NAME_NA_POINTS] = pess.na_points if policy.na_policy == "prorate" else 0
    out[sn.NAME_TOTAL] = float(pess.total)
    out[sn.NAME_BEST_TOTAL] = float(round_half_up(best.raw_total))
    out["QC_VETO_COUNT"] = sum(1 for v in data.veto_values if v is True)
    out[sn.NAME_STATUS] = pess.status
    out[sn.NAME_MISSING_COUNT] = len(pess.missing)
    out.update(live_results(rubric, data, policy, pess, best, data.raw))  # read cells, live verdict
    return out
