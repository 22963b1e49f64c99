"""results.json: exact numbers and the document's layout."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qc_batch.batch.run import run_batch
from qc_batch.outputs.results import num, results_json
from qc_batch.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def result():
    folder = ROOT / "input"
    return run_batch(folder, load_settings(folder / "settings.yaml"), settings_file=folder / "settings.yaml",
                     workers=1)


def reference_num(x, places):
    """The plain Decimal reading of the documented rule: half-up, whole values as integers."""
    d = Decimal(x.numerator) / Decimal(x.denominator) if isinstance(x, Fraction) else Decimal(x)
    d = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return int(d) if d == d.to_integral_value() else float(d)


@given(st.fractions(max_denominator=10**6).filter(lambda f: abs(f) < 10**9), st.sampled_from([1, 2, 4, 6]))
def test_num_rounds_like_decimal_half_up(x, places):
    got, want = num(x, places), reference_num(x, places)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize(("x", "places", "want"), [
    (Fraction(5, 100), 1, 0.1), (Fraction(-5, 100), 1, -0.1), (Fraction(1, 200), 2, 0.01),
    (Fraction(-1, 1000), 2, 0), (Fraction(2495, 1000), 2, 2.5), (Fraction(1, 3), 6, 0.333333),
    (7, 2, 7), (Decimal("812.5"), 1, 812.5), (Decimal("800.0"), 1, 800), (None, 2, None),
])
def test_num_examples(x, places, want):
    got = num(x, places)
    assert got == want and type(got) is type(want)


def test_results_json_is_one_document_with_a_line_per_unit(result):
    text = results_json(result, "2026-01-01T00:00:00+00:00").decode("utf-8")
    doc = json.loads(text)
    assert [u["id"] for u in doc["units"]] == [u.id for u in result.units]
    lines = text.splitlines()
    for u in result.units:
        (line,) = [ln for ln in lines if f'"id": {json.dumps(u.id, ensure_ascii=False)}' in ln]
        assert json.loads(line.strip().rstrip(","))["unit"] == u.entry.unit


def test_finding_to_dict_carries_every_field():
    from dataclasses import asdict, fields

    from qc_batch.engine.findings import Finding

    f = Finding("CLAIM_ABOVE_SCORE", "m", "2.4", "2.4.c1", "评分表!J20", "12", "3", "QC_2_4_CLAIM")
    d = f.to_dict()
    assert list(d)[:3] == ["code", "severity", "title"] and d["severity"] == f.severity and d["title"] == f.title
    assert {k: v for k, v in d.items() if k not in ("severity", "title")} == asdict(f)
    assert set(d) - {"severity", "title"} == {fl.name for fl in fields(Finding)}
