"""Conditions in words, for all 50 indicators: every part's rule, met and unmet, in a golden file.

``tests/golden/conditions.md`` is what a city official reads in a report for each part; it was
read through once (issue 12). Set UPDATE_GOLDEN=1 to accept a wording change and review the diff.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

from qc_batch.outputs.condition_text import computed_text, figure, tier_choice
from qc_batch.outputs.report_data import how_to_earn, part_text
from qc_batch.rubric.model import load_rubric

RUBRIC = load_rubric()
GOLDEN = Path(__file__).with_name("golden") / "conditions.md"


def conditions_text() -> str:
    lines = ["# 各子项得分条件（由 tests/test_conditions.py 生成）", ""]
    for ind in RUBRIC.indicators:
        lines.append(f"## {ind.code} {ind.title}（{ind.max} 分）")
        lines.append("")
        if ind.is_tier:
            best = max(ind.inputs[0].options, key=lambda o: o.points)
            for o in ind.inputs[0].options:
                lost = best.points - o.points
                if lost:
                    lines.append(f"- 未满足：{tier_choice(ind, o.letter)}（{lost} 分）。得分条件：达到“{best.display}”")
                else:
                    lines.append(f"- 满足：{tier_choice(ind, o.letter)}，得 {o.points} 分")
            lines.append(f"- 未满足：{tier_choice(ind, None)}（{best.points} 分）")
        for part in ind.parts:
            earn = how_to_earn(ind, part)
            lines.append(f"- {part.code}（{part.points} 分）满足：{earn}")
            lines.append(f"- {part.code} 未满足：未得分：{part_text(ind, part)}（{part.points} 分）。得分条件：{earn}")
        lines.append("")
    return "\n".join(lines)


def test_conditions_read_right_for_every_part():
    text = conditions_text()
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_conditions_have_none_of_the_reviewed_mistakes():
    """Issue 12: a figure ranked 为“是”, points twice, an empty condition, a bare reference guard."""
    text = conditions_text()
    assert "为“是”居" not in text
    assert not re.search(r"分）（\d+ ?分）", text)
    assert "≥ 0且" not in text and "满足：\n" not in text
    for ind in RUBRIC.indicators:
        for part in ind.parts:
            assert how_to_earn(ind, part).strip(), part.code
            assert part_text(ind, part).strip(), part.code


def test_a_threshold_part_shows_the_figure_reached():
    """1.3: 长沙市's ratio 0.99996‰ against 1‰ is shown, not rounded onto the threshold."""
    ind = RUBRIC.indicator("1.3")
    (part,) = ind.parts
    values = {"a": Fraction(99996, 100), "b": Fraction(1000000)}
    assert computed_text(part, values, {}) == "按填报值计算为 0.99996，得满分需 ≥ 1"
    assert figure(Fraction(99999, 100000)) == "0.99999"


def test_ranking_rule_reads_right_for_any_number_of_peers():
    """Issue 12: with one peer the note said '第 2～1 名为中游'."""
    from qc_batch.batch.run import band_rule
    from qc_batch.engine.ranking import Standing, cut_offs

    def rule(n: int) -> str:
        front, middle = cut_offs(n, Fraction(1, 3))
        return band_rule(Standing(Fraction(1), 1, n, "front", front, middle))

    assert rule(1) == "前 1 名为前列，没有中游名次"
    assert rule(2) == "前 1 名为前列，第 2 名为中游"
    assert rule(14) == "前 5 名为前列，第 6～10 名为中游"
    for n in range(1, 60):
        front, middle = cut_offs(n, Fraction(1, 3))
        text = rule(n)
        assert f"第 {front + 1}～{middle} " not in text or front + 1 < middle, text
