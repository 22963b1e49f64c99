"""The one catalogue of codes: every finding code and every file reason code, declared once.

Codes are part of ``results.json``'s contract: never rename one; add new ones here.
Each entry says what kind of code it is, its severity (findings) or outcome (file reasons),
its Chinese title, a message template with named fields, and the report section it belongs to.
Everything that shows a code (audit, ingest, reports, returned and comparison workbooks,
``docs/results.md``) reads this module; tests fail when code emits a code that is not here.
"""

from __future__ import annotations

from dataclasses import dataclass

# Severities of findings.
ERROR = "错误"
WARNING = "警告"
NOTE = "提示"
SEVERITIES = (ERROR, WARNING, NOTE)

# Outcomes of input files.
ACCEPTED, SUPERSEDED, REJECTED, SETTINGS = "accepted", "superseded", "rejected", "settings"
STATUS_LABELS = {ACCEPTED: "受理", SUPERSEDED: "已被新版本替代", REJECTED: "拒收", SETTINGS: "设置文件"}

FINDING = "finding"
FILE = "file"

#: report sections, in the order the report shows them: key -> Chinese heading
SECTIONS: dict[str, str] = {
    "claims": "自评分与核算得分不一致",
    "values": "无法识别或超出范围的填报值",
    "missing": "缺填的项目",
    "evidence": "缺少佐证材料",
    "contradictions": "填报项之间的矛盾",
    "expert": "须由验收专家现场核定",
    "other": "其他提示",
    "ranking": "排名项",
    "files": "文件清单",  # file reason codes are listed with the files, not in the audit
}


@dataclass(frozen=True)
class Code:
    code: str
    kind: str          # FINDING or FILE
    level: str         # severity for a finding; outcome (REJECTED/SUPERSEDED) for a file reason
    title: str         # short Chinese title
    section: str       # key of SECTIONS
    template: str = ""  # Chinese message template with named fields ({value}, {cell}, ...); "" = free text

    def message(self, **fields: object) -> str:
        """The message for this code, its named fields filled in."""
        return self.template.format(**fields) if self.template else self.title


def _f(code: str, level: str, title: str, section: str, template: str = "") -> Code:
    return Code(code, FINDING, level, title, section, template)


def _r(code: str, title: str, template: str = "", level: str = REJECTED) -> Code:
    return Code(code, FILE, level, title, "files", template)


_ALL: tuple[Code, ...] = (
    # --- findings on a unit's sheet ---
    _f("VALUE_UNREADABLE", ERROR, "填报值无法识别或超出范围", "values"),
    _f("INPUT_MISSING", WARNING, "必填项未填写", "missing"),
    _f("CLAIM_UNREADABLE", ERROR, "自评分无法识别", "claims"),
    _f("CLAIM_ABOVE_MAX", ERROR, "自评分超过该指标分值", "claims"),
    _f("CLAIM_ABOVE_SCORE", WARNING, "自评分高于核算得分", "claims"),
    _f("CLAIM_BELOW_SCORE", NOTE, "自评分低于核算得分", "claims"),
    _f("CLAIM_MISSING", WARNING, "未填写自评分", "claims"),
    _f("EVIDENCE_MISSING", WARNING, "得分项未列佐证材料", "evidence"),
    _f("CONTRADICTION", WARNING, "填报项之间相互矛盾", "contradictions"),
    _f("SERIES_NOT_RISING", NOTE, "三年数据未逐年提高", "other"),
    _f("EXPERT_RATING", NOTE, "须由验收专家现场核定", "expert"),
    _f("REFERENCE_MISSING", WARNING, "缺少全国平均参考值", "other"),
    _f("RANKED_ITEM", NOTE, "排名项按同级单位比较", "ranking"),
    _f("FORMULA_OVERWRITTEN", NOTE, "公式单元格被改写", "other"),
    _f("VETO", ERROR, "存在不予受理情形", "values"),
    _f("VETO_UNREADABLE", ERROR, "不予受理情形未按要求填写", "values"),
    _f("HEADER_PARENT_MISSING", WARNING, "县市区未填写所属市州", "other"),
    _f("HEADER_EMAIL_INVALID", NOTE, "联系邮箱格式不正确", "other"),
    _f("HEADER_DATE_UNREADABLE", NOTE, "填报日期无法识别", "other"),
    _f("SAME_INPUTS_AS_OTHER", NOTE, "与其他单位填报值完全相同", "other"),
    _f("SAME_EVIDENCE_AS_OTHER", NOTE, "与其他单位佐证材料完全相同", "other"),
    _f("FULL_MARKS_CLAIMED", NOTE, "各项自评均为满分", "other"),
    # --- reasons an input file is not accepted ---
    _r("FILE_NOT_XLSX", "不是 .xlsx 工作簿"),
    _r("FILE_OLD_FORMAT", "旧格式（.xls/.et）文件"),
    _r("FILE_ENCRYPTED", "工作簿已加密"),
    _r("FILE_CORRUPT", "文件已损坏"),
    _r("FILE_NOT_WORKBOOK", "压缩包不是工作簿"),
    _r("FILE_TOO_LARGE", "文件过大"),
    _r("FILE_ZIP_BOMB", "压缩比例异常"),
    _r("FILE_UNSAFE_XML", "含有不安全的 XML 结构"),
    _r("FILE_TIMEOUT", "处理超时"),
    _r("FILE_CRASHED", "读取进程意外退出"),
    _r("FILE_LOCK", "Excel/WPS 临时锁定文件"),
    _r("FILE_HIDDEN", "隐藏文件"),
    _r("FOLDER", "文件夹"),
    _r("FILE_NOT_REGULAR", "不是普通文件"),
    _r("FILE_UNREADABLE", "无法读取的文件"),
    _r("WRONG_TEMPLATE", "不是省局下发的评分表模板"),
    _r("OLD_TEMPLATE", "评分表模板版本不符"),
    _r("NAMES_MISSING", "模板的单元格名称被删除"),
    _r("SHEET_MISSING", "模板的工作表被删除"),
    _r("HEADER_UNIT_MISSING", "未填写单位名称"),
    _r("HEADER_LEVEL_INVALID", "层级未按要求填写"),
    _r("HEADER_YEAR_MISSING", "未填写评价年度"),
    _r("HEADER_YEAR_OTHER", "不是本年度的评分表"),
    _r("FILE_INTERNAL", "意外错误"),
    _r("SUPERSEDED", "已被同一单位的新版本替代", level=SUPERSEDED),
)

CATALOGUE: dict[str, Code] = {c.code: c for c in _ALL}
assert len(CATALOGUE) == len(_ALL), "a code is declared twice"


def get(code: str) -> Code:
    """The catalogue entry of ``code``; KeyError names the code when it is not declared."""
    try:
        return CATALOGUE[code]
    except KeyError:
        raise KeyError(f"code {code!r} is not in qc_batch.codes") from None


def findings() -> tuple[Code, ...]:
    return tuple(c for c in _ALL if c.kind == FINDING)


def file_reasons() -> tuple[Code, ...]:
    return tuple(c for c in _ALL if c.kind == FILE)
