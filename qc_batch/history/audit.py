"""Checks across the years and across units, and what the outputs show of earlier years.

:func:`across_years` runs at the end of the batch (before the outputs): it reads the
history database (never writes it), adds ``HISTORY_MISMATCH`` (a 3-year-series value for
an earlier year that differs from what the unit reported for that year) and
``RANK_CLAIM_CONFLICT`` (two units of a level claiming the same province rank, or a rank
beyond the number of units of the level) to the units' findings, and returns a
:class:`HistoryContext` for ``results.json``, the reports and the 历年 sheet.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from qc_batch import codes
from qc_batch.engine.findings import Finding, sort_key
from qc_batch.history.db import connect, history_path
from qc_batch.history.store import Record, best_records, by_name, current_records, fact_value, ranks_by_total, unit_key
from qc_batch.rubric.model import Input, Rubric

STATUS_PASS = "合格"
SHOWN = 5  # other units named in a RANK_CLAIM_CONFLICT message


def decimal_text(x: Fraction) -> str:
    """An exact value as decimal text: 97.5, 3, 0.125."""
    if x.denominator == 1:
        return str(x.numerator)
    d = (Decimal(x.numerator) / Decimal(x.denominator)).normalize()
    return format(d, "f")


def shown_value(inp: Input, v: Any) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, Fraction):
        text = decimal_text(v)
        return f"{text}%" if inp.kind == "pct" else f"第 {text} 名" if inp.kind == "rank" else text
    return str(v)


def round4(x: Fraction) -> int:
    """Ten-thousandths, half-up (values are compared after the reading rules, to 4 decimals)."""
    n, d = x.numerator, x.denominator
    return (20000 * n + d) // (2 * d)


def year_series(rubric: Rubric) -> dict[tuple[str, str], dict[int, Input]]:
    """Every 3-year series: (indicator, label) -> {year offset: input}."""
    out: dict[tuple[str, str], dict[int, Input]] = defaultdict(dict)
    for inp in rubric.inputs:
        if inp.year_offset is not None:
            out[(inp.indicator, inp.label)][inp.year_offset] = inp
    return dict(out)


_SERIES: dict[int, tuple[tuple[Rubric, list[dict[int, Input]]]]] = {}


def _series(rubric: Rubric) -> list[dict[int, Input]]:
    """:func:`year_series` in offset order, computed once per rubric object."""
    got = _SERIES.get(id(rubric))
    if got is None or got[0][0] is not rubric:
        got = ((rubric, [dict(sorted(s.items())) for s in year_series(rubric).values()]),)
        _SERIES[id(rubric)] = got
    return got[0][1]


def reported(best: Mapping[tuple[str, int], Record], key: str, year: int, series: Mapping[int, Input],
             before: int) -> tuple[Fraction, Record] | None:
    """What unit ``key`` reported for ``year`` in the series, in a run of a year before ``before``:
    the report of that year itself first (verified where verified), else the nearest later year's."""
    for offset in sorted(series, reverse=True):  # 0, -1, -2
        ry = year - offset
        if ry >= before:
            continue
        rec = best.get((key, ry))
        if rec is None:
            continue
        v = rec.fact(series[offset].code)
        if isinstance(v, Fraction):
            return v, rec
    return None


@dataclass(frozen=True)
class Previous:
    """A unit's record of its latest earlier year."""

    year: int
    total: str
    status: str
    rank: int | None
    ranked: int
    stage: str
    groups: Mapping[int, Fraction]     # group number -> points

    def to_dict(self) -> dict[str, Any]:
        total = Decimal(self.total)
        return {"year": self.year, "total": int(total) if total == total.to_integral_value() else float(total),
                "status": self.status, "rank": self.rank}


@dataclass
class HistoryContext:
    path: str
    years: list[int]                                   # earlier years on record
    previous: dict[str, Previous] = field(default_factory=dict)        # unit id -> its latest earlier year
    timeline: list[dict[str, Any]] = field(default_factory=list)       # 历年 sheet rows
    year_stats: list[dict[str, Any]] = field(default_factory=list)     # per year: units, pass, average


def _key(u: Any) -> str:
    e = u.entry
    return unit_key(e.level, e.parent, e.unit)


def _match(u: Any, keys: set[str], names: Mapping[tuple[str, str], list[Record]]) -> str | None:
    """The unit's key in the history; by level and name when the 所属市州 was written differently."""
    k = _key(u)
    if k in keys:
        return k
    cands = {r.unit_key for r in names.get((u.entry.level, u.entry.unit), ())}
    return next(iter(cands)) if len(cands) == 1 else None


def mismatch_findings(u: Any, key: str, best: Mapping[tuple[str, int], Record], rubric: Rubric,
                      year: int) -> list[Finding]:
    out = []
    facts = u.sheet.data.facts
    for series in _series(rubric):
        for offset, inp in series.items():
            v = facts.get(inp.code)
            if offset >= 0 or not isinstance(v, Fraction):
                continue
            target = year + offset
            got = reported(best, key, target, series, year)
            if got is None:
                continue
            w, rec = got
            if v == w or round4(v) == round4(w):
                continue
            c = codes.HISTORY_MISMATCH
            text = c.message(label=inp.label, year=target, value=shown_value(inp, v), source_year=rec.year,
                             what="专家核定值" if rec.stage == "final" else "报送值",
                             earlier=shown_value(inp, w), file=rec.file)
            out.append(Finding(c.code, text, inp.indicator, inp.code, u.sheet.cells.get(inp.name, ""),
                               shown_value(inp, v), name=inp.name))
    return out


def rank_claim_findings(units: Sequence[Any], rubric: Rubric, year: int,
                        level_counts: Mapping[str, tuple[int, str]]) -> dict[str, list[Finding]]:
    """``RANK_CLAIM_CONFLICT`` per unit id: for each claimed province rank (rank inputs),
    the same rank claimed by another unit of the level for the same measure and year, or a
    rank beyond the number of units of the level (``level_counts``: level -> (n, where from))."""
    claims: dict[tuple[str, int, str, Fraction], list[Any]] = defaultdict(list)
    ranked_inputs = [i for i in rubric.inputs if i.kind == "rank" and i.year_offset is not None]
    for u in units:
        facts = u.sheet.data.facts
        for inp in ranked_inputs:
            v = facts.get(inp.code)
            if isinstance(v, Fraction):
                claims[(inp.label, year + inp.year_offset, u.entry.level, v)].append((u, inp))
    out: dict[str, list[Finding]] = defaultdict(list)
    for (label, target, level, rank), holders in claims.items():
        n, where = level_counts.get(level, (0, ""))
        if len(holders) == 1 and not (n and rank > n):
            continue
        names = sorted({u.entry.unit for u, _ in holders})
        for u, inp in holders:
            others = [x for x in names[:SHOWN + 1] if x != u.entry.unit][:SHOWN]
            problems = []
            if others:
                more = f"等 {len(names) - 1} 个单位" if len(names) - 1 > len(others) else ""
                problems.append(f"与{'、'.join(others)}{more}填报的名次相同")
            if n and rank > n:
                problems.append(f"超过{level}单位总数 {n} 个（{where}）")
            if not problems:
                continue
            c = codes.RANK_CLAIM_CONFLICT
            text = c.message(label=label, year=target, rank=decimal_text(rank), problems="；".join(problems))
            out[u.id].append(Finding(c.code, text, inp.indicator, inp.code, u.sheet.cells.get(inp.name, ""),
                                     decimal_text(rank), name=inp.name))
    return out


def _level_counts(settings: Any, records: Sequence[Record]) -> dict[str, tuple[int, str]]:
    register: dict[str, int] = defaultdict(int)
    for e in getattr(settings, "expected_units", ()):
        register[e.level] += 1
    if register:
        return {lvl: (n, "据应报送单位名单") for lvl, n in register.items()}
    # else the units of earlier years (not this batch alone: the units that apply are not the province)
    keys: dict[str, set[str]] = defaultdict(set)
    for r in records:
        keys[r.level].add(r.unit_key)
    return {lvl: (len(ks), "据历年数据库") for lvl, ks in keys.items()}


def _previous(rec: Record, rubric: Rubric) -> Previous:
    scores = rec.raw_scores  # points as stored: mostly whole numbers, summed as such
    groups = {}
    for g in rubric.groups:
        got = [scores.get(i.code, 0) for i in g.indicators]
        whole = sum(v for v in got if isinstance(v, int))
        groups[g.number] = Fraction(whole) + sum((fact_value(v) for v in got if not isinstance(v, int)), Fraction(0))
    return Previous(rec.year, rec.total, rec.status, rec.rank, rec.ranked, rec.stage, groups)


def across_years(units: Sequence[Any], settings: Any, input_dir: Path | None, rubric: Rubric) -> HistoryContext | None:
    """Add the cross-year and cross-unit findings to ``units`` (unsorted) and return what the
    outputs show of earlier years; ``None`` when the history is turned off."""
    path = history_path(settings, input_dir)
    year = settings.year
    records: list[Record] = []
    if path is not None and path.is_file():
        conn = connect(path)
        try:
            records = current_records(conn, before=year)
        except sqlite3.Error:
            records = []
        finally:
            conn.close()
    conflicts = rank_claim_findings(units, rubric, year, _level_counts(settings, records))
    for u in units:
        if u.id in conflicts:
            u.findings += conflicts[u.id]
            u.findings.sort(key=sort_key)
    if path is None:
        return None
    best = best_records(records)
    keys = {r.unit_key for r in records}
    names = by_name(records)
    ctx = HistoryContext(str(path), sorted({r.year for r in records}))
    latest: dict[str, Record] = {}
    for (k, _y), rec in sorted(best.items(), key=lambda kv: kv[0][1]):
        latest[k] = rec
    for u in units:
        k = _match(u, keys, names)
        if k is None:
            continue
        u.findings += mismatch_findings(u, k, best, rubric, year)
        if k in latest:
            ctx.previous[u.id] = _previous(latest[k], rubric)
    for u in units:
        u.findings.sort(key=sort_key)
    if ctx.years:
        _timeline(ctx, units, best, year, rubric)
    return ctx


def _timeline(ctx: HistoryContext, units: Sequence[Any], best: Mapping[tuple[str, int], Record], year: int,
              rubric: Rubric) -> None:
    years = [*ctx.years, year]
    rows: dict[str, dict[str, Any]] = {}
    for (k, y), rec in best.items():
        row = rows.setdefault(k, {"unit": rec.unit, "level": rec.level, "parent": rec.parent, "years": {}})
        row["years"][y] = {"total": Decimal(rec.total), "status": rec.status, "rank": rec.rank}
    ranks = ranks_by_total(units)
    keys = {r.unit_key for r in best.values()}
    names = by_name(best.values())
    for n, u in enumerate(units):
        k = _match(u, keys, names) or _key(u)
        row = rows.setdefault(k, {"unit": u.entry.unit, "level": u.entry.level, "parent": u.entry.parent, "years": {}})
        row["years"][year] = {"total": u.score.total, "status": u.score.status, "rank": ranks[n][0]}
    level_order = {lvl: k for k, lvl in enumerate(rubric.levels)}
    ctx.timeline = sorted(rows.values(), key=lambda r: (level_order.get(r["level"], 9), r["parent"], r["unit"]))
    for y in years:
        totals = [r["years"][y] for r in ctx.timeline if y in r["years"]]
        n = len(totals)
        ctx.year_stats.append({
            "year": y, "units": n, "pass": sum(1 for t in totals if t["status"] == STATUS_PASS),
            "average": (sum((Fraction(t["total"]) for t in totals), Fraction(0)) / n) if n else None,
        })
