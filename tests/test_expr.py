"""The rubric's expression language: whitelist, types, exact values, Kleene logic, Chinese text."""

from __future__ import annotations

from fractions import Fraction

import pytest

from qc_batch.rubric.expr import (
    BOOL,
    NUM,
    And,
    Env,
    ExprError,
    Not,
    Or,
    Var,
    evaluate,
    parse,
    refs,
    render,
    uses_rank,
    variables,
)

KINDS = {"p": BOOL, "q": BOOL, "x": NUM, "y": NUM}


def ev(text, *, want=BOOL, band=None, ref_values=None, **values):
    """Evaluate ``text`` with inputs p, q (bool) and x, y (num); numbers given as str/int are exact."""
    vals = {k: (Fraction(v) if isinstance(v, str | int) and not isinstance(v, bool) else v)
            for k, v in values.items()}
    return evaluate(parse(text, KINDS, want=want), Env(vals, ref_values or {}, band))


# --- the whitelist --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "x.real > 1",  # attribute access
        "abs(x) > 1",  # a function outside max/min/ceil
        "open('f')",
        "__import__('os').system('ls')",
        "(lambda: p)()",
        "x[0] > 1",  # subscript
        "'是'",  # strings
        "x == '1'",
        "x ** 2 > 1",  # power
        "x % 2 == 0",
        "x // 2 == 0",
        "x in y",
        "x is y",
        "p if q else p",
        "[p]",
        "True",
        "None",
        "1j > 0",
        "max(x, key=y) > 1",  # keyword arguments
        "max() > 1",
        "ceil(x, y) > 1",
        "given(x + 1)",
        "given(1)",
        "ref(x) > 1",  # not a known reference value
        "ref(world_average) > 1",
        "z > 1",  # unknown input
        "p and zz",
        "x >",  # syntax error
        "x = 1",
        "",
    ],
)
def test_parse_rejects_anything_outside_the_whitelist(text):
    with pytest.raises(ExprError):
        parse(text, KINDS)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("p + 1 > 0", BOOL),  # arithmetic on a 是/否 input
        ("p < 1", BOOL),  # comparing a 是/否 input with a number
        ("p and x", BOOL),  # a number used as a condition
        ("not x", BOOL),
        ("x", BOOL),  # a number where a condition is wanted
        ("p", NUM),  # a condition where points are wanted
        ("x > 1", NUM),
        ("front + 1", NUM),
        ("max(p, 1)", NUM),
        ("ceil(p)", NUM),
    ],
)
def test_parse_rejects_type_errors(text, want):
    with pytest.raises(ExprError):
        parse(text, KINDS, want=want)


@pytest.mark.parametrize(
    "text",
    [
        "p", "not p", "p and q or not p", "x >= 0.6", "1 <= x < 2", "x / y * 1000 >= 0.3",
        "given(x)", "front", "p and middle", "x < ref(export_notification_ratio_national)",
        "-x < 0", "max(0, 15 - ceil((100 - x) / 0.5)) >= 0", "min(x, y) != 0", "x == 0 or (p)",
    ],
)
def test_parse_accepts_the_rubric_language(text):
    parse(text, KINDS)


# --- exact numbers ---------------------------------------------------------------


def test_literals_are_exact_decimals():
    assert 0.1 + 0.2 != 0.3  # binary floating point
    assert ev("0.1 + 0.2 == 0.3") is True
    assert ev("0.6", want=NUM) == Fraction(3, 5)


def test_ratio_exactly_at_threshold_is_exact():
    assert ev("x / y * 1000 >= 0.6", x="6", y="10000") is True
    assert ev("x / y * 1000 >= 0.6", x="5.9999", y="10000") is False
    assert ev("x / y * 1000 >= 1", x="1.003", y="1003") is True


def test_arithmetic_and_functions():
    assert ev("x + y", want=NUM, x="1.5", y="2") == Fraction(7, 2)
    assert ev("x - y", want=NUM, x=1, y=3) == -2
    assert ev("-x", want=NUM, x="2.5") == Fraction(-5, 2)
    assert ev("x * y", want=NUM, x="0.5", y="0.2") == Fraction(1, 10)
    assert ev("x / y", want=NUM, x=1, y=3) == Fraction(1, 3)
    assert ev("max(0, x, y)", want=NUM, x=-1, y=-2) == 0
    assert ev("min(x, y)", want=NUM, x=4, y=3) == 3
    assert ev("ceil(x)", want=NUM, x="1.2") == 2
    assert ev("ceil(x)", want=NUM, x="2") == 2
    assert ev("ceil(x / 0.5)", want=NUM, x="0.2") == 1


def test_chained_comparison_is_strict_at_each_step():
    assert ev("x < y < 3", x=1, y=2) is True
    assert ev("x < y < 3", x=2, y=2) is False
    assert ev("x < y < 3", x=1, y=3) is False


@pytest.mark.parametrize(("op", "x", "expected"), [
    ("<", 1, False), ("<=", 1, True), (">", 1, False), (">=", 1, True), ("==", 1, True), ("!=", 1, False),
    ("<", 0, True), (">", 2, True), ("!=", 2, True),
])
def test_comparison_operators(op, x, expected):
    assert ev(f"x {op} 1", x=x) is expected


# --- unknown values (None) and Kleene logic ------------------------------------

T, F, U = True, False, None


@pytest.mark.parametrize(("p", "q", "expected"), [
    (T, T, T), (T, F, F), (T, U, U),
    (F, T, F), (F, F, F), (F, U, F),
    (U, T, U), (U, F, F), (U, U, U),
])
def test_kleene_and(p, q, expected):
    assert ev("p and q", p=p, q=q) is expected


@pytest.mark.parametrize(("p", "q", "expected"), [
    (T, T, T), (T, F, T), (T, U, T),
    (F, T, T), (F, F, F), (F, U, U),
    (U, T, T), (U, F, U), (U, U, U),
])
def test_kleene_or(p, q, expected):
    assert ev("p or q", p=p, q=q) is expected


@pytest.mark.parametrize(("p", "expected"), [(T, F), (F, T), (U, U)])
def test_kleene_not(p, expected):
    assert ev("not p", p=p) is expected


def test_missing_number_makes_comparison_and_arithmetic_unknown():
    assert ev("x >= 1") is None
    assert ev("x + 1", want=NUM) is None
    assert ev("max(0, x)", want=NUM) is None
    assert ev("ceil(x)", want=NUM) is None


def test_unknown_comparison_inside_or_with_true_is_true():
    assert ev("p or x >= 99", p=T) is True
    assert ev("p or x >= 99", p=F) is None
    assert ev("p and x >= 99", p=F) is False


@pytest.mark.parametrize("text", ["x / y", "x / (y - y)", "1 / y"])
def test_division_by_zero_is_unknown(text):
    assert ev(text, want=NUM, x=1, y=0) is None


def test_division_by_zero_inside_a_condition_is_unknown():
    assert ev("x / y >= 1", x=1, y=0) is None
    assert ev("y == 0 or x / y < 1", x=1, y=0) is True


def test_given_is_whether_an_input_was_filled():
    assert ev("given(x)", x=0) is True
    assert ev("given(p)", p=False) is True
    assert ev("given(x)") is False


def test_reference_values():
    text = "x < ref(special_equipment_death_rate_national)"
    assert ev(text, x="0.1", ref_values={"special_equipment_death_rate_national": Fraction("0.13")}) is True
    assert ev(text, x="0.13", ref_values={"special_equipment_death_rate_national": Fraction("0.13")}) is False
    assert ev(text, x="0.1") is None  # no reference value: unknown


@pytest.mark.parametrize(("band", "front", "middle"), [
    ("front", T, F), ("middle", F, T), ("other", F, F), (None, U, U),
])
def test_rank_bands(band, front, middle):
    assert ev("front", band=band) is front
    assert ev("middle", band=band) is middle


# --- structure helpers ----------------------------------------------------------


def test_parse_builds_kleene_nodes():
    node = parse("p and not q or p", KINDS)
    assert node == Or((And((Var("p"), Not(Var("q")))), Var("p")))


def test_variables_refs_and_rank_use():
    node = parse("y == 0 or x / y < ref(export_notification_ratio_national)", KINDS)
    assert variables(node) == ["y", "x"]
    assert refs(node) == ["export_notification_ratio_national"]
    assert not uses_rank(node)
    assert uses_rank(parse("p and front", KINDS))


# --- Chinese rendering -----------------------------------------------------------

NAMES = {"p": "1.2.a", "q": "1.2.b", "x": "1.3.a", "y": "1.3.b"}


@pytest.mark.parametrize(
    ("text", "chinese"),
    [
        ("p", "1.2.a为“是”"),
        ("not p", "1.2.a为“否”"),
        ("p and q", "1.2.a为“是”且1.2.b为“是”"),
        ("p or q", "（1.2.a为“是”或1.2.b为“是”）"),
        ("x / y * 1000 >= 0.6", "1.3.a ÷ 1.3.b × 1000 ≥ 0.6"),
        ("x <= 5", "1.3.a ≤ 5"),
        ("x != 0", "1.3.a ≠ 0"),
        ("(x + y) * 2 > 1", "(1.3.a + 1.3.b) × 2 > 1"),
        ("x - (y - 1) < 1", "1.3.a − (1.3.b − 1) < 1"),
        ("given(x)", "1.3.a已填写"),
        ("not (x > 1)", "并非（1.3.a > 1）"),
        ("front", "居同级单位前列"),
        ("p and middle", "1.2.a为“是”且居同级单位中游"),
        ("x < ref(export_notification_ratio_national)", "1.3.a < 全国出口商品遭境外通报比率"),
        ("x < ref(special_equipment_death_rate_national)", "1.3.a < 全国万台特种设备事故死亡率"),
        ("ceil(x) > 1", "向上取整(1.3.a) > 1"),
        ("max(0, x) > 1", "0、1.3.a中的较大者 > 1"),
        ("min(x, y) > 1", "1.3.a、1.3.b中的较小者 > 1"),
    ],
)
def test_render_gives_chinese_text(text, chinese):
    assert render(parse(text, KINDS), NAMES) == chinese


def test_render_names_the_ranked_figure():
    assert render(parse("front", KINDS), NAMES, rank_text="满意度") == "满意度居同级单位前列"


def test_render_uses_no_python_operators():
    text = render(parse("p and not q or x / y * 1000 >= 0.6 and x != 0", KINDS), NAMES)
    for word in (" and ", " or ", "not ", ">=", "<=", "!=", "==", "*", "/"):
        assert word not in text
