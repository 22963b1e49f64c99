"""The scoring engine: typed facts in, exact points out.

Pure functions, no I/O. Facts are keyed by input code (``"1.3.a"``; a tier
indicator's single input is keyed by the indicator code, ``"1.1"``): booleans
for bool inputs, the option letter for tiers, :class:`~fractions.Fraction` for
numbers (percentages as percent values, ``97.5``), ``None`` for missing.
Ranking items need the unit's band among its peers (see :mod:`qc_batch.engine.ranking`);
without it they are unknown and earn nothing.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from qc_batch.rubric import expr
from qc_batch.rubric.expr import Band, Env, Value
from qc_batch.rubric.model import Indicator, Input, Option, Part, Rubric

NaPolicy = Literal["prorate", "full"]
STATUS_PASS = "合格"
STATUS_FAIL = "不合格"
STATUS_VETO = "不予受理"

Facts = Mapping[str, Value | str]


@dataclass(frozen=True)
class Policy:
    """What the bureau sets each year that changes scores."""

    refs: Mapping[str, Fraction | None] = field(default_factory=dict)
    na_policy: NaPolicy = "prorate"
    rank_fraction: Fraction = Fraction(1, 3)


@dataclass(frozen=True)
class PartScore:
    part: Part
    points: Fraction
    # earned: full points; partial: some; zero: a known 0; unknown: a missing or
    # unreadable input (or reference value) decided it; na: 合理缺项
    status: Literal["earned", "partial", "zero", "unknown", "na"]
    case: int | None = None  # index of the case that applied
    rank_value: Fraction | None = None
    band: Band | None = None


@dataclass(frozen=True)
class IndicatorScore:
    indicator: Indicator
    points: Fraction
    na_points: int
    parts: tuple[PartScore, ...]
    option: Option | None = None
    missing: tuple[str, ...] = ()

    @property
    def lost(self) -> Fraction:
        return self.indicator.max - self.na_points - self.points


@dataclass(frozen=True)
class UnitScore:
    indicators: Mapping[str, IndicatorScore]
    raw_total: Fraction
    na_points: int
    total: Decimal
    exact_total: Fraction
    vetoes: tuple[bool | None, ...]
    status: str
    missing: tuple[str, ...]
    required: int

    @property
    def vetoed(self) -> bool:
        return any(v is True for v in self.vetoes)

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def completeness(self) -> Fraction:
        if not self.required:
            return Fraction(1)
        return Fraction(self.required - len(self.missing), self.required)

    def group_points(self, group: int) -> Fraction:
        return self._groups.get(group, Fraction(0))

    @functools.cached_property
    def _groups(self) -> dict[int, Fraction]:
        points: dict[int, list[Fraction]] = {}
        for s in self.indicators.values():
            points.setdefault(s.indicator.group, []).append(s.points)
        return {g: exact_sum(v) for g, v in points.items()}


# Points are small whole numbers nearly always: shared Fraction objects for them mean one
# object per value instead of one per part in every unit, which a worker's pickled sheet
# then sends once (the batch's main process unpickles ~150 fewer objects per unit)
_WHOLE = tuple(Fraction(k) for k in range(257))


def _shared(x: Fraction) -> Fraction:
    """``x`` itself, or the equal shared object for a small whole number."""
    if x.denominator == 1 and 0 <= x.numerator < len(_WHOLE):
        return _WHOLE[x.numerator]
    return x


def _whole(k: int) -> Fraction:
    return _WHOLE[k] if type(k) is int and 0 <= k < len(_WHOLE) else Fraction(k)


def indicator_values(ind: Indicator, facts: Facts) -> dict[str, Value]:
    """The indicator's facts keyed by local input id (``a``, ``c1``)."""
    return {i.id: facts.get(i.code) for i in ind.inputs}  # type: ignore[misc]


def rank_values(rubric: Rubric, facts: Facts) -> dict[str, Fraction | None]:
    """The figure each ranked part ranks a unit by (part code -> value or None)."""
    out: dict[str, Fraction | None] = {}
    for ind in rubric.indicators:
        vals = None
        for part in ind.parts:
            if part.rank_by is None:
                continue
            vals = vals if vals is not None else indicator_values(ind, facts)
            v = expr.evaluate(part.rank_by, Env(vals, {}))
            out[part.code] = v if isinstance(v, Fraction) else None
    return out


def is_required(inp: Input, values: Mapping[str, Value]) -> bool:
    """Whether an official must fill ``inp`` given the indicator's other values.

    An input with ``required_if`` is required only when that condition is
    known to hold; expert-rated tiers (5.4) are filled by the experts.
    """
    if inp.required_if is None:
        return True
    return expr.evaluate(inp.required_if, Env(values, {})) is True


def score_part(part: Part, values: Mapping[str, Value], policy: Policy,
               band: Band | None, rank_value: Fraction | None = None) -> tuple[PartScore, int]:
    """Score one part; returns the score and the points not applicable."""
    env = Env(values, policy.refs, band)
    if part.na is not None and expr.evaluate(part.na, env) is True:
        if policy.na_policy == "full":
            return PartScore(part, _whole(part.points), "na", None, rank_value, band), 0
        return PartScore(part, _WHOLE[0], "na", None, rank_value, band), part.points
    unknown = False
    for k, case in enumerate(part.cases):
        cond = expr.evaluate(case.when, env)
        if cond is None:
            unknown = True
            continue
        if cond is True:
            pts = expr.evaluate(case.points, env)
            if not isinstance(pts, Fraction):
                return PartScore(part, _WHOLE[0], "unknown", k, rank_value, band), 0
            pts = _shared(min(max(pts, _WHOLE[0]), _whole(part.points)))
            status = "earned" if pts == part.points else ("zero" if pts == 0 else "partial")
            return PartScore(part, pts, status, k, rank_value, band), 0
    return PartScore(part, _WHOLE[0], "unknown" if unknown else "zero", None, rank_value, band), 0


def score_indicator(ind: Indicator, facts: Facts, policy: Policy,
                    bands: Mapping[str, Band | None], ranks: Mapping[str, Fraction | None]
                    ) -> IndicatorScore:
    values = indicator_values(ind, facts)
    missing = tuple(
        i.code for i in ind.inputs
        if values.get(i.id) is None and not (ind.expert and ind.is_tier) and is_required(i, values)
    )
    if ind.is_tier:
        letter = values.get("")
        option = next((o for o in ind.inputs[0].options if o.letter == letter), None)
        pts = _whole(option.points if option else 0)
        return IndicatorScore(ind, pts, 0, (), option, missing)
    parts = []
    na_total = 0
    for part in ind.parts:
        ps, na = score_part(part, values, policy, bands.get(part.code), ranks.get(part.code))
        parts.append(ps)
        na_total += na
    return IndicatorScore(ind, _shared(exact_sum([p.points for p in parts])), na_total, tuple(parts),
                          None, missing)


def _common_denominator(values: Sequence[Fraction | int]) -> int:
    common = 1
    for v in values:
        d = v.denominator
        if common % d:
            common = common * d // math.gcd(common, d)
    return common


def exact_sum(values: Sequence[Fraction | int]) -> Fraction:
    """The exact sum of fractions, over their common denominator (several times faster than
    adding Fractions one by one, which reduces every partial sum)."""
    common = _common_denominator(values)
    return Fraction(sum(v.numerator * (common // v.denominator) for v in values), common)


def exact_max(values: Sequence[Fraction]) -> Fraction:
    """The largest value, compared as integer numerators over the common denominator."""
    common = _common_denominator(values)
    return max(values, key=lambda v: v.numerator * (common // v.denominator))


def round_half_up(x: Fraction, places: int = 1) -> Decimal:
    """Round a non-negative exact value half-up (四舍五入) to ``places`` decimals."""
    scale = 10**places
    q = math.floor(x * scale + Fraction(1, 2))
    return Decimal(q).scaleb(-places)


def score_unit(rubric: Rubric, facts: Facts, vetoes: tuple[bool | None, ...] = (),
               policy: Policy | None = None,
               bands: Mapping[str, Band | None] | None = None) -> UnitScore:
    """Score one unit.

    ``bands`` maps ranked part codes (``"5.1.b"``) to the unit's band among its
    peers; a part with no band earns nothing from its ranking condition.
    """
    policy = policy or Policy()
    bands = bands or {}
    ranks = rank_values(rubric, facts)
    scores = {ind.code: score_indicator(ind, facts, policy, bands, ranks) for ind in rubric.indicators}
    required = sum(
        1 for ind in rubric.indicators for i in ind.inputs
        if not (ind.expert and ind.is_tier) and is_required(i, indicator_values(ind, facts))
    )
    return _assemble(rubric, scores, tuple(vetoes), required)


def rescore_ranked(rubric: Rubric, base: UnitScore, facts: Facts, policy: Policy,
                   bands: Mapping[str, Band | None], ranks: Mapping[str, Fraction | None] | None = None
                   ) -> UnitScore:
    """``base`` with the ranked indicators scored again for the unit's real ``bands``
    (``ranks``: :func:`rank_values` of ``facts``, when known). ``base`` was scored from the
    same ``facts`` and ``policy``."""
    ranks = rank_values(rubric, facts) if ranks is None else ranks
    scores = dict(base.indicators)
    for ind in rubric.indicators:
        if ind.is_ranked and not _same_ranking(scores[ind.code], bands, ranks):
            scores[ind.code] = score_indicator(ind, facts, policy, bands, ranks)
    return _assemble(rubric, scores, base.vetoes, base.required)


def _same_ranking(s: IndicatorScore, bands: Mapping[str, Band | None],
                  ranks: Mapping[str, Fraction | None]) -> bool:
    """Whether ``s`` was scored with these bands and figures already: then scoring it again
    gives the same score (a ranked part's score depends only on the facts, the policy, its
    band and its figure), and the batch skips it for every unit that stays in the band the
    sheet assumed."""
    if not s.parts:
        return False
    for p in s.parts:
        code = p.part.code
        if p.band != bands.get(code) or p.rank_value != ranks.get(code):
            return False
    return True


def _assemble(rubric: Rubric, scores: Mapping[str, IndicatorScore], vetoes: tuple[bool | None, ...],
              required: int) -> UnitScore:
    raw = exact_sum([s.points for s in scores.values()])
    na = sum(s.na_points for s in scores.values())
    exact = raw * rubric.total / (rubric.total - na) if na else raw
    total = round_half_up(exact)
    if any(v is True for v in vetoes):
        status = STATUS_VETO
    elif total >= rubric.pass_mark:
        status = STATUS_PASS
    else:
        status = STATUS_FAIL
    missing = tuple(m for s in scores.values() for m in s.missing)
    return UnitScore(scores, raw, na, total, exact, vetoes, status, missing, required)


def sheet_bands(rubric: Rubric, facts: Facts, *, optimistic: bool = False) -> dict[str, Band | None]:
    """The bands the score sheet assumes inside one workbook.

    Pessimistic (what the live score shows): no ranking item is in 前列 or
    中游. Optimistic (the sheet's "最高可得"): every ranked figure above 0 is
    in 前列.
    """
    out: dict[str, Band | None] = {}
    for code, v in rank_values(rubric, facts).items():
        if not optimistic:
            out[code] = "other"
        else:
            out[code] = None if v is None else ("front" if v > 0 else "other")
    return out
