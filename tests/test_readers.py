"""Cell readers: the spec's table of accepted values, and never raising."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qc_batch.read import cells as readers
from qc_batch.rubric.model import load_rubric

RUBRIC = load_rubric()
BOOL = RUBRIC.input("1.2.a")
TIER = RUBRIC.input("1.1")
PCT = RUBRIC.input("2.4.c1")
INT = RUBRIC.input("6.3.b1")
RANK = RUBRIC.input("6.3.a1")
NUM_POSITIVE = RUBRIC.input("1.3.b")
INT_POSITIVE = RUBRIC.input("6.4.b1")
NUMS = [i for i in RUBRIC.inputs if i.kind == "num"]


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    "raw", ["是", " 是 ", "有", "Y", "y", "yes", "YES", "√", "TRUE", "true", "1", 1, 1.0, True, "Ｙｅｓ"],
)
def test_bool_true(raw):
    assert readers.read_value(BOOL, raw) == readers.Reading(True, None, raw)


@pytest.mark.parametrize("raw", ["否", "无", "N", "no", "No", "×", "FALSE", "0", 0, 0.0, False])
def test_bool_false(raw):
    assert readers.read_value(BOOL, raw).value is False


@pytest.mark.parametrize("raw", ["可能", 2, 0.5, "是否", "-", "#N/A"])
def test_bool_unreadable_gives_reason(raw):
    r = readers.read_value(BOOL, raw)
    assert r.value is None and "应填写“是”或“否”" in r.error


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_blank_is_missing_without_error(raw):
    for inp in (BOOL, TIER, PCT, INT, RANK, NUM_POSITIVE):
        r = readers.read_value(inp, raw)
        assert r.value is None and r.error is None


@pytest.mark.parametrize("option", TIER.options)
def test_tier_dropdown_text_and_bare_letter(option):
    assert readers.read_value(TIER, option.display).value == option.letter
    assert readers.read_value(TIER, option.letter).value == option.letter
    assert readers.read_value(TIER, option.letter.lower()).value == option.letter
    assert readers.read_value(TIER, fullwidth(option.letter)).value == option.letter


@pytest.mark.parametrize("raw", ["D", "Z", "AB", "已出台", 1])
def test_tier_unknown_option(raw):
    r = readers.read_value(TIER, raw)
    assert r.value is None and "A、B、C" in r.error


@pytest.mark.parametrize(
    ("raw", "percent"),
    [
        (0.975, "97.5"), (1, "100"), (1.0, "100"), (0, "0"), (97.5, "97.5"), (100, "100"),
        ("97.5%", "97.5"), ("97.5", "97.5"), ("0.975", "97.5"), ("９７．５％", "97.5"),
        (0.995, "99.5"), ("99.5 %", "99.5"), (0.5, "50"), ("0.5%", "0.5"), (1.5, "1.5"),
        (0.123456789, "12.3457"), (0.12345649, "12.3456"), (0.99999, "99.999"),
        (Decimal("0.8"), "80"),
    ],
)
def test_pct_forms(raw, percent):
    assert readers.read_value(PCT, raw).value == Fraction(percent)


@pytest.mark.parametrize("raw", [-0.1, 100.01, "101%", "-5%", "abc", "97,5", float("nan"), float("inf")])
def test_pct_invalid(raw):
    r = readers.read_value(PCT, raw)
    assert r.value is None and r.error


def test_pct_exact_on_threshold():
    # 0.995 as a binary float is 0.99499999...; the reader must see 99.5 exactly
    assert Fraction(0.995) != Fraction(995, 1000)
    assert readers.read_value(PCT, 0.995).value == Fraction(995, 10)
    assert readers.read_value(PCT, 0.6 / 1000 * 1000).value == Fraction(60)


@pytest.mark.parametrize(("raw", "value"), [(3, 3), (3.0, 3), ("3", 3), (0, 0), ("１２", 12), ("1,200", 1200)])
def test_int_whole_numbers(raw, value):
    assert readers.read_value(INT, raw).value == value


@pytest.mark.parametrize("raw", [-1, 2.5, "2.5", "三", True])
def test_int_invalid(raw):
    r = readers.read_value(INT, raw)
    assert r.value is None and "0 的整数" in r.error


@pytest.mark.parametrize(("raw", "value"), [(1, 1), (5.0, 5), ("第3名", 3), ("12", 12)])
def test_rank(raw, value):
    assert readers.read_value(RANK, raw).value == value


@pytest.mark.parametrize("raw", [0, -2, 1.5, "前列"])
def test_rank_invalid(raw):
    assert readers.read_value(RANK, raw).error


@pytest.mark.parametrize(("raw", "value"), [(1234.5, "1234.5"), ("1,234.5", "1234.5"), ("12,345,678", "12345678"),
                                            ("１，２３４", "1234"), (0.1, "0.1")])
def test_num(raw, value):
    assert readers.read_value(NUM_POSITIVE, raw).value == Fraction(value)


def test_num_positive_refuses_zero_and_negative():
    assert readers.read_value(NUM_POSITIVE, 0).error
    assert readers.read_value(NUM_POSITIVE, -3).error
    assert "大于 0" in readers.read_value(NUM_POSITIVE, 0).error


def test_positive_int_refuses_zero():
    assert readers.read_value(INT_POSITIVE, 0).error
    assert readers.read_value(INT_POSITIVE, 7).value == 7


def test_num_upper_bound():
    score = RUBRIC.input("8.6.a1")
    assert readers.read_value(score, 100).value == 100
    assert "不大于 100" in readers.read_value(score, 100.5).error


def test_message_names_value_and_expectation():
    r = readers.read_value(PCT, "百分之九十")
    assert r.error == "填写的是“百分之九十”，应填写0 到 100 之间的百分比（如 97.5 或 97.5%）"


@pytest.mark.parametrize(
    ("raw", "year"), [(2026, 2026), (2026.0, 2026), ("2026", 2026), ("2026年", 2026), ("２０２６年度", 2026)],
)
def test_year(raw, year):
    assert readers.read_year(raw).value == year


@pytest.mark.parametrize("raw", [26, "二〇二六", 2026.5, "1999"])
def test_year_invalid(raw):
    assert readers.read_year(raw).error


@pytest.mark.parametrize(
    "raw",
    [dt.date(2026, 3, 15), dt.datetime(2026, 3, 15, 9, 30), "2026-03-15", "2026/3/15", "2026年3月15日", "20260315",
     46096.0],
)
def test_date(raw):
    assert readers.read_date_value(raw).value == dt.date(2026, 3, 15)


@pytest.mark.parametrize("raw", ["三月", "2026-13-01", -5])
def test_date_invalid(raw):
    assert readers.read_date_value(raw).error


# -- properties ---------------------------------------------------------------

ANY_CELL = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(), st.decimals(allow_nan=True), st.dates(), st.datetimes(),
)


@given(ANY_CELL)
def test_no_reader_raises(raw):
    for inp in RUBRIC.inputs:
        r = readers.read_value(inp, raw)
        assert (r.value is None) or r.error is None
        assert r.error is None or isinstance(r.error, str)
    readers.read_text(raw)
    readers.read_year(raw)
    readers.read_date_value(raw)


PERCENTS = st.decimals(min_value=0, max_value=100, places=4).filter(lambda d: d > 1)


@given(PERCENTS)
def test_pct_written_any_way_reads_the_same(d):
    want = Fraction(d)
    fraction = d / 100
    forms = [float(d), str(d), f"{d}%", fullwidth(f"{d}%"), float(fraction), str(fraction)]
    for form in forms:
        assert readers.read_value(PCT, form).value == want, form


@given(st.decimals(min_value=0, max_value=100, places=6))
def test_pct_is_rounded_to_4_decimals_within_range(d):
    v = readers.read_value(PCT, f"{d}%").value
    assert 0 <= v <= 100
    assert (v * 10**4).denominator == 1
    assert abs(v - Fraction(d)) <= Fraction(1, 2 * 10**4)


@given(st.integers(min_value=0, max_value=10**12))
def test_num_with_thousands_separators(n):
    assert readers.read_value(NUM_POSITIVE, f"{n:,}").value == (n if n > 0 else None)


@given(st.sampled_from(readers.TRUE_WORDS + readers.FALSE_WORDS), st.sampled_from(["", " ", "\u3000"]))
def test_bool_words_with_spaces_and_width(word, pad):
    want = word in readers.TRUE_WORDS
    assert readers.read_value(BOOL, pad + word + pad).value is want
    assert readers.read_value(BOOL, unicodedata.normalize("NFKC", fullwidth(word)).lower()).value is want
