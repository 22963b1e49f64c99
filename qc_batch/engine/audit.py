"""What the audit says about one unit's sheet (spec: "What the audit says").

Pure functions from the typed sheet and its recomputed score to findings.
The findings that depend on the other units (the ranking items' scores) are
made by :func:`indicator_findings`, which the batch calls again once the
ranks are known; cross-unit signals are in :func:`cross_unit_findings`.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from fractions import Fraction

from qc_batch import codes
from qc_batch.engine.findings import Finding
from qc_batch.engine.scoring import IndicatorScore, Policy, UnitScore, indicator_values
from qc_batch.engine.text_numbers import text_number_findings
from qc_batch.read.cells import Reading, shown
from qc_batch.read.sheet_data import SheetData
from qc_batch.rubric import expr
from qc_batch.rubric.expr import REFERENCES, Env
from qc_batch.rubric.model import YEAR_LABELS, Indicator, Rubric
from qc_batch.sheet import names as sn

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def fmt_points(x: Fraction) -> str:
    """Points as an official writes them: 12, 12.5, 7.33."""
    if x.denominator == 1:
        return str(x.numerator)
    return f"{float(x):.2f}".rstrip("0").rstrip(".")


def _shown(r: Reading | None) -> str:
    return "" if r is None or r.raw is None else shown(r.raw)


def input_findings(rubric: Rubric, data: SheetData, score: UnitScore, policy: Policy,
                   cells: Mapping[str, str], overwritten: Iterable[str] = ()) -> list[Finding]:
    """Findings that do not depend on the other units."""
    out: list[Finding] = []
    missing = set(score.missing)
    for inp in rubric.inputs:
        r = data.readings[inp.code]
        cell = cells.get(inp.name, "")
        if r.error:
            out.append(Finding(codes.VALUE_UNREADABLE.code,
                               codes.VALUE_UNREADABLE.message(label=inp.full_label, error=r.error),
                               inp.indicator, inp.code, cell, _shown(r)))
        elif inp.code in missing:
            out.append(Finding(codes.INPUT_MISSING.code,
                               codes.INPUT_MISSING.message(label=inp.full_label, expected=inp.expected_text()),
                               inp.indicator, inp.code, cell))
    out.extend(text_number_findings(rubric, data, cells))
    for ind in rubric.indicators:
        values = indicator_values(ind, data.facts)
        env = Env(values, policy.refs)
        for c in ind.contradictions:
            if expr.evaluate(c.when, env) is True:
                first = expr.variables(c.when)[0]
                out.append(Finding(codes.CONTRADICTION.code, codes.CONTRADICTION.message(rule=c.message), ind.code,
                                   f"{ind.code}.{first}",
                                   cells.get(ind.input(first).name, "")))
        for series in ind.series:
            out.extend(_series(ind, series, values, cells))
        if ind.expert:
            pts = fmt_points(score.indicators[ind.code].points)
            out.append(Finding(codes.EXPERT_RATING.code,
                               codes.EXPERT_RATING.message(indicator=ind.code, title=ind.title, points=pts), ind.code))
        used = {r for p in ind.parts for case in p.cases for r in expr.refs(case.when)}
        for ref in sorted(used):
            if policy.refs.get(ref) is None:
                out.append(Finding(codes.REFERENCE_MISSING.code,
                                   codes.REFERENCE_MISSING.message(reference=REFERENCES[ref].label, indicator=ind.code),
                                   ind.code))
    out.extend(_veto_findings(rubric, data, cells))
    out.extend(_header_findings(rubric, data, cells))
    for name in sorted(overwritten):
        out.append(Finding(codes.FORMULA_OVERWRITTEN.code, codes.FORMULA_OVERWRITTEN.message(),
                           _indicator_of(rubric, name), "",
                           cells.get(name, ""), _shown(Reading(data.raw.get(name), None, data.raw.get(name)))))
    return out


def _indicator_of(rubric: Rubric, name: str) -> str:
    for ind in rubric.indicators:
        if name in (ind.score_name, sn.best_name(ind.code)):
            return ind.code
    return ""


def _series(ind: Indicator, series: Sequence[str], values: Mapping, cells: Mapping[str, str]) -> list[Finding]:
    vals = [values.get(x) for x in series]
    if any(v is None for v in vals):
        return []
    for k in range(1, len(vals)):
        if not vals[k] > vals[k - 1]:
            prev, cur = ind.input(series[k - 1]), ind.input(series[k])
            return [Finding(
                codes.SERIES_NOT_RISING.code,
                codes.SERIES_NOT_RISING.message(label=cur.label, before_year=YEAR_LABELS[prev.year_offset],
                                                before=fmt_points(vals[k - 1]), year=YEAR_LABELS[cur.year_offset],
                                                value=fmt_points(vals[k])),
                ind.code, cur.code, cells.get(cur.name, ""), fmt_points(vals[k]))]
    return []


def _veto_findings(rubric: Rubric, data: SheetData, cells: Mapping[str, str]) -> list[Finding]:
    out = []
    for k, (text, r) in enumerate(zip(rubric.vetoes, data.vetoes, strict=True), start=1):
        name = sn.veto_name(k)
        if r.value is True:
            out.append(Finding(codes.VETO.code, codes.VETO.message(number=k, text=text), "", "",
                               cells.get(name, ""), _shown(r)))
        elif r.error:
            out.append(Finding(codes.VETO_UNREADABLE.code, codes.VETO_UNREADABLE.message(number=k, error=r.error), "", "",
                               cells.get(name, ""), _shown(r)))
        elif r.value is None:
            out.append(Finding(codes.INPUT_MISSING.code, f"不予受理情形 {k}（{text}）未填写，应选择“是”或“否”",
                               "", "", cells.get(name, "")))
    return out


def _header_findings(rubric: Rubric, data: SheetData, cells: Mapping[str, str]) -> list[Finding]:
    out = []
    if data.text("QC_LEVEL") == rubric.county_level and not data.text("QC_PARENT"):
        out.append(Finding(codes.HEADER_PARENT_MISSING.code, codes.HEADER_PARENT_MISSING.message(level=rubric.county_level),
                           cell=cells.get("QC_PARENT", "")))
    email = data.text("QC_EMAIL")
    if email and not EMAIL_RE.match(email):
        out.append(Finding(codes.HEADER_EMAIL_INVALID.code, codes.HEADER_EMAIL_INVALID.message(email=email),
                           cell=cells.get("QC_EMAIL", ""), value=shown(email)))
    date = data.header.get("QC_DATE")
    if date is not None and date.error:
        out.append(Finding(codes.HEADER_DATE_UNREADABLE.code, codes.HEADER_DATE_UNREADABLE.message(error=date.error),
                           cell=cells.get("QC_DATE", ""),
                           value=_shown(date)))
    return out


def indicator_findings(ind: Indicator, s: IndicatorScore, claim: Reading, evidence: str | None,
                       cells: Mapping[str, str], standings: Mapping[str, object] | None = None) -> list[Finding]:
    """Self-assessed score and evidence of one indicator against its recomputed score."""
    out: list[Finding] = []
    cell = cells.get(ind.claim_name, "")
    pts = fmt_points(s.points)
    ranked = "（含排名项，按同级单位比较后核算）" if ind.is_ranked else ""
    if claim.error:
        out.append(Finding(codes.CLAIM_UNREADABLE.code,
                           codes.CLAIM_UNREADABLE.message(indicator=ind.code, error=claim.error),
                           ind.code, "", cell, _shown(claim)))
    elif claim.value is None:
        out.append(Finding(codes.CLAIM_MISSING.code, codes.CLAIM_MISSING.message(indicator=ind.code, points=pts),
                           ind.code, "", cell))
    else:
        c = claim.value
        if c > ind.max or c < 0:
            out.append(Finding((codes.CLAIM_ABOVE_MAX if c > ind.max else codes.CLAIM_UNREADABLE).code,
                               codes.CLAIM_ABOVE_MAX.message(indicator=ind.code, claim=fmt_points(c), max=ind.max,
                                                             points=pts),
                               ind.code, "", cell, _shown(claim), fmt_points(abs(c - s.points))))
        elif c > s.points:
            out.append(Finding(codes.CLAIM_ABOVE_SCORE.code,
                               codes.CLAIM_ABOVE_SCORE.message(indicator=ind.code, claim=fmt_points(c), points=pts,
                                                               ranked=ranked, over=fmt_points(c - s.points)),
                               ind.code, "", cell, _shown(claim),
                               fmt_points(c - s.points)))
        elif c < s.points:
            out.append(Finding(codes.CLAIM_BELOW_SCORE.code,
                               codes.CLAIM_BELOW_SCORE.message(indicator=ind.code, claim=fmt_points(c), points=pts,
                                                               ranked=ranked),
                               ind.code, "", cell, _shown(claim), fmt_points(s.points - c)))
    if s.points > 0 and not (evidence or "").strip():
        out.append(Finding(codes.EVIDENCE_MISSING.code, codes.EVIDENCE_MISSING.message(indicator=ind.code, points=pts),
                           ind.code, "", cells.get(ind.evidence_name, ""),
                           points=pts))
    return out


def unit_findings(rubric: Rubric, data: SheetData, score: UnitScore, policy: Policy,
                  cells: Mapping[str, str], overwritten: Iterable[str] = (),
                  indicators: Iterable[Indicator] | None = None) -> list[Finding]:
    """All single-unit findings; ``indicators`` limits the per-indicator part."""
    out = input_findings(rubric, data, score, policy, cells, overwritten)
    for ind in indicators if indicators is not None else rubric.indicators:
        out.extend(indicator_findings(ind, score.indicators[ind.code], data.claims[ind.code],
                                      data.evidence[ind.code], cells))
    return out


def name_findings(findings: Iterable[Finding], cells: Mapping[str, str]) -> list[Finding]:
    """The findings with the defined name of their cell (stable when rows move)."""
    by_cell: dict[str, str] | None = None
    out = []
    for f in findings:
        if f.cell and not f.name:
            if by_cell is None:
                by_cell = {c: n for n, c in cells.items()}
            f = replace(f, name=by_cell.get(f.cell, ""))
        out.append(f)
    return out


Prints = tuple[str | None, str | None, bool]


def fingerprints(data: SheetData, rubric: Rubric) -> Prints:
    """What :func:`cross_unit_findings` compares of one unit: a digest of its inputs (when 10
    or more are given), of its evidence lists (when 5 or more), and whether it claims full
    marks everywhere. Computed where the unit is read (in the worker); the batch groups them."""
    given = tuple((c, str(r.value)) for c, r in sorted(data.readings.items()) if r.value is not None)
    ev = tuple(sorted((c, re.sub(r"\s+", "", t)) for c, t in data.evidence.items() if t))
    claims = [data.claims[i.code].value for i in rubric.indicators]
    full = all(c is not None and c >= i.max for c, i in zip(claims, rubric.indicators, strict=True))
    return (_digest(given) if len(given) >= 10 else None, _digest(ev) if len(ev) >= 5 else None, full)


def _digest(items: tuple) -> str:
    return hashlib.sha256(repr(items).encode("utf-8")).hexdigest()


def cross_unit_findings(units: Sequence[tuple[str, SheetData]], rubric: Rubric,
                        prints: Sequence[Prints] | None = None
                        ) -> dict[str, list[Finding]]:
    """提示 shared across units: identical inputs, identical evidence lists, full marks claimed everywhere.

    ``prints`` are the units' :func:`fingerprints` when computed already."""
    out: dict[str, list[Finding]] = defaultdict(list)
    by_inputs: dict[str, list[str]] = defaultdict(list)
    by_evidence: dict[str, list[str]] = defaultdict(list)
    for k, (key, data) in enumerate(units):
        given, ev, full = prints[k] if prints is not None else fingerprints(data, rubric)
        if given is not None:
            by_inputs[given].append(key)
        if ev is not None:
            by_evidence[ev].append(key)
        if full:
            out[key].append(Finding(codes.FULL_MARKS_CLAIMED.code,
                                    codes.FULL_MARKS_CLAIMED.message(count=len(rubric.indicators))))
    names = dict(units)
    for code, groups in ((codes.SAME_INPUTS_AS_OTHER, by_inputs), (codes.SAME_EVIDENCE_AS_OTHER, by_evidence)):
        for keys in groups.values():
            if len(keys) < 2:
                continue
            for key in keys:
                others = "、".join(names[k].text("QC_UNIT") or str(k) for k in keys if k != key)
                out[key].append(Finding(code.code, code.message(others=others)))
    return out
