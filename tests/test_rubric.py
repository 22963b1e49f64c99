"""Table A.1 as data: ``rubric.yaml`` against the spec, and the loader's checks."""

from __future__ import annotations

import copy
import re
from fractions import Fraction

import pytest
import yaml

from qc_batch.rubric.expr import ExprError
from qc_batch.rubric.model import RubricError, name_for, parse_rubric

from .facts import (
    ALL_FRONT,
    ALL_OTHER,
    BEST,
    RANKED,
    REFS,
    RUBRIC,
    SPEC_INPUTS,
    SPEC_MAX,
    SPEC_TIERS,
    WORST,
    score,
)

INDICATOR_CODES = [i.code for i in RUBRIC.indicators]


# --- shape and maxima -------------------------------------------------------


def test_rubric_has_50_indicators_in_11_groups_worth_1060():
    assert len(RUBRIC.indicators) == 50
    assert len(RUBRIC.groups) == 11
    assert RUBRIC.total == 1060
    assert sum(i.max for i in RUBRIC.indicators) == 1060


def test_indicator_codes_follow_table_order():
    assert list(SPEC_MAX) == INDICATOR_CODES
    for g in RUBRIC.groups:
        assert [i.code for i in g.indicators] == [f"{g.number}.{k}" for k in range(1, len(g.indicators) + 1)]


@pytest.mark.parametrize("code", INDICATOR_CODES)
def test_indicator_maximum_matches_spec(code):
    assert RUBRIC.indicator(code).max == SPEC_MAX[code]


@pytest.mark.parametrize(
    ("group", "maximum"),
    [(1, 80), (2, 110), (3, 125), (4, 160), (5, 110), (6, 90), (7, 95), (8, 95), (9, 30), (10, 105), (11, 60)],
)
def test_group_maximum(group, maximum):
    assert RUBRIC.group(group).max == maximum
    assert sum(v for k, v in SPEC_MAX.items() if k.split(".")[0] == str(group)) == maximum


@pytest.mark.parametrize("code", [i.code for i in RUBRIC.indicators if not i.is_tier])
def test_parts_add_up_to_indicator_maximum(code):
    ind = RUBRIC.indicator(code)
    assert sum(p.points for p in ind.parts) == ind.max


def test_pass_mark_is_800_and_four_vetoes_and_two_levels():
    assert RUBRIC.pass_mark == 800
    assert len(RUBRIC.vetoes) == 4
    assert RUBRIC.levels == ("市州", "县市区")


# --- inputs and defined names ----------------------------------------------


def test_rubric_has_143_inputs_and_best_worst_facts_cover_them_all():
    codes = {i.code for i in RUBRIC.inputs}
    assert len(RUBRIC.inputs) == len(codes) == 143
    assert set(BEST) == codes
    assert set(WORST) == codes


@pytest.mark.parametrize("code", list(SPEC_INPUTS))
def test_inputs_and_kinds_match_spec(code):
    ind = RUBRIC.indicator(code)
    expected = [tuple(x.split(":")) for x in SPEC_INPUTS[code].split()]
    assert [(i.id, i.kind) for i in ind.inputs] == expected


def test_every_input_has_defined_name_qc_plus_code():
    for inp in RUBRIC.inputs:
        assert inp.name == "QC_" + inp.code.replace(".", "_")
        assert re.fullmatch(r"QC_\d+_\d+(_[a-z]\d?)?", inp.name), inp.name
    assert len({i.name for i in RUBRIC.inputs}) == 143


def test_defined_name_examples_from_spec():
    assert RUBRIC.input("2.4.c1").name == "QC_2_4_c1"
    assert RUBRIC.input("1.1").name == "QC_1_1"
    assert RUBRIC.indicator("1.1").claim_name == "QC_1_1_CLAIM"
    assert RUBRIC.indicator("10.4").evidence_name == "QC_10_4_EVIDENCE"
    assert name_for("11.3.b") == "QC_11_3_b"


def test_tier_input_is_keyed_by_indicator_code():
    for code in SPEC_TIERS:
        ind = RUBRIC.indicator(code)
        assert ind.is_tier
        assert [i.code for i in ind.inputs] == [code]
        assert ind.inputs[0].kind == "tier"
    assert {i.code for i in RUBRIC.indicators if i.is_tier} == set(SPEC_TIERS)


@pytest.mark.parametrize("code", list(SPEC_TIERS))
def test_tier_options_lettered_and_worth_spec_points(code):
    options = RUBRIC.indicator(code).inputs[0].options
    assert {o.letter: o.points for o in options} == SPEC_TIERS[code]
    assert [o.letter for o in options] == [chr(ord("A") + k) for k in range(len(options))]
    for o in options:
        assert o.display.startswith(o.letter + " ")  # the dropdown text starts with its letter


def test_positive_inputs_are_those_marked_greater_than_0():
    assert {i.code for i in RUBRIC.inputs if i.positive} == {"1.3.b", "5.1.g", "5.1.h", "5.3.b2", "6.4.b1"}


def test_satisfaction_scores_are_bounded_0_to_100():
    bounded = {i.code: i.upper_bound for i in RUBRIC.inputs if i.kind != "pct" and i.upper_bound is not None}
    assert bounded == dict.fromkeys(["8.6.a1", "8.6.a2", "8.6.a3", "10.4.b"], Fraction(100))
    assert all(i.upper_bound == 100 for i in RUBRIC.inputs if i.kind == "pct")
    assert all(i.lower == 1 for i in RUBRIC.inputs if i.kind == "rank")


def test_three_year_series_are_year_minus_2_minus_1_and_current():
    years = {i.code: i.year_offset for i in RUBRIC.inputs if i.year_offset is not None}
    expected = {}
    for prefix, ids in (("6.3", "a1 a2 a3 a4 a5 a6"), ("7.3", "a1 a2 a3 a4 a5 a6"), ("8.6", "a1 a2 a3")):
        for k, iid in enumerate(ids.split()):
            expected[f"{prefix}.{iid}"] = (-2, -1, 0)[k % 3]
    assert years == expected


def test_rising_series_are_7_3_and_8_6():
    series = {i.code: i.series for i in RUBRIC.indicators if i.series}
    assert series == {"7.3": (("a1", "a2", "a3"), ("a4", "a5", "a6")), "8.6": (("a1", "a2", "a3"),)}


def test_ranked_parts_are_the_spec_items():
    assert tuple(p.code for i in RUBRIC.indicators for p in i.parts if p.is_ranked) == RANKED


def test_expert_rated_items_are_5_4_and_group_11():
    assert {i.code for i in RUBRIC.indicators if i.expert} == {"5.4", "11.1", "11.2", "11.3"}


def test_10_1_and_10_2_note_that_the_25_point_option_is_capped():
    for code in ("10.1", "10.2"):
        ind = RUBRIC.indicator(code)
        assert "25" in ind.note and "15" in ind.note


def test_3_5_b_is_not_applicable_when_no_port():
    (part,) = [p for p in RUBRIC.indicator("3.5").parts if p.na is not None]
    assert part.code == "3.5.b"


@pytest.mark.parametrize(
    ("code", "required_if"),
    [("2.4.d2", "d1"), ("3.5.b2", "b1"), ("3.5.e3", "not e2"), ("5.1.a2", "a1"), ("5.2.a2", "a1")],
)
def test_conditionally_required_inputs(code, required_if):
    assert RUBRIC.input(code).required_if_text == required_if


CONTRADICTION_EXAMPLES = [
    # the spec's examples: "1.2.c 是 while 1.2.a 否; 3.5.b2 是 while b1 否;
    # 2.4.d2 given while d1 否; 5.1.a2 > 0 while a1 否"
    pytest.param("1.2", {"a": False, "c": True}, id="1.2-c-without-a"),
    pytest.param("3.5", {"b1": False, "b2": True}, id="3.5-b2-without-b1"),
    pytest.param("2.4", {"d1": False, "d2": Fraction(90)}, id="2.4-d2-without-d1"),
    pytest.param("5.1", {"a1": False, "a2": Fraction(3)}, id="5.1-a2-without-a1"),
]


@pytest.mark.parametrize(("code", "values"), CONTRADICTION_EXAMPLES)
def test_spec_contradiction_examples_are_in_the_rubric(code, values):
    from qc_batch.rubric.expr import Env, evaluate

    ind = RUBRIC.indicator(code)
    assert any(evaluate(c.when, Env(values, {})) is True for c in ind.contradictions)
    consistent = dict.fromkeys(values, None)
    assert not any(evaluate(c.when, Env(consistent, {})) is True for c in ind.contradictions)


# --- every indicator reaches its maximum and zero ---------------------------


@pytest.fixture(scope="module")
def best_score():
    return score(BEST, bands=ALL_FRONT, refs=REFS)


@pytest.fixture(scope="module")
def worst_score():
    return score(WORST, bands=ALL_OTHER, refs=REFS)


@pytest.mark.parametrize("code", INDICATOR_CODES)
def test_best_unit_earns_indicator_maximum(best_score, code):
    assert best_score.indicators[code].points == SPEC_MAX[code]


@pytest.mark.parametrize("code", INDICATOR_CODES)
def test_worst_unit_earns_0_on_indicator(worst_score, code):
    assert worst_score.indicators[code].points == 0


def test_best_unit_totals_1060_and_passes(best_score):
    assert str(best_score.total) == "1060.0"
    assert best_score.status == "合格"
    assert best_score.complete


def test_worst_unit_totals_0_and_fails(worst_score):
    assert str(worst_score.total) == "0.0"
    assert worst_score.status == "不合格"


# --- the loader refuses a malformed rubric ----------------------------------


def mini() -> dict:
    """The smallest valid rubric: one tier and one indicator with parts."""
    return copy.deepcopy({
        "rubric": {"id": "t", "version": "1", "title": "t", "standard": "s", "total": 30, "pass_mark": 20},
        "levels": ["市州", "县市区"],
        "groups": [{"number": 1, "name": "组"}],
        "vetoes": ["否决"],
        "indicators": [
            {"code": "1.1", "title": "t", "max": 10, "method": "m", "tier": [["A", "好", 10], ["B", "差", 0]]},
            {
                "code": "1.2", "title": "t", "max": 20, "method": "m",
                "inputs": {"a": {"kind": "bool", "label": "甲"}, "b": {"kind": "pct", "label": "乙"}},
                "parts": [{"id": "a", "points": 10, "when": "a"}, {"id": "b", "points": 10, "when": "b >= 95"}],
            },
        ],
    })


def test_mini_rubric_is_valid():
    r = parse_rubric(mini())
    assert r.total == 30
    assert [i.code for i in r.inputs] == ["1.1", "1.2.a", "1.2.b"]


def test_shipped_yaml_parses_to_the_loaded_rubric():
    from importlib import resources

    text = resources.files("qc_batch").joinpath("data/rubric.yaml").read_text(encoding="utf-8")
    assert parse_rubric(yaml.safe_load(text)) == RUBRIC


def _break(path: str, value):
    """``mini()`` with the item at ``path`` (dotted keys / list indices) set to ``value``."""
    data = mini()
    *head, last = path.split(".")
    node = data
    for key in head:
        node = node[int(key)] if key.isdigit() else node[key]
    node[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("colour", "red", "unknown keys"),
        ("indicators.1.weight", 3, "unknown keys"),
        ("indicators.1.inputs.a.default", True, "unknown keys"),
        ("indicators.1.parts.0.bonus", 1, "unknown keys"),
        ("indicators.1.parts.1.points", 5, "parts add up to 15, not 20"),
        ("indicators.1.max", 25, "parts add up to 20, not 25"),
        ("rubric.total", 40, "maxima add up to 30, not 40"),
        ("indicators.0.tier", [["A", "好", 10], ["C", "差", 0]], "lettered"),
        ("indicators.0.tier", [["A", "好", 5], ["B", "差", 0]], "best option"),
        ("indicators.1.inputs.b.kind", "percent", "bad kind"),
        ("indicators.1.code", "1.3", "out of order"),
        ("indicators.1.parts.1", {"id": "b", "points": 10, "cases": [["b >= 95", 12]]}, "outside 0..10"),
        ("indicators.1.parts.1", {"id": "b", "points": 10, "when": "front"}, "without rank_by"),
        ("indicators.1.parts.1", {"id": "b", "points": 10, "when": "b >= 95", "cases": [["a", 10]]},
         "exactly one of when/cases"),
        ("indicators.1.parts.1.id", "a", "duplicate part ids"),
        ("indicators.1.series", [["a", "z"]], "unknown input z"),
    ],
)
def test_loader_rejects_malformed_rubric(path, value, message):
    with pytest.raises(RubricError, match=re.escape(message)):
        parse_rubric(_break(path, value))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("indicators.1.parts.1.when", "c >= 95", "unknown input 'c'"),
        ("indicators.1.parts.1.when", "b >=", "cannot parse"),
        ("indicators.1.parts.1.when", "b", "expected bool"),  # a number is not a condition
        ("indicators.1.parts.1.when", "a + 1 >= 2", "numeric operand expected"),
        ("indicators.1.parts.1.when", "__import__('os')", "not allowed"),
        ("indicators.1.inputs.b.required_if", "z", "unknown input 'z'"),
        ("indicators.1.parts.1.na", "b.real", "not allowed"),
    ],
)
def test_loader_rejects_bad_expression(path, value, message):
    with pytest.raises(ExprError, match=re.escape(message)):
        parse_rubric(_break(path, value))


def test_rubric_errors_are_value_errors():
    assert issubclass(RubricError, ValueError)
    assert issubclass(ExprError, ValueError)
