"""Every rule of Table A.1 (shared/spec/scoring-rules.md), at its thresholds.

Each threshold is tried exactly on, one smallest realistic step below (0.0001
of a percent, one count, 0.0001 of an amount) and above, so changing a
threshold, its points or its comparison (>= vs >) fails a test here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qc_batch.engine.scoring import round_half_up

from .facts import (
    ALL_FRONT,
    BEST,
    REFS,
    RUBRIC,
    SPEC_TIERS,
    facts_worth,
    part_points,
    score,
)

Y, N = True, False


def cases(*rows):
    """Parametrize rows, each with a readable id from its last element."""
    return [pytest.param(*row[:-1], id=row[-1]) for row in rows]


# --- tier indicators ---------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "letter", "points"),
    [pytest.param(c, l, p, id=f"{c}-{l}-{p}") for c, opts in SPEC_TIERS.items() for l, p in opts.items()],
)
def test_tier_option_scores_its_points(code, letter, points):
    assert score({code: letter}).indicators[code].points == points


@pytest.mark.parametrize("code", list(SPEC_TIERS))
def test_tier_not_chosen_scores_0(code):
    assert score({}).indicators[code].points == 0


@pytest.mark.parametrize("code", ["10.1", "10.2"])
def test_10_1_10_2_options_a_and_b_both_score_15_not_25(code):
    assert score({code: "A"}).indicators[code].points == 15
    assert score({code: "B"}).indicators[code].points == 15


@pytest.mark.parametrize(("letter", "points"), [("A", 20), ("B", 10), ("C", 5), (None, 0)])
def test_5_4_expert_rating_a_b_c_20_10_5_missing_0(letter, points):
    assert score({"5.4": letter}).indicators["5.4"].points == points


# --- plain 是/否 items ("bool a 10": a earns 10 when 是) ---------------------

BOOL_ITEMS = {
    "1.2.a": 10, "1.2.b": 10, "1.2.c": 10,
    "2.3.a": 5, "2.3.b": 5, "2.3.c": 5,
    "2.4.a": 6, "2.4.b": 3, "2.4.e": 3, "2.4.f": 2,
    "2.5.a": 10, "2.5.b": 5, "2.5.c": 5,
    "2.6.a": 10, "2.6.c": 5,
    "3.2.a": 10, "3.2.b": 10, "3.2.c": 5, "3.2.d": 5,
    "3.3.a": 15, "3.3.b": 10,
    "3.4.a": 5, "3.4.c": 5, "3.4.d": 5, "3.4.e": 5,
    "3.5.a": 5, "3.5.c": 5, "3.5.d": 5,
    "4.5.a": 5, "4.5.b": 5, "4.5.c": 5, "4.5.d": 5,
    "4.6.a": 5, "4.6.b": 5, "4.6.c": 5, "4.6.d": 5,
    "4.8.a": 10, "4.8.b": 5,
    "5.3.a": 20,
    "6.2.c": 5, "6.2.d": 5, "6.2.e": 5,
    "6.3.c": 5,
    "6.4.a": 10, "6.4.c": 5,
    "8.2.a": 10, "8.2.b": 10,
    "10.3.a": 5, "10.3.b": 5, "10.3.c": 5,
    "10.4.a": 30,
    "11.1.a": 10, "11.1.b": 10, "11.2.a": 10, "11.2.b": 10, "11.3.a": 10, "11.3.b": 10,
}


@pytest.mark.parametrize(("code", "points"), list(BOOL_ITEMS.items()))
def test_yes_no_item_earns_its_points_only_when_yes(code, points):
    iid = code.rsplit(".", 1)[1]
    assert part_points(code, **{iid: Y}) == points
    assert part_points(code, **{iid: N}) == 0
    assert part_points(code) == 0  # missing earns nothing


def test_group_11_innovation_items_all_yes_give_60():
    facts = {f"11.{k}.{x}": True for k in (1, 2, 3) for x in "ab"}
    assert score(facts).group_points(11) == 60


# --- single-threshold items --------------------------------------------------

# part, input, threshold, points, step (the smallest realistic difference)
THRESHOLDS = [
    ("2.6.b", "b", "2", 5, "1"),  # 政府领导参与质量月重点活动 2项以上
    ("3.1.a", "a", "1", 10, "1"),
    ("3.1.b", "b", "1", 10, "1"),
    ("3.4.b", "b", "95", 5, "0.0001"),
    ("4.8.c", "c", "2", 5, "1"),
    ("6.1.a", "a", "95", 10, "0.0001"),
    ("6.1.b", "b", "100", 10, "0.0001"),
    ("6.2.a", "a", "98", 5, "0.0001"),
    ("6.2.b", "b", "98", 5, "0.0001"),
    ("7.4.a", "a", "100", 10, "0.0001"),
    ("7.4.b", "b", "100", 10, "0.0001"),
    ("8.5.a", "a", "1", 5, "1"),
    ("8.5.b", "b", "3", 5, "1"),
    ("8.5.c", "c", "1", 5, "1"),
]


def _threshold_cases():
    for code, iid, t, points, step in THRESHOLDS:
        on, d = Fraction(t), Fraction(step)
        yield pytest.param(code, iid, on, points, id=f"{code}-{t}-on")
        yield pytest.param(code, iid, on - d, 0, id=f"{code}-{on - d}-below")
        if on < 100:  # a percentage cannot exceed 100
            yield pytest.param(code, iid, on + d, points, id=f"{code}-{on + d}-above")
    for code, iid, _, _, _ in THRESHOLDS:
        yield pytest.param(code, iid, None, 0, id=f"{code}-missing")


@pytest.mark.parametrize(("code", "iid", "val", "points"), list(_threshold_cases()))
def test_threshold_item_at_boundary(code, iid, val, points):
    assert part_points(code, **{iid: val}) == points


# --- 1.3 经费占财政一般预算收入比例 r = a/b*1000 ‰ ---------------------------


@pytest.mark.parametrize(
    ("a", "b", "points"),
    cases(
        ("10", "10000", 30, "1permille"),
        ("9.9999", "10000", 20, "0.99999permille"),
        ("25", "10000", 30, "2.5permille"),
        ("6", "10000", 20, "0.6permille"),
        ("5.9999", "10000", 10, "0.59999permille"),
        ("3", "10000", 10, "0.3permille"),
        ("2.9999", "10000", 0, "0.29999permille"),
        ("0", "10000", 0, "no-funds"),
        ("6", "0", 0, "budget-0-is-invalid"),
        (None, "10000", 0, "funds-missing"),
        ("6", None, 0, "budget-missing"),
    ),
)
def test_1_3_budget_ratio_ladder_30_20_10_0(a, b, points):
    assert part_points("1.3.r", a=a, b=b) == points


def test_1_3_budget_ratio_exactly_0_6_permille_scores_20():
    assert part_points("1.3.r", a="6", b="10000") == 20


def test_1_3_budget_ratio_exactly_1_permille_scores_30_where_floats_drift():
    assert 1.003 / 1003 * 1000 < 1  # what binary floating point would compute
    assert part_points("1.3.r", a="1.003", b="1003") == 30


# --- 2.4 质量诚信体系 -----------------------------------------------------------


@pytest.mark.parametrize(
    ("c1", "c2", "points"),
    cases(
        ("80", Y, 3, "80-and-shared"),
        ("79.9999", Y, 0, "just-below-80"),
        ("100", Y, 3, "100-and-shared"),
        ("80", N, 0, "not-shared"),
        (None, Y, 0, "rate-missing"),
        ("90", None, 0, "sharing-missing"),
    ),
)
def test_2_4_c_credit_files_rate_80_and_shared_scores_3(c1, c2, points):
    assert part_points("2.4.c", c1=c1, c2=c2) == points


@pytest.mark.parametrize(
    ("d1", "d2", "points"),
    cases(
        (Y, "80", 3, "platform-and-80"),
        (Y, "79.9999", 0, "just-below-80"),
        (Y, "80.0001", 3, "above-80"),
        (N, "90", 0, "no-platform"),
        (Y, None, 0, "rate-missing"),
        (None, "90", 0, "platform-missing"),
    ),
)
def test_2_4_d_traceability_platform_and_rate_80_scores_3(d1, d2, points):
    assert part_points("2.4.d", d1=d1, d2=d2) == points


# --- 3.5 出入境 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("b1", "b2", "points"),
    cases(
        (Y, Y, 5, "port-who-compliant"),
        (Y, N, 0, "port-not-compliant"),
        (Y, None, 0, "compliance-missing"),
        (None, None, 0, "all-missing"),
    ),
)
def test_3_5_b_who_port_scores_5(b1, b2, points):
    assert part_points("3.5.b", b1=b1, b2=b2) == points


def test_3_5_b_port_question_blank_but_who_port_yes_scores_5():
    """Read as the spec's "if b1 is 否: not applicable; else 5 if b2": a blank
    b1 is not 否, and a WHO-compliant port implies a port."""
    assert part_points("3.5.b", b1=None, b2=Y) == 5


def test_3_5_b_no_port_is_not_applicable():
    result = score({"3.5.b1": False}).indicators["3.5"]
    (b,) = [p for p in result.parts if p.part.id == "b"]
    assert b.status == "na"
    assert result.na_points == 5


def test_3_5_b_no_port_prorates_total_by_1060_over_1055():
    facts = dict(BEST, **{"3.5.b1": False, "3.5.b2": None})
    result = score(facts, bands=ALL_FRONT)
    assert result.raw_total == 1055
    assert result.na_points == 5
    assert result.exact_total == 1060
    assert str(result.total) == "1060.0"


def test_3_5_b_no_port_prorate_rounds_raw_times_1060_over_1055_half_up():
    result = score(facts_worth(900, port=False), bands=ALL_FRONT)
    assert result.raw_total == 900
    assert result.exact_total == Fraction(900 * 1060, 1055)  # 904.265...
    assert str(result.total) == "904.3"


def test_3_5_b_no_port_policy_full_awards_the_5_points():
    facts = dict(facts_worth(900, port=False))
    result = score(facts, bands=ALL_FRONT, na_policy="full")
    assert result.indicators["3.5"].points == 25
    assert result.na_points == 0
    assert str(result.total) == "905.0"


def test_3_5_b_no_port_ignores_who_answer():
    for b2 in (True, False, None):
        assert part_points("3.5.b", b1=N, b2=b2) == 0
        assert score({"3.5.b1": False, "3.5.b2": b2}).na_points == 5


@pytest.mark.parametrize(
    ("e1", "e2", "e3", "points"),
    cases(
        (Y, Y, None, 5, "demo-zone-rate-blank"),  # Kleene: 是 or unknown is 是
        (Y, N, "99", 5, "rate-exactly-99"),
        (Y, N, "98.9999", 0, "rate-just-below-99"),
        (Y, N, "100", 5, "rate-100"),
        (Y, Y, "50", 5, "demo-zone-low-rate"),
        (Y, None, "99", 5, "zone-blank-rate-99"),
        (Y, None, "98", 0, "zone-blank-rate-98"),
        (Y, N, None, 0, "no-zone-rate-blank"),
        (N, Y, "100", 0, "no-traceability"),
        (None, Y, "100", 0, "traceability-blank"),
    ),
)
def test_3_5_e_traceability_and_demo_zone_or_rate_99_scores_5(e1, e2, e3, points):
    assert part_points("3.5.e", e1=e1, e2=e2, e3=e3) == points


# --- 5.1 / 5.2 ranking items ---------------------------------------------------


@pytest.mark.parametrize(
    ("a1", "band", "points"),
    cases(
        (Y, "front", 10, "evaluated-front"),
        (Y, "middle", 0, "evaluated-middle"),
        (Y, "other", 0, "evaluated-other"),
        (Y, None, 0, "evaluated-no-band"),
        (N, "front", 0, "not-evaluated-front"),
        (None, "front", 0, "blank-front"),
    ),
)
def test_5_1_a_brand_value_earns_10_if_evaluated_and_front(a1, band, points):
    assert part_points("5.1.a", a1=a1, a2="100", g="5000", band=band) == points


@pytest.mark.parametrize(("code", "points"), [("5.1.b", 10), ("5.1.c", 5), ("5.1.d", 5)])
@pytest.mark.parametrize(("band", "earned"), [("front", True), ("middle", False), ("other", False), (None, False)])
def test_5_1_b_c_d_per_gdp_counts_earn_only_when_front(code, points, band, earned):
    inputs = {"g": "5000", "h": "400", "b": "12", "c": "5", "d": "8"}
    assert part_points(code, band=band, **inputs) == (points if earned else 0)


@pytest.mark.parametrize(
    ("a1", "band", "points"),
    cases(
        (Y, "front", 30, "applied-front"),
        (Y, "middle", 15, "applied-middle"),
        (Y, "other", 5, "applied-other"),
        (N, "front", 5, "not-applied"),
        (N, None, 5, "not-applied-no-band"),
        (None, "front", 0, "blank"),
    ),
)
def test_5_2_quality_award_winners_30_front_15_middle_5_otherwise(a1, band, points):
    assert part_points("5.2.a", a1=a1, a2="4", band=band) == points


def test_5_2_applied_without_a_band_scores_the_5_floor():
    """"if a1: 30 if 前列, 15 if 中游, else 5": no band is not 前列/中游."""
    assert part_points("5.2.a", a1=Y, a2=None, band=None) == 5


# --- 5.3 质量人才 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("b1", "b2", "points"),
    cases(
        ("600", "300", 10, "exactly-2-per-10k"),
        ("599", "300", 5, "just-below-2"),
        ("601", "300", 10, "above-2"),
        ("300", "300", 5, "exactly-1-per-10k"),
        ("299", "300", 0, "just-below-1"),
        ("0", "300", 0, "none"),
        ("600", "0", 0, "no-employment-invalid"),
        (None, "300", 0, "certificates-missing"),
        ("600", None, 0, "employment-missing"),
    ),
)
def test_5_3_b_certificates_per_10000_employed_2_scores_10_1_scores_5(b1, b2, points):
    assert part_points("5.3.b", b1=b1, b2=b2) == points


# --- 6.3 进出口 -----------------------------------------------------------------

RANKS_IN_TOP_5 = {f"a{k}": 5 for k in range(1, 7)}


def test_6_3_a_all_six_ranks_exactly_5_scores_10():
    assert part_points("6.3.a", **RANKS_IN_TOP_5) == 10


def test_6_3_a_all_six_ranks_first_scores_10():
    assert part_points("6.3.a", **{f"a{k}": 1 for k in range(1, 7)}) == 10


@pytest.mark.parametrize("iid", list(RANKS_IN_TOP_5))
def test_6_3_a_one_rank_6_scores_0(iid):
    assert part_points("6.3.a", **dict(RANKS_IN_TOP_5, **{iid: 6})) == 0


@pytest.mark.parametrize("iid", list(RANKS_IN_TOP_5))
def test_6_3_a_one_rank_missing_scores_0(iid):
    assert part_points("6.3.a", **dict(RANKS_IN_TOP_5, **{iid: None})) == 0


@pytest.mark.parametrize(
    ("b1", "b2", "b3", "points"),
    cases(
        (0, 30, 10000, 5, "ratio-below-national"),
        (0, 31, 10000, 0, "ratio-equal-national"),
        (0, 32, 10000, 0, "ratio-above-national"),
        (0, 0, 10000, 5, "no-notification"),
        (0, 0, 0, 5, "no-exports"),
        (1, 0, 10000, 0, "notified-this-year"),
        (1, 0, 0, 0, "notified-this-year-no-exports"),
        (None, 0, 10000, 0, "this-year-missing"),
        (0, None, 10000, 0, "notifications-missing"),
        (0, 0, None, 0, "batches-missing"),
    ),
)
def test_6_3_b_no_notification_this_year_and_ratio_below_national_scores_5(b1, b2, b3, points):
    assert REFS["export_notification_ratio_national"] == Fraction("0.0031")
    assert part_points("6.3.b", b1=b1, b2=b2, b3=b3) == points


@pytest.mark.parametrize(
    ("b3", "label"),
    [
        (10000, "with exports"),
        (0, "no exports"),
    ],
)
def test_6_3_b_without_national_ratio_scores_0(b3, label):
    assert part_points("6.3.b", b1=0, b2=0, b3=b3, refs={}) == 0
    assert part_points("6.3.b", b1=0, b2=0, b3=b3, refs={"export_notification_ratio_national": None}) == 0


# --- 6.4.b 万台特种设备事故死亡率 < 全国 (0.13) ----------------------------------


@pytest.mark.parametrize(
    ("b1", "b2", "points"),
    cases(
        (100000, 1, 10, "0.1-below"),
        (1000000, 13, 0, "0.13-equal"),
        (1000001, 13, 10, "just-below"),
        (1000000, 14, 0, "0.14-above"),
        (52000, 0, 10, "no-deaths"),
        (0, 0, 0, "no-equipment-invalid"),
        (None, 0, 0, "equipment-missing"),
        (52000, None, 0, "deaths-missing"),
    ),
)
def test_6_4_b_special_equipment_death_rate_below_national_scores_10(b1, b2, points):
    assert REFS["special_equipment_death_rate_national"] == Fraction("0.13")
    assert part_points("6.4.b", b1=b1, b2=b2) == points


def test_6_4_b_without_national_rate_scores_0():
    assert part_points("6.4.b", b1=52000, b2=0, refs={}) == 0


# --- 7.1 / 7.2 一次验收合格率, 1 point per 0.5% below -----------------------------


@pytest.mark.parametrize(
    ("a", "points"),
    [("100", 15), ("99.9999", 14), ("99.8", 14), ("99.5", 14), ("99.4999", 13), ("99.4", 13),
     ("99", 13), ("98.5", 12), ("93.4999", 1), ("93", 1), ("92.9999", 0), ("92.5", 0), ("50", 0), ("0", 0),
     (None, 0)],
)
def test_7_1_major_projects_acceptance_rate_penalty(a, points):
    assert part_points("7.1.a", a=a) == points


@pytest.mark.parametrize(
    ("a", "points"),
    [("100", 20), ("98.0001", 20), ("98", 20), ("97.9999", 19), ("97.5", 19), ("97.4999", 18),
     ("97.4", 18), ("89", 2), ("88.5", 1), ("88.4999", 0), ("88", 0), ("50", 0), (None, 0)],
)
def test_7_2_other_projects_acceptance_rate_penalty_below_98(a, points):
    assert part_points("7.2.a", a=a) == points


def _penalty(top: int, target_e4: int, a_e4: int) -> int:
    """Independent oracle in integer ten-thousandths of a percent."""
    if a_e4 >= target_e4:
        return top
    steps = -(-(target_e4 - a_e4) // 5000)  # ceil(shortfall / 0.5%)
    return max(0, top - steps)


@given(st.integers(min_value=0, max_value=1_000_000))
def test_7_1_and_7_2_penalty_matches_oracle_for_every_4_decimal_rate(a_e4):
    a = Fraction(a_e4, 10_000)
    assert part_points("7.1.a", a=a) == _penalty(15, 1_000_000, a_e4)
    assert part_points("7.2.a", a=a) == _penalty(20, 980_000, a_e4)


# --- 7.3 三年系列 / 节能标准 -------------------------------------------------------

RISING = {"a1": "60", "a2": "65", "a3": "70", "a4": "20", "a5": "25", "a6": "30"}


@pytest.mark.parametrize(
    ("change", "points"),
    cases(
        ({}, 5, "both-rising"),
        ({"a2": "60.0001", "a3": "60.0002"}, 5, "rising-by-0.0001"),
        ({"a2": "60"}, 0, "energy-year1-equal"),
        ({"a3": "65"}, 0, "energy-year2-equal"),
        ({"a5": "20"}, 0, "industrial-year1-equal"),
        ({"a6": "25"}, 0, "industrial-year2-equal"),
        ({"a3": "64"}, 0, "energy-falls"),
        ({"a4": "26"}, 0, "industrial-starts-high"),
        ({"a1": "70", "a2": "65", "a3": "60"}, 0, "energy-falling"),
        ({"a6": None}, 0, "a-year-missing"),
    ),
)
def test_7_3_a_both_series_strictly_rising_three_years_scores_5(change, points):
    assert part_points("7.3.a", **dict(RISING, **change)) == points


@pytest.mark.parametrize(
    ("b1", "b2", "points"),
    cases(
        (Y, "100", 5, "strict-and-100"),
        (Y, "99.9999", 0, "strict-just-below-100"),
        (N, "100", 0, "not-strict"),
        (Y, None, 0, "rate-missing"),
        (None, "100", 0, "strict-missing"),
    ),
)
def test_7_3_b_energy_standard_executed_100_percent_scores_5(b1, b2, points):
    assert part_points("7.3.b", b1=b1, b2=b2) == points


# --- 8.x 服务质量 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("a1", "a2", "a3", "points"),
    cases(
        (1, 0, N, 15, "national-1"),
        (3, 5, Y, 15, "national-and-provincial"),
        (0, 1, N, 12, "provincial-1"),
        (0, 1, Y, 12, "provincial-and-applying"),
        (0, 0, Y, 8, "applying"),
        (0, 0, N, 0, "nothing"),
        (None, None, None, 0, "all-missing"),
    ),
)
def test_8_1_service_standardisation_pilots_ladder_15_12_8_0(a1, a2, a3, points):
    assert part_points("8.1.a", a1=a1, a2=a2, a3=a3) == points


def test_8_3_all_four_steps_score_20():
    assert part_points("8.3.all", a=Y, b=Y, c=Y, d=Y) == 20


@pytest.mark.parametrize("iid", "abcd")
@pytest.mark.parametrize("answer", [N, None])
def test_8_3_any_step_not_done_or_blank_scores_0(iid, answer):
    steps = dict.fromkeys("abcd", Y)
    steps[iid] = answer
    assert part_points("8.3.all", **steps) == 0


@pytest.mark.parametrize(
    ("a1", "a2", "a3", "points"),
    cases(
        ("80", "82.5", "85", 5, "rising"),
        ("80", "80.0001", "80.0002", 5, "rising-by-0.0001"),
        ("80", "80", "85", 0, "year1-equal"),
        ("80", "85", "85", 0, "year2-equal"),
        ("85", "82.5", "90", 0, "dip"),
        ("80", None, "85", 0, "missing"),
    ),
)
def test_8_6_a_satisfaction_rising_three_years_scores_5(a1, a2, a3, points):
    assert part_points("8.6.a", a1=a1, a2=a2, a3=a3) == points


@pytest.mark.parametrize(("code", "inputs", "points"), [
    ("8.6.b", {"a3": "85"}, 5),
    ("10.4.b", {"b": "88"}, 30),
])
@pytest.mark.parametrize(("band", "earned"), [("front", True), ("middle", False), ("other", False), (None, False)])
def test_8_6_b_and_10_4_b_satisfaction_earns_only_when_front(code, inputs, points, band, earned):
    assert part_points(code, band=band, **inputs) == (points if earned else 0)


# --- 9.1 环境质量: all four or nothing ---------------------------------------------


def test_9_1_all_four_environment_targets_met_scores_30():
    assert part_points("9.1.all", a=Y, b=Y, c=Y, d=Y) == 30


@pytest.mark.parametrize("iid", "abcd")
@pytest.mark.parametrize("answer", [N, None])
def test_9_1_one_target_missed_or_blank_scores_0(iid, answer):
    targets = dict.fromkeys("abcd", Y)
    targets[iid] = answer
    assert part_points("9.1.all", **targets) == 0


# --- missing inputs, completeness ----------------------------------------------


def test_empty_sheet_earns_nothing_and_is_incomplete():
    result = score({})  # no figures, so no unit has a band
    assert all(s.points == 0 for s in result.indicators.values())
    assert str(result.total) == "0.0"
    assert result.status == "不合格"
    assert not result.complete
    assert len(result.missing) == result.required


def test_best_sheet_counts_141_required_inputs_all_filled():
    # 143 inputs less 5.4 (rated by the experts) and 3.5.e3 (not needed with a demo zone)
    result = score(BEST, bands=ALL_FRONT)
    assert result.required == 141
    assert result.missing == ()
    assert result.completeness == 1


def test_missing_input_is_still_scored_and_reported_incomplete():
    result = score(dict(BEST, **{"1.2.a": None}), bands=ALL_FRONT)
    assert result.missing == ("1.2.a",)
    assert str(result.total) == "1050.0"
    assert result.status == "合格"
    assert result.completeness == Fraction(140, 141)


@pytest.mark.parametrize(
    ("changes", "required", "missing"),
    cases(
        ({"2.4.d1": False, "2.4.d2": None}, 140, (), "2.4.d2-not-required-without-platform"),
        ({"2.4.d2": None}, 141, ("2.4.d2",), "2.4.d2-required-with-platform"),
        ({"3.5.b1": False, "3.5.b2": None}, 140, (), "3.5.b2-not-required-without-port"),
        ({"3.5.b2": None}, 141, ("3.5.b2",), "3.5.b2-required-with-port"),
        ({"3.5.e2": False}, 142, (), "3.5.e3-required-without-demo-zone"),
        ({"3.5.e2": False, "3.5.e3": None}, 142, ("3.5.e3",), "3.5.e3-missing-without-demo-zone"),
        ({"5.1.a1": False, "5.1.a2": None}, 140, (), "5.1.a2-not-required-without-evaluation"),
        ({"5.2.a1": False, "5.2.a2": None}, 140, (), "5.2.a2-not-required-without-application"),
        ({"5.4": None}, 141, (), "5.4-expert-rating-not-required"),
    ),
)
def test_completeness_counts_required_if(changes, required, missing):
    result = score(dict(BEST, **changes), bands=ALL_FRONT)
    assert result.required == required
    assert result.missing == missing


# --- the total: rounding and status ---------------------------------------------


@pytest.mark.parametrize(
    ("exact", "rounded"),
    [("0.25", "0.3"), ("0.35", "0.4"), ("799.85", "799.9"), ("799.95", "800.0"), ("1059.05", "1059.1"),
     ("0.24999", "0.2"), ("800.04999", "800.0")],
)
def test_total_rounds_half_up_to_one_decimal(exact, rounded):
    assert str(round_half_up(Fraction(exact))) == rounded


def test_half_up_differs_from_bankers_rounding():
    assert round_half_up(Fraction("0.25")) == Decimal("0.3")
    assert Decimal("0.25").quantize(Decimal("0.1"), ROUND_HALF_EVEN) == Decimal("0.2")
    assert round(0.25, 1) == 0.2  # Python's round() is banker's


def test_prorated_total_never_ends_exactly_in_5_so_engine_totals_use_half_up_directly():
    """raw x 1060/1055 = raw x 212/211 with integer raw: 211 is prime, so the
    exact total is never k + 0.05 (the half-up case is covered above)."""
    for raw in range(1056):
        tenths = Fraction(raw * 2120, 211)
        assert tenths.denominator in (1, 211)
    for raw in (796, 900, 1000):
        result = score(facts_worth(raw, port=False), bands=ALL_FRONT)
        expected = Decimal(raw * 1060) / Decimal(1055)
        assert result.total == expected.quantize(Decimal("0.1"), ROUND_HALF_UP)


@pytest.mark.parametrize(
    ("raw", "port", "total", "status"),
    cases(
        (800, True, "800.0", "合格", "exactly-800-passes"),
        (799, True, "799.0", "不合格", "799-fails"),
        (796, False, "799.8", "不合格", "prorated-799.8-fails"),
        (797, False, "800.8", "合格", "prorated-800.8-passes"),
    ),
)
def test_status_pass_mark_800_on_rounded_total(raw, port, total, status):
    result = score(facts_worth(raw, port=port), bands=ALL_FRONT)
    assert result.raw_total == raw
    assert str(result.total) == total
    assert result.status == status


@pytest.mark.parametrize("which", range(4))
def test_any_veto_yes_is_not_accepted_even_with_full_marks(which):
    vetoes = [False] * 4
    vetoes[which] = True
    result = score(BEST, bands=ALL_FRONT, vetoes=tuple(vetoes))
    assert result.status == "不予受理"
    assert result.vetoed
    assert str(result.total) == "1060.0"  # still scored, for information


@pytest.mark.parametrize("vetoes", [(False,) * 4, (None,) * 4, ()])
def test_no_veto_answered_yes_is_scored_normally(vetoes):
    result = score(BEST, bands=ALL_FRONT, vetoes=vetoes)
    assert result.status == "合格"
    assert not result.vetoed


def test_unit_score_group_points_and_indicator_lost():
    result = score(dict(BEST, **{"1.3.a": Fraction(6)}), bands=ALL_FRONT)
    assert result.group_points(1) == 70
    assert result.indicators["1.3"].lost == 10
    assert sum(result.group_points(g.number) for g in RUBRIC.groups) == result.raw_total


@given(st.lists(st.one_of(st.fractions(max_denominator=1000), st.integers(-10**6, 10**6)), max_size=60))
def test_exact_sum_is_the_sum(values):
    from qc_batch.engine.scoring import exact_sum

    assert exact_sum(values) == sum((Fraction(v) for v in values), Fraction(0))


@given(st.lists(st.fractions(max_denominator=1000), min_size=1, max_size=60))
def test_exact_max_is_the_max(values):
    from qc_batch.engine.scoring import exact_max

    assert exact_max(values) == max(values)
