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

from qc_batch.engine.findings import Finding
from qc_batch.engine.scoring import IndicatorScore, Policy, UnitScore, indicator_values
from qc_batch.read.cells import Reading, shown
from qc_batch.read.sheet_data import SheetData
from qc_batch.rubric.expr import REFERENCES, Env
from qc_batch.rubric.model import YEAR_LABELS, Indicator, Rubric, expr
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
            out.append(Finding("VALUE_UNREADABLE", f"{inp.full_label}：{r.error}；该项按未填写处理，不得分",
                               inp.indicator, inp.code, cell, _shown(r)))
        elif inp.code in missing:
            out.append(Finding("INPUT_MISSING", f"{inp.full_label}：未填写，应填写{inp.expected_text()}；缺填的项目不得分",
                               inp.indicator, inp.code, cell))
    for ind in rubric.indicators:
        values = indicator_values(ind, data.facts)
        env = Env(values, policy.refs)
        for c in ind.contradictions:
            if expr.evaluate(c.when, env) is True:
                first = expr.variables(c.when)[0]
                out.append(Finding("CONTRADICTION", c.message, ind.code, f"{ind.code}.{first}",
                                   cells.get(ind.input(first).name, "")))
        for series in ind.series:
            out.extend(_series(ind, series, values, cells))
        if ind.expert:
            out.append(Finding("EXPERT_RATING", f"指标 {ind.code}“{ind.title}”由验收专家现场核定，"
                               f"本次按填报内容暂计 {fmt_points(score.indicators[ind.code].points)} 分，以专家核定为准",
                               ind.code))
        used = {r for p in ind.parts for case in p.cases for r in expr.refs(case.when)}
        for ref in sorted(used):
            if policy.refs.get(ref) is None:
                out.append(Finding("REFERENCE_MISSING", f"年度设置中缺少“{REFERENCES[ref].label}”，"
                                   f"指标 {ind.code} 中与其比较的子项暂按 0 分计；请省局在设置文件中补充后重新运行",
                                   ind.code))
    out.extend(_veto_findings(rubric, data, cells))
    out.extend(_header_findings(data, cells))
    for name in sorted(overwritten):
        out.append(Finding("FORMULA_OVERWRITTEN", "该单元格原为自动计算公式，已被改写为固定值；"
                           "本次审核不采用表内计算结果，按填报值重新核算", _indicator_of(rubric, name), "",
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
                "SERIES_NOT_RISING",
                f"{cur.label}：{YEAR_LABELS[prev.year_offset]} {fmt_points(vals[k - 1])}，"
                f"{YEAR_LABELS[cur.year_offset]} {fmt_points(vals[k])}，"
                f"未逐年提高（自{YEAR_LABELS[cur.year_offset]}起中断）",
                ind.code, cur.code, cells.get(cur.name, ""), fmt_points(vals[k]))]
    return []


def _veto_findings(rubric: Rubric, data: SheetData, cells: Mapping[str, str]) -> list[Finding]:
    out = []
    for k, (text, r) in enumerate(zip(rubric.vetoes, data.vetoes, strict=True), start=1):
        name = sn.veto_name(k)
        if r.value is True:
            out.append(Finding("VETO", f"不予受理情形 {k}（{text}）填写为“是”：按标准第15章不予受理",
                               "", "", cells.get(name, ""), _shown(r)))
        elif r.error:
            out.append(Finding("VETO_UNREADABLE", f"不予受理情形 {k}：{r.error}", "", "", cells.get(name, ""), _shown(r)))
        elif r.value is None:
            out.append(Finding("INPUT_MISSING", f"不予受理情形 {k}（{text}）未填写，应选择“是”或“否”",
                               "", "", cells.get(name, "")))
    return out


def _header_findings(data: SheetData, cells: Mapping[str, str]) -> list[Finding]:
    out = []
    if data.text("QC_LEVEL") == "县市区" and not data.text("QC_PARENT"):
        out.append(Finding("HEADER_PARENT_MISSING", "层级为“县市区”，但未填写所属市州；请在“基本信息”中补充",
                           cell=cells.get("QC_PARENT", "")))
    email = data.text("QC_EMAIL")
    if email and not EMAIL_RE.match(email):
        out.append(Finding("HEADER_EMAIL_INVALID", f"联系邮箱“{email}”格式不正确，审核报告可能无法送达",
                           cell=cells.get("QC_EMAIL", ""), value=shown(email)))
    date = data.header.get("QC_DATE")
    if date is not None and date.error:
        out.append(Finding("HEADER_DATE_UNREADABLE", f"填报日期：{date.error}", cell=cells.get("QC_DATE", ""),
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
        out.append(Finding("CLAIM_UNREADABLE", f"指标 {ind.code} 自评分{claim.error}", ind.code, "", cell, _shown(claim)))
    elif claim.value is None:
        out.append(Finding("CLAIM_MISSING", f"指标 {ind.code} 未填写自评分；核算得分 {pts} 分", ind.code, "", cell))
    else:
        c = claim.value
        if c > ind.max or c < 0:
            out.append(Finding("CLAIM_ABOVE_MAX" if c > ind.max else "CLAIM_UNREADABLE",
                               f"指标 {ind.code} 自评分 {fmt_points(c)} 分，超出 0～{ind.max} 分的范围；核算得分 {pts} 分",
                               ind.code, "", cell, _shown(claim), fmt_points(abs(c - s.points))))
        elif c > s.points:
            out.append(Finding("CLAIM_ABOVE_SCORE",
                               f"指标 {ind.code} 自评 {fmt_points(c)} 分，按填报内容核算为 {pts} 分{ranked}，"
                               f"多报 {fmt_points(c - s.points)} 分", ind.code, "", cell, _shown(claim),
                               fmt_points(c - s.points)))
        elif c < s.points:
            out.append(Finding("CLAIM_BELOW_SCORE",
                               f"指标 {ind.code} 自评 {fmt_points(c)} 分，按填报内容核算为 {pts} 分{ranked}",
                               ind.code, "", cell, _shown(claim), fmt_points(s.points - c)))
    if s.points > 0 and not (evidence or "").strip():
        out.append(Finding("EVIDENCE_MISSING", f"指标 {ind.code} 得 {pts} 分，但未列出佐证材料；"
                           "请在“佐证材料”栏列明文件名称和文号", ind.code, "", cells.get(ind.evidence_name, ""),
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
            out[key].append(Finding("FULL_MARKS_CLAIMED", "全部 50 项指标均自评满分；请逐项核对自评分与佐证材料"))
    names = dict(units)
    for code, groups in (("SAME_INPUTS_AS_OTHER", by_inputs), ("SAME_EVIDENCE_AS_OTHER", by_evidence)):
        what = "填报值" if code == "SAME_INPUTS_AS_OTHER" else "佐证材料清单"
        for keys in groups.values():
            if len(keys) < 2:
                continue
            for key in keys:
                others = "、".join(names[k].text("QC_UNIT") or str(k) for k in keys if k != key)
                out[key].append(Finding(code, f"本单位的{what}与 {others} 完全相同；请核实是否误用了其他单位的表格"))
    return out
