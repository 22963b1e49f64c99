"""Shared test data and helpers for the scoring tests.

``BEST`` is a unit that earns all 1060 points (every band 前列, both
national reference values given); ``WORST`` earns 0 on every indicator. The
``SPEC_*`` tables are Table A.1 typed from ``shared/spec/scoring-rules.md``
(not from ``rubric.yaml``), so a test comparing them with the rubric would
catch a changed point value.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from qc_batch.engine.scoring import Policy, UnitScore, score_unit
from qc_batch.rubric.model import load_rubric

RUBRIC = load_rubric()

REFS = {
    "export_notification_ratio_national": Fraction("0.0031"),
    "special_equipment_death_rate_national": Fraction("0.13"),
}

# The parts scored by 居…前列 / 中游 (spec: 5.1.a-d, 5.2, 8.6.b, 10.4.b).
RANKED = ("5.1.a", "5.1.b", "5.1.c", "5.1.d", "5.2.a", "8.6.b", "10.4.b")
ALL_FRONT = dict.fromkeys(RANKED, "front")
ALL_OTHER = dict.fromkeys(RANKED, "other")

# Indicator maxima, in table order (spec "## Indicators").
SPEC_MAX = {
    "1.1": 20, "1.2": 30, "1.3": 30,
    "2.1": 15, "2.2": 20, "2.3": 15, "2.4": 20, "2.5": 20, "2.6": 20,
    "3.1": 20, "3.2": 30, "3.3": 25, "3.4": 25, "3.5": 25,
    "4.1": 30, "4.2": 20, "4.3": 20, "4.4": 20, "4.5": 20, "4.6": 20, "4.7": 10, "4.8": 20,
    "5.1": 30, "5.2": 30, "5.3": 30, "5.4": 20,
    "6.1": 20, "6.2": 25, "6.3": 20, "6.4": 25,
    "7.1": 15, "7.2": 20, "7.3": 10, "7.4": 20, "7.5": 10, "7.6": 20,
    "8.1": 15, "8.2": 20, "8.3": 20, "8.4": 15, "8.5": 15, "8.6": 10,
    "9.1": 30,
    "10.1": 15, "10.2": 15, "10.3": 15, "10.4": 60,
    "11.1": 20, "11.2": 20, "11.3": 20,
}

# Tier indicators: option letter -> points (10.1/10.2: A capped at 15).
SPEC_TIERS = {
    "1.1": {"A": 20, "B": 10, "C": 0},
    "2.1": {"A": 15, "B": 5, "C": 0},
    "2.2": {"A": 20, "B": 10, "C": 0},
    "4.1": {"A": 30, "B": 24, "C": 18, "D": 0},
    "4.2": {"A": 20, "B": 10, "C": 0},
    "4.3": {"A": 20, "B": 10, "C": 0},
    "4.4": {"A": 20, "B": 10, "C": 0},
    "4.7": {"A": 10, "B": 5, "C": 0},
    "5.4": {"A": 20, "B": 10, "C": 5},
    "7.5": {"A": 10, "B": 5, "C": 0},
    "7.6": {"A": 20, "B": 10, "C": 0},
    "8.4": {"A": 15, "B": 10, "C": 0},
    "10.1": {"A": 15, "B": 15, "C": 5, "D": 0},
    "10.2": {"A": 15, "B": 15, "C": 0},
}

# Inputs of the other indicators and their kinds, in spec order.
SPEC_INPUTS = {
    "1.2": "a:bool b:bool c:bool",
    "1.3": "a:num b:num",
    "2.3": "a:bool b:bool c:bool",
    "2.4": "a:bool b:bool c1:pct c2:bool d1:bool d2:pct e:bool f:bool",
    "2.5": "a:bool b:bool c:bool",
    "2.6": "a:bool b:int c:bool",
    "3.1": "a:int b:int",
    "3.2": "a:bool b:bool c:bool d:bool",
    "3.3": "a:bool b:bool",
    "3.4": "a:bool b:pct c:bool d:bool e:bool",
    "3.5": "a:bool b1:bool b2:bool c:bool d:bool e1:bool e2:bool e3:pct",
    "4.5": "a:bool b:bool c:bool d:bool",
    "4.6": "a:bool b:bool c:bool d:bool",
    "4.8": "a:bool b:bool c:int",
    "5.1": "g:num h:num a1:bool a2:num b:int c:int d:int",
    "5.2": "a1:bool a2:int",
    "5.3": "a:bool b1:int b2:num",
    "6.1": "a:pct b:pct",
    "6.2": "a:pct b:pct c:bool d:bool e:bool",
    "6.3": "a1:rank a2:rank a3:rank a4:rank a5:rank a6:rank b1:int b2:int b3:int c:bool",
    "6.4": "a:bool b1:int b2:int c:bool",
    "7.1": "a:pct",
    "7.2": "a:pct",
    "7.3": "a1:pct a2:pct a3:pct a4:pct a5:pct a6:pct b1:bool b2:pct",
    "7.4": "a:pct b:pct",
    "8.1": "a1:int a2:int a3:bool",
    "8.2": "a:bool b:bool",
    "8.3": "a:bool b:bool c:bool d:bool",
    "8.5": "a:int b:int c:int",
    "8.6": "a1:num a2:num a3:num",
    "9.1": "a:bool b:bool c:bool d:bool",
    "10.3": "a:bool b:bool c:bool",
    "10.4": "a:bool b:num",
    "11.1": "a:bool b:bool",
    "11.2": "a:bool b:bool",
    "11.3": "a:bool b:bool",
}

Y, N = True, False


def _facts(text: str) -> dict[str, Any]:
    """``"1.2.a=Y 1.3.a=12 1.1=A"`` -> facts; numbers become exact Fractions."""
    out: dict[str, Any] = {}
    for item in text.split():
        code, value = item.split("=")
        if value in ("Y", "N"):
            out[code] = value == "Y"
        elif value == "-":
            out[code] = None
        elif value.isalpha():
            out[code] = value
        else:
            out[code] = Fraction(value)
    return out


BEST = _facts("""
    1.1=A 1.2.a=Y 1.2.b=Y 1.2.c=Y 1.3.a=12 1.3.b=10000
    2.1=A 2.2=A 2.3.a=Y 2.3.b=Y 2.3.c=Y
    2.4.a=Y 2.4.b=Y 2.4.c1=85 2.4.c2=Y 2.4.d1=Y 2.4.d2=90 2.4.e=Y 2.4.f=Y
    2.5.a=Y 2.5.b=Y 2.5.c=Y 2.6.a=Y 2.6.b=3 2.6.c=Y
    3.1.a=1 3.1.b=2 3.2.a=Y 3.2.b=Y 3.2.c=Y 3.2.d=Y 3.3.a=Y 3.3.b=Y
    3.4.a=Y 3.4.b=98 3.4.c=Y 3.4.d=Y 3.4.e=Y
    3.5.a=Y 3.5.b1=Y 3.5.b2=Y 3.5.c=Y 3.5.d=Y 3.5.e1=Y 3.5.e2=Y 3.5.e3=99.5
    4.1=A 4.2=A 4.3=A 4.4=A 4.5.a=Y 4.5.b=Y 4.5.c=Y 4.5.d=Y 4.6.a=Y 4.6.b=Y 4.6.c=Y 4.6.d=Y
    4.7=A 4.8.a=Y 4.8.b=Y 4.8.c=4
    5.1.g=5000 5.1.h=400 5.1.a1=Y 5.1.a2=800 5.1.b=12 5.1.c=5 5.1.d=8
    5.2.a1=Y 5.2.a2=6 5.3.a=Y 5.3.b1=900 5.3.b2=300 5.4=A
    6.1.a=97.5 6.1.b=100 6.2.a=98.6 6.2.b=99.1 6.2.c=Y 6.2.d=Y 6.2.e=Y
    6.3.a1=3 6.3.a2=2 6.3.a3=1 6.3.a4=5 6.3.a5=4 6.3.a6=4 6.3.b1=0 6.3.b2=2 6.3.b3=1500 6.3.c=Y
    6.4.a=Y 6.4.b1=52000 6.4.b2=0 6.4.c=Y
    7.1.a=100 7.2.a=99 7.3.a1=60 7.3.a2=65 7.3.a3=70 7.3.a4=20 7.3.a5=25 7.3.a6=30
    7.3.b1=Y 7.3.b2=100 7.4.a=100 7.4.b=100 7.5=A 7.6=A
    8.1.a1=1 8.1.a2=3 8.1.a3=N 8.2.a=Y 8.2.b=Y 8.3.a=Y 8.3.b=Y 8.3.c=Y 8.3.d=Y 8.4=A
    8.5.a=1 8.5.b=3 8.5.c=1 8.6.a1=80 8.6.a2=82.5 8.6.a3=85
    9.1.a=Y 9.1.b=Y 9.1.c=Y 9.1.d=Y
    10.1=A 10.2=A 10.3.a=Y 10.3.b=Y 10.3.c=Y 10.4.a=Y 10.4.b=88
    11.1.a=Y 11.1.b=Y 11.2.a=Y 11.2.b=Y 11.3.a=Y 11.3.b=Y
""")

# Every input answered as badly as a unit can, except 5.2.a1 and 5.4: 5.2
# gives 5 to any unit that answered a1 (是 or 否) and 5.4's lowest option is
# worth 5, so only a blank earns 0 there. Score with ALL_OTHER bands.
WORST = _facts("""
    1.1=C 1.2.a=N 1.2.b=N 1.2.c=N 1.3.a=0 1.3.b=10000
    2.1=C 2.2=C 2.3.a=N 2.3.b=N 2.3.c=N
    2.4.a=N 2.4.b=N 2.4.c1=50 2.4.c2=N 2.4.d1=Y 2.4.d2=40 2.4.e=N 2.4.f=N
    2.5.a=N 2.5.b=N 2.5.c=N 2.6.a=N 2.6.b=1 2.6.c=N
    3.1.a=0 3.1.b=0 3.2.a=N 3.2.b=N 3.2.c=N 3.2.d=N 3.3.a=N 3.3.b=N
    3.4.a=N 3.4.b=90 3.4.c=N 3.4.d=N 3.4.e=N
    3.5.a=N 3.5.b1=Y 3.5.b2=N 3.5.c=N 3.5.d=N 3.5.e1=N 3.5.e2=N 3.5.e3=90
    4.1=D 4.2=C 4.3=C 4.4=C 4.5.a=N 4.5.b=N 4.5.c=N 4.5.d=N 4.6.a=N 4.6.b=N 4.6.c=N 4.6.d=N
    4.7=C 4.8.a=N 4.8.b=N 4.8.c=1
    5.1.g=5000 5.1.h=400 5.1.a1=Y 5.1.a2=0 5.1.b=0 5.1.c=0 5.1.d=0
    5.2.a1=- 5.2.a2=- 5.3.a=N 5.3.b1=100 5.3.b2=300 5.4=-
    6.1.a=90 6.1.b=99 6.2.a=97 6.2.b=97 6.2.c=N 6.2.d=N 6.2.e=N
    6.3.a1=8 6.3.a2=9 6.3.a3=12 6.3.a4=6 6.3.a5=7 6.3.a6=10 6.3.b1=2 6.3.b2=9 6.3.b3=100 6.3.c=N
    6.4.a=N 6.4.b1=10000 6.4.b2=1 6.4.c=N
    7.1.a=90 7.2.a=80 7.3.a1=70 7.3.a2=65 7.3.a3=60 7.3.a4=30 7.3.a5=25 7.3.a6=20
    7.3.b1=N 7.3.b2=90 7.4.a=90 7.4.b=90 7.5=C 7.6=C
    8.1.a1=0 8.1.a2=0 8.1.a3=N 8.2.a=N 8.2.b=N 8.3.a=N 8.3.b=N 8.3.c=N 8.3.d=N 8.4=C
    8.5.a=0 8.5.b=2 8.5.c=0 8.6.a1=85 8.6.a2=85 8.6.a3=80
    9.1.a=N 9.1.b=N 9.1.c=N 9.1.d=N
    10.1=D 10.2=C 10.3.a=N 10.3.b=N 10.3.c=N 10.4.a=N 10.4.b=60
    11.1.a=N 11.1.b=N 11.2.a=N 11.2.b=N 11.3.a=N 11.3.b=N
""")


def value(x: Any) -> Any:
    """A test literal as a fact: bools, letters and None as is, numbers exact."""
    if x is None or isinstance(x, bool | Fraction):
        return x
    if isinstance(x, str) and x.isalpha():
        return x
    return Fraction(str(x))


def score(facts: Mapping[str, Any], *, bands: Mapping[str, Any] | None = None,
          refs: Mapping[str, Fraction | None] | None = REFS, na_policy: str = "prorate",
          vetoes: tuple[bool | None, ...] = ()) -> UnitScore:
    policy = Policy(refs=dict(refs or {}), na_policy=na_policy)  # type: ignore[arg-type]
    return score_unit(RUBRIC, facts, vetoes, policy, bands)


def part_points(part_code: str, *, band: str | None = None,
                refs: Mapping[str, Fraction | None] | None = REFS, **inputs: Any) -> Fraction:
    """Points of one part (``"2.4.c"``) for a unit that gave only ``inputs``
    (keyed by local input id: ``c1=80, c2=True``)."""
    ind_code, part_id = part_code.rsplit(".", 1)
    facts = {f"{ind_code}.{k}": value(v) for k, v in inputs.items()}
    result = score(facts, bands={part_code: band}, refs=refs)
    (ps,) = [p for p in result.indicators[ind_code].parts if p.part.id == part_id]
    return ps.points


def with_indicators(base: Mapping[str, Any], source: Mapping[str, Any], codes: set[str]) -> dict[str, Any]:
    """``base`` with the inputs of the indicators in ``codes`` taken from ``source``."""
    out = dict(base)
    for code in codes:
        for inp in RUBRIC.indicator(code).inputs:
            out[inp.code] = source[inp.code]
    return out


def facts_worth(raw: int, *, port: bool = True) -> dict[str, Any]:
    """Facts of a unit whose raw total (before proration) is ``raw`` when scored
    with ``ALL_FRONT``: ``BEST`` with whole unranked indicators switched to
    ``WORST`` and 7.1 (one point per 0.5%) tuned for the last few points."""
    facts = dict(BEST)
    if not port:
        facts["3.5.b1"], facts["3.5.b2"] = False, None
    deficit = (1060 if port else 1055) - raw
    keep = {"3.5", "7.1", *(code.rsplit(".", 1)[0] for code in RANKED)}
    for ind in sorted(RUBRIC.indicators, key=lambda i: -i.max):
        if ind.code not in keep and ind.max <= deficit:
            facts = with_indicators(facts, WORST, {ind.code})
            deficit -= ind.max
    assert 0 <= deficit <= 15, deficit
    facts["7.1.a"] = 100 - Fraction(deficit, 2)  # each 0.5% below 100 costs 1 point
    return facts
