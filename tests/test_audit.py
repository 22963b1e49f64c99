"""The audit's findings on one unit, and across units."""

from __future__ import annotations

from fractions import Fraction

import pytest

from qc_batch.codes import CATALOGUE, SEVERITIES
from qc_batch.engine.audit import cross_unit_findings, unit_findings
from qc_batch.engine.scoring import Policy, score_unit, sheet_bands
from qc_batch.read.sheet_data import interpret
from qc_batch.rubric.model import load_rubric
from qc_batch.sheet import names as sn

from . import workbooks as wb

RUBRIC = load_rubric()
POLICY = wb.POLICY


def audit(policy: Policy = POLICY, **changes):
    values = wb.unit_values(0, **changes)
    data = interpret(RUBRIC, values)
    score = score_unit(RUBRIC, data.facts, data.veto_values, policy, sheet_bands(RUBRIC, data.facts))
    cells = {name: f"评分表!X{k}" for k, name in enumerate(sorted(values), start=1)}
    return unit_findings(RUBRIC, data, score, policy, cells), score


def codes(findings, indicator=None):
    return [f.code for f in findings if indicator is None or f.indicator == indicator]


def test_catalogue_is_complete():
    assert all(c.level in SEVERITIES for c in CATALOGUE.values() if c.kind == "finding")


def test_clean_unit_has_no_errors():
    findings, _ = audit()
    assert not [f for f in findings if f.severity == "错误"], findings


@pytest.mark.parametrize(
    ("claim", "code"),
    [(25, "CLAIM_ABOVE_MAX"), (15, "CLAIM_ABOVE_SCORE"), (5, "CLAIM_BELOW_SCORE"), (None, "CLAIM_MISSING"),
     ("很多", "CLAIM_UNREADABLE"), (-1, "CLAIM_UNREADABLE")],
)
def test_claims_against_recomputed_score(claim, code):
    # 1.1 tier B earns 10 of 20
    findings, score = audit(QC_1_1=RUBRIC.input("1.1").options[1].display, QC_1_1_CLAIM=claim)
    assert score.indicators["1.1"].points == 10
    got = [f for f in findings if f.indicator == "1.1" and f.code.startswith("CLAIM")]
    assert [f.code for f in got] == [code]
    assert got[0].cell.startswith("评分表!")
    if code == "CLAIM_ABOVE_SCORE":
        assert got[0].points == "5" and "多报 5 分" in got[0].message


def test_claim_equal_to_score_says_nothing():
    findings, _ = audit(QC_1_1=RUBRIC.input("1.1").options[1].display, QC_1_1_CLAIM=10)
    assert not [c for c in codes(findings, "1.1") if c.startswith("CLAIM")]


def test_points_without_evidence():
    findings, score = audit(QC_1_2_EVIDENCE=None)
    assert score.indicators["1.2"].points > 0
    assert "EVIDENCE_MISSING" in codes(findings, "1.2")
    findings, _ = audit(QC_1_2_EVIDENCE="  ")
    assert "EVIDENCE_MISSING" in codes(findings, "1.2")


def test_no_evidence_needed_for_zero_points():
    findings, score = audit(QC_1_2_a="否", QC_1_2_b="否", QC_1_2_c="否", QC_1_2_EVIDENCE=None, QC_1_2_CLAIM=0)
    assert score.indicators["1.2"].points == 0
    assert "EVIDENCE_MISSING" not in codes(findings, "1.2")


@pytest.mark.parametrize(
    ("changes", "indicator"),
    [({"QC_1_2_a": "否", "QC_1_2_c": "是"}, "1.2"), ({"QC_3_5_b1": "否", "QC_3_5_b2": "是"}, "3.5"),
     ({"QC_2_4_d1": "否", "QC_2_4_d2": 90}, "2.4"), ({"QC_5_1_a1": "否", "QC_5_1_a2": 12}, "5.1")],
)
def test_spec_contradictions(changes, indicator):
    findings, _ = audit(**changes)
    assert "CONTRADICTION" in codes(findings, indicator)


def test_series_not_rising_says_which_year():
    findings, _ = audit(QC_8_6_a1=80, QC_8_6_a2=82, QC_8_6_a3=81.5)
    (f,) = [f for f in findings if f.code == "SERIES_NOT_RISING" and f.indicator == "8.6"]
    assert f.input == "8.6.a3" and "评价年度" in f.message and f.severity == "提示"


def test_unreadable_value_names_cell_and_expectation():
    findings, _ = audit(QC_6_1_a="约95%")
    (f,) = [f for f in findings if f.code == "VALUE_UNREADABLE"]
    assert f.input == "6.1.a" and f.value == "约95%" and "百分比" in f.message and f.cell


def test_missing_required_input():
    findings, score = audit(QC_9_1_a=None)
    assert "9.1.a" in score.missing
    assert "INPUT_MISSING" in codes(findings, "9.1")


def test_veto_and_expert_and_reference():
    findings, score = audit(**{sn.veto_name(3): "是"})
    assert score.status == "不予受理"
    assert [f.severity for f in findings if f.code == "VETO"] == ["错误"]
    assert {f.indicator for f in findings if f.code == "EXPERT_RATING"} == {"5.4", "11.1", "11.2", "11.3"}
    findings, _ = audit(Policy(refs={"export_notification_ratio_national": Fraction("0.0031")}))
    assert [f.indicator for f in findings if f.code == "REFERENCE_MISSING"] == ["6.4"]


def test_header_findings():
    findings, _ = audit(QC_LEVEL="县市区", QC_PARENT=None, QC_EMAIL="not-an-email")
    assert {"HEADER_PARENT_MISSING", "HEADER_EMAIL_INVALID"} <= set(codes(findings))


def test_cross_unit_signals():
    a = interpret(RUBRIC, wb.unit_values(0))
    b = interpret(RUBRIC, dict(wb.unit_values(0), QC_UNIT="别的市"))
    full = dict(wb.unit_values(1))
    for ind in RUBRIC.indicators:
        full[ind.claim_name] = ind.max
    c = interpret(RUBRIC, full)
    out = cross_unit_findings([("a", a), ("b", b), ("c", c)], RUBRIC)
    assert {f.code for f in out["a"]} == {"SAME_INPUTS_AS_OTHER", "SAME_EVIDENCE_AS_OTHER"}
    assert "别的市" in next(f.message for f in out["a"] if f.code == "SAME_INPUTS_AS_OTHER")
    assert [f.code for f in out["c"]] == ["FULL_MARKS_CLAIMED"]
