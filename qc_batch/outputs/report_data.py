"""What the reports and the comparison workbook show, computed once from a batch.

Plain data (dicts, lists, strings, Fractions) for the Jinja2 report template
and the comparison workbook: peers' figures per level, each unit's verdict,
group table, lost points with the rule and what would earn them, the audit
grouped for reading, and the pass-line view (which findings could flip
合格/不合格).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from qc_batch import codes
from qc_batch.batch.run import BatchResult, UnitResult
from qc_batch.codes import ERROR, NOTE, WARNING
from qc_batch.engine.audit import fmt_points
from qc_batch.engine.findings import Finding
from qc_batch.engine.scoring import (
    STATUS_FAIL,
    STATUS_PASS,
    STATUS_VETO,
    IndicatorScore,
    exact_max,
    exact_sum,
    indicator_values,
)
from qc_batch.history.view import report_previous
from qc_batch.outputs.condition_text import computed_text, tier_choice
from qc_batch.outputs.review_report import report_review
from qc_batch.read.cells import shown
from qc_batch.rubric import expr
from qc_batch.rubric.model import Indicator, Part, Rubric

#: A unit whose total is within this many points of the pass mark is "near the line".
NEAR_LINE = 30


def pct(x: Fraction, of: int | Fraction) -> Fraction:
    return Fraction(x) * 100 / of if of else Fraction(0)


@dataclass
class Peers:
    """Figures of the accepted units of one level."""

    level: str
    n: int
    group_avg: dict[int, Fraction]
    group_best: dict[int, Fraction]
    ind_avg: dict[str, Fraction]
    ind_best: dict[str, Fraction]
    total_avg: Fraction
    ranks: dict[str, int | None]     # unit id -> rank by total (vetoed units: None)
    ranked: int                      # units with a rank
    shown: list[dict[str, str]] | None = field(default=None, repr=False, compare=False)  # see _peer_groups


def peer_stats(b: BatchResult) -> dict[str, Peers]:
    out: dict[str, Peers] = {}
    by_level: dict[str, list[UnitResult]] = defaultdict(list)
    for u in b.units:
        by_level[u.entry.level].append(u)
    for level, units in by_level.items():
        # peers' figures, as for ranking: units with a veto are not peers (unless all have one)
        peers = [u for u in units if not u.score.vetoed] or units
        n = len(peers)
        groups = {g.number: [u.score.group_points(g.number) for u in peers] for g in b.rubric.groups}
        inds = {i.code: [u.score.indicators[i.code].points for u in peers] for i in b.rubric.indicators}
        ranked = sorted((u for u in units if not u.score.vetoed),
                        key=lambda u: (-float(u.score.exact_total), -u.score.exact_total))
        ranks: dict[str, int | None] = {u.id: None for u in units}
        for k, u in enumerate(ranked):
            same = k > 0 and ranked[k - 1].score.total == u.score.total
            ranks[u.id] = ranks[ranked[k - 1].id] if same else k + 1
        out[level] = Peers(
            level, n,
            {g: exact_sum(v) / n for g, v in groups.items()}, {g: exact_max(v) for g, v in groups.items()},
            {c: exact_sum(v) / n for c, v in inds.items()}, {c: exact_max(v) for c, v in inds.items()},
            exact_sum([Fraction(u.score.total) for u in peers]) / n, ranks, len(ranked),
        )
    return out


def input_names(ind: Indicator) -> dict[str, str]:
    """What a condition calls each input: its label in quotes (quotes inside it made single)."""
    return {i.id: "“" + i.full_label.replace("“", "‘").replace("”", "’") + "”" for i in ind.inputs}


def input_units(ind: Indicator) -> dict[str, str]:
    """The unit written after a number an input is compared with (percents: "%")."""
    return {i.id: "%" for i in ind.inputs if i.kind == "pct"}


def part_text(ind: Indicator, part: Part) -> str:
    """What a part rewards, in words."""
    return _static_text(ind, part)[0]


def how_to_earn(ind: Indicator, part: Part) -> str:
    """The condition for the part's full points, in words."""
    return _static_text(ind, part)[1]


def _static_text(ind: Indicator, part: Part) -> tuple[str, str]:
    """The part in words and how to earn it (cached on the part: the same for every unit)."""
    return part.memo(_static_text, lambda: (_part_text(ind, part), _how_to_earn(ind, part)))


def _part_text(ind: Indicator, part: Part) -> str:
    if part.label:
        return part.label
    if len(part.cases) == 1:
        case = part.cases[0]
        if isinstance(case.when, expr.Var):
            return ind.input(case.when.name).label
        return expr.render(case.when, input_names(ind), units=input_units(ind))
    return part.code


def _how_to_earn(ind: Indicator, part: Part) -> str:
    case = part.cases[0]
    rank = expr.render_value(part.rank_by, input_names(ind)) if part.rank_by is not None else ""
    text = expr.render(case.when, input_names(ind), rank, input_units(ind))
    if isinstance(case.when, expr.Var):
        text = f"{input_names(ind)[case.when.name]}为“是”"
    return text


def entered(u: UnitResult, ind: Indicator) -> list[dict[str, str]]:
    out = []
    for inp in ind.inputs:
        r = u.sheet.data.readings[inp.code]
        if r.error:
            value = f"{shown(r.raw)}（无法识别）"
        elif r.value is None:
            value = "未填写"
        elif isinstance(r.value, bool):
            value = "是" if r.value else "否"
        elif inp.kind == "tier":
            opt = next((o for o in inp.options if o.letter == r.value), None)
            value = opt.display if opt else str(r.value)
        else:
            value = fmt_points(r.value) + ("%" if inp.kind == "pct" else (inp.unit if inp.unit else ""))
        out.append({"code": inp.code, "label": inp.full_label, "value": value})
    return out


STATUS_WORDS = {"zero": "条件未满足", "unknown": "缺少或无法识别所需数据", "partial": "部分得分"}


def lost_parts(u: UnitResult, ind: Indicator, s: IndicatorScore,
               refs: Mapping[str, Fraction | None] | None = None) -> list[dict[str, Any]]:
    out = []
    if ind.is_tier:
        inp = ind.inputs[0]
        better = [o for o in inp.options if o.points > s.points]
        if better:
            best = max(better, key=lambda o: o.points)
            out.append({"what": tier_choice(ind, s.option.letter if s.option else None),
                        "lost": fmt_points(Fraction(best.points) - s.points),
                        "why": "档次未达最高档" if s.option else "未选择档次",
                        "earn": f"达到“{best.display}”"})
        return out
    for ps in s.parts:
        lost = ps.part.points - ps.points
        if ps.status == "na" or lost <= 0:
            continue
        why = STATUS_WORDS.get(ps.status, "")
        if ps.status in ("zero", "partial"):
            why = computed_text(ps.part, indicator_values(ind, u.sheet.data.facts), refs or {}) or why
        if ps.part.is_ranked:
            st = u.standings.get(ps.part.code)
            if st is not None and st.rank is not None:
                why = f"同级 {st.peers} 个单位中排第 {st.rank} 名，前 {st.front_cut} 名为前列"
        out.append({"what": part_text(ind, ps.part), "lost": fmt_points(lost), "why": why,
                    "earn": how_to_earn(ind, ps.part)})
    return out


def _finding(f: Finding) -> dict[str, Any]:
    return {"code": f.code, "severity": f.severity, "title": f.title, "message": f.message,
            "indicator": f.indicator, "input": f.input, "cell": f.cell, "value": f.value, "points": f.points}


#: the audit's sections in report order, (key, heading, codes): from the catalogue, so no finding is left out
#: (the verdict's findings, the vetoes answered 是, are stated in the report's 结论 from ``vetoes``)
AUDIT_SECTIONS = tuple(s for s in codes.section_codes() if s[0] != codes.VERDICT_SECTION)
_OVER_CLAIM = (codes.CLAIM_ABOVE_SCORE.code, codes.CLAIM_ABOVE_MAX.code)


def pass_line(b: BatchResult, u: UnitResult) -> dict[str, Any]:
    """Which findings could flip 合格/不合格, for units near the line or whose status depends on findings."""
    rubric = b.rubric
    total = Fraction(u.score.total)
    expert = exact_sum([u.score.indicators[i.code].points for i in rubric.indicators if i.expert])
    recoverable: list[tuple[str, Fraction]] = []
    for ind in rubric.indicators:
        for ps in u.score.indicators[ind.code].parts:
            if ps.status == "unknown":
                recoverable.append((f"{ps.part.code}（{part_text(ind, ps.part)}）缺少或无法识别所需数据",
                                    Fraction(ps.part.points) - ps.points))
    up = exact_sum([p for _, p in recoverable])
    claimed = u.sheet.data.claimed_total
    over = [f for f in u.findings if f.code in _OVER_CLAIM]
    items: list[str] = []
    mark = rubric.pass_mark
    scale = Fraction(rubric.total, rubric.total - u.score.na_points) if u.score.na_points else Fraction(1)
    if u.score.status == STATUS_PASS and expert and total - expert * scale < mark:
        items.append(f"专家现场核定的指标（{rubric.expert_text}）暂计 {fmt_points(expert)} 分；"
                     f"若核定分数降低超过 {fmt_points(total - mark)} 分，结论将变为不合格")
    if u.score.status == STATUS_FAIL and up and total + up * scale >= mark:
        items.append(f"有 {len(recoverable)} 个子项因缺填或无法识别未得分（最多 {fmt_points(up)} 分）；"
                     f"补正后总分可能达到 {mark} 分")
    if u.score.status == STATUS_FAIL and claimed >= mark and over:
        items.append(f"自评总分 {fmt_points(claimed)} 分达到合格线，但核算为 {fmt_points(total)} 分；"
                     f"{len(over)} 项自评高于核算得分，是结论不同的原因")
    near = abs(total - mark) <= NEAR_LINE
    if near and not items and u.score.status != STATUS_VETO:
        items.append(f"总分距合格线 {fmt_points(abs(total - mark))} 分，请重点复核排名项和专家核定项")
    return {"near": near or bool(items), "items": items, "recoverable": recoverable, "expert_points": expert,
            "recoverable_points": up}


def summary_view(b: BatchResult, u: UnitResult, peers: dict[str, Peers]) -> dict[str, Any]:
    """What ``index.md`` and ``comparison.xlsx`` need of a unit's view (cheap)."""
    p = peers[u.entry.level]
    s = u.score
    return {
        "id": u.id, "unit": u.entry.unit, "level": u.entry.level, "parent": u.entry.parent, "year": u.entry.year,
        "file": u.entry.file, "status": s.status, "total": f"{s.total}", "rank": p.ranks.get(u.id),
        "pass_line": pass_line(b, u),
    }


def _peer_groups(rubric: Rubric, p: Peers) -> list[dict[str, str]]:
    """The peers' figures of each group as the report shows them: the same for every unit of the
    level, so formatted once per level (kept with the peers)."""
    if p.shown is None:
        p.shown = [{"avg": fmt_points(p.group_avg[g.number]),
                    "avg_pct": f"{float(pct(p.group_avg[g.number], g.max)):.1f}",
                    "best": fmt_points(p.group_best[g.number])} for g in rubric.groups]
    return p.shown


def unit_view(b: BatchResult, u: UnitResult, peers: dict[str, Peers]) -> dict[str, Any]:
    """Everything the report template shows of one unit."""
    rubric: Rubric = b.rubric
    p = peers[u.entry.level]
    s = u.score
    groups = []
    for g, peers_shown in zip(rubric.groups, _peer_groups(rubric, p), strict=True):
        pts = s.group_points(g.number)
        groups.append({"number": g.number, "name": g.name, "points": fmt_points(pts), "max": g.max,
                       "pct": f"{float(pct(pts, g.max)):.1f}", **peers_shown})
    lost = []
    for ind in rubric.indicators:
        isc = s.indicators[ind.code]
        lost_value = isc.lost  # a property, computed in exact fractions: once
        if lost_value <= 0:
            continue
        lost.append({"code": ind.code, "title": ind.title, "max": ind.max, "points": fmt_points(isc.points),
                     "lost": fmt_points(lost_value), "lost_value": lost_value, "method": ind.method,
                     "entered": entered(u, ind), "parts": lost_parts(u, ind, isc, b.settings.policy.refs),
                     "expert": ind.expert})
    lost.sort(key=lambda x: (-x["lost_value"], [int(n) for n in x["code"].split(".")]))
    sections = []
    for key, title, members in AUDIT_SECTIONS:
        items = [_finding(f) for f in u.findings if f.code in members]
        if items:
            sections.append({"key": key, "title": title, "items": items})
    vetoes = [text for text, v in zip(rubric.vetoes, s.vetoes, strict=True) if v is True]
    counts = {sev: sum(1 for f in u.findings if f.severity == sev) for sev in (ERROR, WARNING, NOTE)}
    claimed = u.sheet.data.claimed_total
    return {
        **summary_view(b, u, peers),
        "raw_total": fmt_points(s.raw_total),
        "claimed_total": fmt_points(claimed), "pass_mark": rubric.pass_mark, "full": rubric.total,
        "gap": fmt_points(abs(Fraction(s.total) - rubric.pass_mark)), "above": Fraction(s.total) >= rubric.pass_mark,
        "na_points": s.na_points, "na_policy": b.settings.policy.na_policy, "vetoes": vetoes,
        "peers": p.n, "ranked_peers": p.ranked,
        "peer_avg_total": f"{float(p.total_avg):.1f}",
        "complete": s.complete, "missing": len(s.missing), "required": s.required,
        "groups": groups, "lost": lost, "lost_total": fmt_points(exact_sum([x["lost_value"] for x in lost])),
        "sections": sections, "counts": counts,
        "contact": u.sheet.data.text("QC_CONTACT") or "",
        "previous": report_previous(b, u, p.ranks.get(u.id)),  # last year, from the history database (or None)
        "review": report_review(b, u, p.ranks.get(u.id), peer_stats),  # 现场评审 (final stage only, or None)
        "expert_text": rubric.expert_text,
        "chart": False,  # set by publish when a CJK font is available
    }


@dataclass
class ReportSet:
    peers: dict[str, Peers]
    views: dict[str, dict[str, Any]] = field(default_factory=dict)


def build_views(b: BatchResult) -> ReportSet:
    """Every unit's view (``publish`` builds them in its workers instead)."""
    peers = peer_stats(b)
    rs = ReportSet(peers)
    for u in b.units:
        rs.views[u.id] = unit_view(b, u, peers)
    return rs
