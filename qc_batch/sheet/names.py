"""The score sheet's contract with ingest: sheet names, header fields, the
template identity and the defined names that are not per-indicator.

Input, claim, evidence and score names come from the rubric
(:func:`qc_batch.rubric.model.name_for`).
"""

from __future__ import annotations

from dataclasses import dataclass

TEMPLATE_ID = "qc-batch/score-sheet"
# Bump when the layout or the names change in a way ingest must know about.
TEMPLATE_VERSION = "1"

SHEET_GUIDE = "填表说明"
SHEET_HEADER = "基本信息"
SHEET_SCORES = "评分表"
SHEET_SUMMARY = "得分汇总"
SHEET_LISTS = "选项与参数"

NAME_TEMPLATE_ID = "QC_TEMPLATE_ID"
NAME_RUBRIC_ID = "QC_RUBRIC_ID"
NAME_RUBRIC_VERSION = "QC_RUBRIC_VERSION"
NAME_TEMPLATE_VERSION = "QC_TEMPLATE_VERSION"

NAME_RAW_TOTAL = "QC_RAW_TOTAL"
NAME_NA_POINTS = "QC_NA_POINTS"
NAME_TOTAL = "QC_TOTAL"
NAME_BEST_TOTAL = "QC_BEST_TOTAL"
NAME_STATUS = "QC_STATUS"
NAME_MISSING_COUNT = "QC_MISSING_COUNT"
NAME_CLAIM_TOTAL = "QC_CLAIM_TOTAL"
NAME_UPPER_TOTAL = "QC_UPPER_TOTAL"    # the most the live total could become (ranking, references, experts)
NAME_INPUT_VALUES = "QC_INPUT_VALUES"  # the 填报值 column of 评分表 (every input cell)


@dataclass(frozen=True)
class HeaderField:
    name: str
    label: str
    kind: str  # text / level / parent / year / email / date
    hint: str

    @property
    def required(self) -> bool:
        """Ingest refuses a sheet without it (QC_PARENT: county level only)."""
        return self.name in ("QC_UNIT", "QC_LEVEL", "QC_YEAR")


HEADER_FIELDS = (
    HeaderField("QC_UNIT", "被评价单位", "text", "填写单位全称，如“株洲市”“醴陵市”"),
    HeaderField("QC_LEVEL", "层级", "level", "从下拉列表选择“市州”或“县市区”"),
    HeaderField("QC_PARENT", "所属市州", "parent", "县市区必填：所属的市州；市州不填"),
    HeaderField("QC_YEAR", "评价年度", "year", "四位数年份，如 2026"),
    HeaderField("QC_CONTACT", "联系人", "text", "填表联系人姓名"),
    HeaderField("QC_PHONE", "联系电话", "text", "手机或座机号码"),
    HeaderField("QC_EMAIL", "联系邮箱", "email", "审核报告将发送到此邮箱"),
    HeaderField("QC_DATE", "填报日期", "date", "格式如 2026-03-15"),
)


def veto_name(k: int) -> str:
    """Defined name of the k-th (1-based) 不予受理 question."""
    return f"QC_VETO_{k}"


def missing_flag_name(input_name: str) -> str:
    """Hidden per-input cell: 1 when the input is required and missing."""
    return input_name + "_MISSING"


def best_name(code: str) -> str:
    return "QC_" + code.replace(".", "_") + "_BEST"
