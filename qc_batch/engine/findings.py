"""The audit's findings: one catalogue of stable codes, severities and titles.

Codes are part of ``results.json``'s contract: never rename one; add new ones.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

ERROR = "错误"
WARNING = "警告"
NOTE = "提示"
SEVERITIES = (ERROR, WARNING, NOTE)

#: code -> (severity, short Chinese title)
CATALOGUE: dict[str, tuple[str, str]] = {
    "VALUE_UNREADABLE": (ERROR, "填报值无法识别或超出范围"),
    "INPUT_MISSING": (WARNING, "必填项未填写"),
    "CLAIM_UNREADABLE": (ERROR, "自评分无法识别"),
    "CLAIM_ABOVE_MAX": (ERROR, "自评分超过该指标分值"),
    "CLAIM_ABOVE_SCORE": (WARNING, "自评分高于核算得分"),
    "CLAIM_BELOW_SCORE": (NOTE, "自评分低于核算得分"),
    "CLAIM_MISSING": (WARNING, "未填写自评分"),
    "EVIDENCE_MISSING": (WARNING, "得分项未列佐证材料"),
    "CONTRADICTION": (WARNING, "填报项之间相互矛盾"),
    "SERIES_NOT_RISING": (NOTE, "三年数据未逐年提高"),
    "EXPERT_RATING": (NOTE, "须由验收专家现场核定"),
    "REFERENCE_MISSING": (WARNING, "缺少全国平均参考值"),
    "RANKED_ITEM": (NOTE, "排名项按同级单位比较"),
    "FORMULA_OVERWRITTEN": (NOTE, "公式单元格被改写"),
    "VETO": (ERROR, "存在不予受理情形"),
    "VETO_UNREADABLE": (ERROR, "不予受理情形未按要求填写"),
    "HEADER_PARENT_MISSING": (WARNING, "县市区未填写所属市州"),
    "HEADER_EMAIL_INVALID": (NOTE, "联系邮箱格式不正确"),
    "HEADER_DATE_UNREADABLE": (NOTE, "填报日期无法识别"),
    "SAME_INPUTS_AS_OTHER": (NOTE, "与其他单位填报值完全相同"),
    "SAME_EVIDENCE_AS_OTHER": (NOTE, "与其他单位佐证材料完全相同"),
    "FULL_MARKS_CLAIMED": (NOTE, "各项自评均为满分"),
}


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    indicator: str = ""      # indicator code, e.g. "2.4"
    input: str = ""          # input code, e.g. "2.4.c1"
    cell: str = ""           # e.g. "评分表!H23"
    value: str = ""          # the value found, as text
    points: str = ""         # points at stake, when it matters (e.g. over-claim)
    name: str = ""           # the cell's defined name, e.g. "QC_2_4_c1" (stable when rows move)

    @property
    def severity(self) -> str:
        return CATALOGUE[self.code][0]

    @property
    def title(self) -> str:
        return CATALOGUE[self.code][1]

    def to_dict(self) -> dict[str, Any]:
        severity, title = CATALOGUE[self.code][:2]
        return {"code": self.code, "severity": severity, "title": title, "message": self.message,
                "indicator": self.indicator, "input": self.input, "cell": self.cell, "value": self.value,
                "points": self.points, "name": self.name}


SEVERITY_ORDER = {s: k for k, s in enumerate(SEVERITIES)}


def sort_key(f: Finding) -> tuple:
    return (_code_order(f.indicator), SEVERITY_ORDER[f.severity], f.input, f.code)


@functools.lru_cache(maxsize=256)
def _code_order(code: str) -> tuple[int, ...]:
    return tuple(int(x) for x in code.split(".")) if code else (0,)
