"""The one catalogue of codes: every finding code and every file reason code, declared once.

Codes are part of ``results.json``'s contract: never rename one; add new ones here.
Each entry says what kind of code it is, its severity (findings) or outcome (file reasons),
its Chinese title, a message template with named fields, the report section it belongs to,
and (in English, for ``docs/results.md``) when it is given. Everything that shows a code
(audit, ingest, reports, returned and comparison workbooks, ``docs/results.md``) reads this
module: emitting code writes ``codes.VETO.code`` or ``codes.VETO.message(...)``, never the
literal, and ``tests/test_structure.py`` fails when a code outside this catalogue is emitted.

A new code is one more module-level assignment below, named like its code; the docs
tables are regenerated with ``python -m qc_batch.codes --write docs/results.md``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

# Severities of findings, most serious first.
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
    "verdict": "不予受理情形",  # shown in the report's 结论 (the vetoes answered 是), not among the audit's sections
    "claims": "自评分与核算得分不一致",
    "values": "无法识别或超出范围的填报值",
    "missing": "缺填的项目",
    "evidence": "缺少佐证材料",
    "contradictions": "填报项之间的矛盾",
    "expert": "须由验收专家现场核定",
    "review": "现场评审",
    "history": "与往年报送和其他单位的核对",
    "other": "其他提示",
    "ranking": "排名项",
    "files": "文件清单",  # file reason codes are listed with the files, not in the audit
}
#: the section of file reason codes (all other sections hold findings)
FILES_SECTION = "files"
#: the section of the findings that make the verdict itself: the report's 结论 states them
VERDICT_SECTION = "verdict"


@dataclass(frozen=True)
class Code:
    code: str
    kind: str          # FINDING or FILE
    level: str         # severity for a finding; outcome (REJECTED/SUPERSEDED) for a file reason
    title: str         # short Chinese title
    section: str       # key of SECTIONS
    template: str = ""  # Chinese message template with named fields ({value}, {cell}, ...); "" = free text
    when: str = ""     # when it is given, in English, for docs/results.md

    def message(self, **fields: object) -> str:
        """The message for this code, its named fields filled in (the title when it has no template)."""
        return self.template.format(**fields) if self.template else self.title

    @property
    def fields(self) -> tuple[str, ...]:
        """The named fields of the template, in order of first use."""
        return tuple(dict.fromkeys(re.findall(r"{(\w+)}", self.template)))


def _f(code: str, level: str, title: str, section: str, template: str = "", when: str = "") -> Code:
    return Code(code, FINDING, level, title, section, template, when)


def _r(code: str, title: str, template: str = "", when: str = "", level: str = REJECTED) -> Code:
    return Code(code, FILE, level, title, FILES_SECTION, template, when)


# --- findings on a unit's sheet ---------------------------------------------------------------

VALUE_UNREADABLE = _f(
    "VALUE_UNREADABLE", ERROR, "填报值无法识别或超出范围", "values",
    "{label}：{error}；该项按未填写处理，不得分",
    "a value cannot be read or is out of range; the input counts as missing")
INPUT_MISSING = _f(
    "INPUT_MISSING", WARNING, "必填项未填写", "missing",
    "{label}：未填写，应填写{expected}；缺填的项目不得分",
    "a required input (or a veto answer) is blank")
CLAIM_UNREADABLE = _f(
    "CLAIM_UNREADABLE", ERROR, "自评分无法识别", "claims",
    "指标 {indicator} 自评分{error}",
    "the 自评分 is not a number of points (or negative)")
CLAIM_ABOVE_MAX = _f(
    "CLAIM_ABOVE_MAX", ERROR, "自评分超过该指标分值", "claims",
    "指标 {indicator} 自评分 {claim} 分，超出 0～{max} 分的范围；核算得分 {points} 分",
    "自评分 above the indicator's maximum")
CLAIM_ABOVE_SCORE = _f(
    "CLAIM_ABOVE_SCORE", WARNING, "自评分高于核算得分", "claims",
    "指标 {indicator} 自评 {claim} 分，按填报内容核算为 {points} 分{ranked}，多报 {over} 分",
    "over-claim: 自评分 above the recomputed score")
CLAIM_BELOW_SCORE = _f(
    "CLAIM_BELOW_SCORE", NOTE, "自评分低于核算得分", "claims",
    "指标 {indicator} 自评 {claim} 分，按填报内容核算为 {points} 分{ranked}",
    "自评分 below the recomputed score")
CLAIM_MISSING = _f(
    "CLAIM_MISSING", WARNING, "未填写自评分", "claims",
    "指标 {indicator} 未填写自评分；核算得分 {points} 分",
    "no 自评分")
EVIDENCE_MISSING = _f(
    "EVIDENCE_MISSING", WARNING, "得分项未列佐证材料", "evidence",
    "指标 {indicator} 得 {points} 分，但未列出佐证材料；请在“佐证材料”栏列明文件名称和文号",
    "points earned with no 佐证材料 listed")
CONTRADICTION = _f(
    "CONTRADICTION", WARNING, "填报项之间相互矛盾", "contradictions",
    "{rule}",
    "inputs contradict each other (e.g. 1.2.c 是 while 1.2.a 否)")
SERIES_NOT_RISING = _f(
    "SERIES_NOT_RISING", NOTE, "三年数据未逐年提高", "other",
    "{label}：{before_year} {before}，{year} {value}，未逐年提高（自{year}起中断）",
    "a 3-year series does not rise; says from which year")
EXPERT_RATING = _f(
    "EXPERT_RATING", NOTE, "须由验收专家现场核定", "expert",
    "指标 {indicator}“{title}”由验收专家现场核定，本次按填报内容暂计 {points} 分，以专家核定为准",
    "an indicator rated by the experts on site (the rubric's `expert: true`: 5.4 and group 11)")
REFERENCE_MISSING = _f(
    "REFERENCE_MISSING", WARNING, "缺少全国平均参考值", "other",
    "年度设置中缺少“{reference}”，指标 {indicator} 中与其比较的子项暂按 0 分计；请省局在设置文件中补充后重新运行",
    "the settings lack a national reference value the indicator needs")
RANKED_ITEM = _f(
    "RANKED_ITEM", NOTE, "排名项按同级单位比较", "ranking",
    "{part}：在 {peers} 个同级单位中排第 {rank} 名（{band}；{rule}）",
    "rank, peers and band of a ranking item")
FORMULA_OVERWRITTEN = _f(
    "FORMULA_OVERWRITTEN", NOTE, "公式单元格被改写", "other",
    "该单元格原为自动计算公式，已被改写为固定值；本次审核不采用表内计算结果，按填报值重新核算",
    "a score formula cell holds a typed value")
VETO = _f(
    "VETO", ERROR, "存在不予受理情形", VERDICT_SECTION,
    "不予受理情形 {number}（{text}）填写为“是”：按标准第15章不予受理",
    "a veto answered 是 (status 不予受理)")
VETO_UNREADABLE = _f(
    "VETO_UNREADABLE", ERROR, "不予受理情形未按要求填写", "values",
    "不予受理情形 {number}：{error}",
    "a veto answer that is neither 是 nor 否")
HEADER_PARENT_MISSING = _f(
    "HEADER_PARENT_MISSING", WARNING, "县市区未填写所属市州", "other",
    "层级为“{level}”，但未填写所属市州；请在“基本信息”中补充",
    "a county-level unit without 所属市州")
HEADER_EMAIL_INVALID = _f(
    "HEADER_EMAIL_INVALID", NOTE, "联系邮箱格式不正确", "other",
    "联系邮箱“{email}”格式不正确，审核报告可能无法送达",
    "the contact e-mail is malformed")
HEADER_DATE_UNREADABLE = _f(
    "HEADER_DATE_UNREADABLE", NOTE, "填报日期无法识别", "other",
    "填报日期：{error}",
    "填报日期 cannot be read")
SAME_INPUTS_AS_OTHER = _f(
    "SAME_INPUTS_AS_OTHER", NOTE, "与其他单位填报值完全相同", "other",
    "本单位的填报值与 {others} 完全相同；请核实是否误用了其他单位的表格",
    "every input identical to another unit's")
SAME_EVIDENCE_AS_OTHER = _f(
    "SAME_EVIDENCE_AS_OTHER", NOTE, "与其他单位佐证材料完全相同", "other",
    "本单位的佐证材料清单与 {others} 完全相同；请核实是否误用了其他单位的表格",
    "the 佐证材料 list identical to another unit's")
FULL_MARKS_CLAIMED = _f(
    "FULL_MARKS_CLAIMED", NOTE, "各项自评均为满分", "other",
    "全部 {count} 项指标均自评满分；请逐项核对自评分与佐证材料",
    "full marks claimed on every indicator")

# --- findings of the on-site review (现场评审) ------------------------------------------------

REVIEW_CHANGED = _f(
    "REVIEW_CHANGED", NOTE, "现场评审核定的值与填报不同", "review",
    "现场评审核定：{label} 原填报“{submitted}”，核定为“{verified}”；理由：{reason}（{panel}，评审表“{file}”）",
    "final stage: the panel replaced a submitted fact (on the submission's cell)")
REVIEW_REASON_MISSING = _f(
    "REVIEW_REASON_MISSING", ERROR, "核定值未说明理由，未采用", "review",
    "{where}：{label} 核定为“{verified}”，但未填写核定理由（{reason_cell}）；该核定未采用，"
    "仍按填报值“{submitted}”计分；请补填理由后重新提交评审表",
    "final stage: a verified value without a reason (on the review's cell; not applied)")
REVIEW_EXPERT_BLANK = _f(
    "REVIEW_EXPERT_BLANK", WARNING, "专家评定项未填写核定值", "review",
    "{where}：{label} 为专家评定项，评审表未填写核定值，仍按填报值“{submitted}”计分",
    "final stage: 5.4 or a group 11 input left blank in an accepted review")

TEXT_INVALID_CHAR = _f(
    "TEXT_INVALID_CHAR", WARNING, "文字中含有无效字符", "values",
    "{label}：文字中含有 {count} 个无效字符（不是合法的 Unicode 字符），已替换为“\ufffd”；请检查并重新填写该单元格",
    "text of a cell holds characters that are not valid Unicode (lone surrogates); each became U+FFFD")
TEXT_NUMBER = _f(
    "TEXT_NUMBER", NOTE, "文字形式的数字", "values",
    "{label}：填写的是文字“{value}”，已按 {read} 计分；请改为数字（发回的评分表已改为数字）",
    "a numeric input typed as text (81.5%, ９５．８, 3个, 1,234.5万元) that the batch read; "
    "the returned workbook holds it as a number")
INPUT_FORMULA = _f(
    "INPUT_FORMULA", ERROR, "填报单元格中是公式", "values",
    "{label}：单元格中是公式“={formula}”（表中显示 {cached}），不是填写的值；公式结果不予采信，"
    "该项按未填写处理，不得分；请直接填写数值或选项",
    "an input cell holds a formula; its cached result is not scored")
DATE_IN_FUTURE = _f(
    "DATE_IN_FUTURE", WARNING, "填报日期晚于审核日期", "other",
    "填报日期 {date} 晚于审核日期 {today}；请核实。同一单位报送多个工作簿时，不按该日期认定较新的版本",
    "填报日期 after the day of the run; it does not make the workbook win a duplicate")
HEADER_NAME_NORMALISED = _f(
    "HEADER_NAME_NORMALISED", NOTE, "名称中含有不可见或全角字符", "other",
    "{field}填写为“{entered}”，其中含有不可见字符、控制字符或全角字符；本次按“{name}”识别",
    "a unit or 市州 name held invisible, control or full-width characters; the cleaned name is used")

# --- findings across the years and across units (history database) ---------------------------

HISTORY_MISMATCH = _f(
    "HISTORY_MISMATCH", WARNING, "与往年报送的数据不一致", "history",
    "{label}（{year}年）：本年度填报 {value}，与{source_year}年度{what} {earlier}（文件“{file}”）不一致；"
    "请核实并说明原因，本年度按本次填报值计分",
    "a 3-year-series value for an earlier year differs from what the same unit reported for that year "
    "in an earlier run (its verified value where one exists)")
RANK_CLAIM_CONFLICT = _f(
    "RANK_CLAIM_CONFLICT", NOTE, "填报的全省排名与其他单位冲突", "history",
    "{label}（{year}年）：填报全省第 {rank} 名，{problems}；同一年度的同一名次除并列外只能由一个单位占有，请核实",
    "a claimed province rank (6.3) held by another unit of the level for the same measure and year, "
    "or above the number of units of the level")

# --- reasons an input file is not accepted ----------------------------------------------------

FILE_NOT_XLSX = _r(
    "FILE_NOT_XLSX", "不是 .xlsx 工作簿",
    "{why}；请在省局下发的评分表模板中填写，并保存为 .xlsx 后重新报送",
    "csv, text, unknown or empty")
FILE_OLD_FORMAT = _r(
    "FILE_OLD_FORMAT", "旧格式（.xls/.et）文件",
    "这是{kind}，不是 .xlsx；请用 Excel 或 WPS 打开，“另存为”选择“Excel 工作簿（*.xlsx）”后重新报送",
    ".xls, .et")
FILE_ENCRYPTED = _r("FILE_ENCRYPTED", "工作簿已加密", when="a password to open, or encrypted content")
FILE_CORRUPT = _r("FILE_CORRUPT", "文件已损坏", when="a damaged zip, part or worksheet")
FILE_NOT_WORKBOOK = _r(
    "FILE_NOT_WORKBOOK", "压缩包不是工作簿",
    "压缩包中没有 Excel 工作簿内容，不是 .xlsx 工作簿",
    "a zip that is not a workbook, e.g. .docx")
FILE_TOO_LARGE = _r("FILE_TOO_LARGE", "文件过大", when="the file, a part, the unpacked size or the memory needed")
FILE_ZIP_BOMB = _r(
    "FILE_ZIP_BOMB", "压缩比例异常",
    "工作簿的压缩比例异常（疑似“压缩炸弹”），已拒绝读取",
    "a part compressed far more than a workbook is")
FILE_UNSAFE_XML = _r(
    "FILE_UNSAFE_XML", "含有不安全的 XML 结构",
    "工作簿的 {part} 含有不安全的 XML 结构（DTD/实体），已拒绝读取",
    "DTD or entities")
FILE_TIMEOUT = _r(
    "FILE_TIMEOUT", "处理超时",
    "处理超过 {seconds} 秒仍未完成，疑似异常文件，已停止读取",
    "reading took longer than the time allowed")
FILE_CRASHED = _r(
    "FILE_CRASHED", "读取进程意外退出",
    "读取该文件时处理进程异常退出（可能内存超限），疑似异常文件，已拒收",
    "the worker process reading it died")
FILE_LOCK = _r(
    "FILE_LOCK", "Excel/WPS 临时锁定文件",
    "这是 Excel/WPS 打开文件时生成的临时锁定文件，不是评分表；请关闭 Excel/WPS 后删除它",
    "`~$` files")
FILE_HIDDEN = _r(
    "FILE_HIDDEN", "隐藏文件",
    "这是隐藏文件（文件名以“.”开头），不予读取；如确为评分表，请改名后重新放入",
    "a name starting with `.`")
FOLDER = _r(
    "FOLDER", "文件夹",
    "这是文件夹；批处理只读取输入文件夹中的文件，请把工作簿直接放在输入文件夹中",
    "a folder inside the input folder")
FILE_NOT_REGULAR = _r(
    "FILE_NOT_REGULAR", "不是普通文件",
    "这不是普通文件（快捷方式或特殊文件），不予读取",
    "a link or special file")
FILE_UNREADABLE = _r(
    "FILE_UNREADABLE", "无法读取的文件",
    "无法读取该文件：{error}",
    "the file cannot be opened")
WRONG_TEMPLATE = _r(
    "WRONG_TEMPLATE", "不是省局下发的评分表模板",
    "这不是省局下发的《质量强市（区、县）评分表》模板（找不到模板标识）；请使用模板 {template} 填写后重新报送",
    "a workbook without the template's identity")
OLD_TEMPLATE = _r(
    "OLD_TEMPLATE", "评分表模板版本不符",
    "评分表模板版本不符（此文件：模板 {file_template}、评分规则 {file_rubric}；"
    "现行：模板 {template}、评分规则 {rubric}）；请使用省局本年度下发的评分表模板重新填写",
    "another version of the template or the rubric")
NAMES_MISSING = _r(
    "NAMES_MISSING", "模板的单元格名称被删除",
    "工作簿中缺少评分表的单元格名称 {names}（可能删除了工作表、行或名称）；请在省局下发的评分表模板中重新填写",
    "defined names of the template deleted")
SHEET_MISSING = _r(
    "SHEET_MISSING", "模板的工作表被删除",
    "工作簿中找不到工作表“{sheets}”（可能被删除）；请在评分表模板中重新填写",
    "a worksheet of the template deleted")
HEADER_UNIT_MISSING = _r(
    "HEADER_UNIT_MISSING", "未填写单位名称",
    "未填写被评价单位（{cell}）；请在“基本信息”中填写单位全称",
    "no unit name")
HEADER_LEVEL_INVALID = _r(
    "HEADER_LEVEL_INVALID", "层级未按要求填写",
    "层级{found}（{cell}）；应选择{levels}",
    "the level is blank or not one of the rubric's levels")
HEADER_YEAR_MISSING = _r(
    "HEADER_YEAR_MISSING", "未填写评价年度",
    "评价年度{found}（{cell}）；应填写 {year}",
    "no readable year")
HEADER_YEAR_OTHER = _r(
    "HEADER_YEAR_OTHER", "不是本年度的评分表",
    "评价年度为 {found}，本次受理的是 {year} 年度；请确认是否报错了年度的表格",
    "another year than the settings'")
HEADER_NAME_TOO_LONG = _r(
    "HEADER_NAME_TOO_LONG", "单位名称过长",
    "{field}过长（{length} 个字符，{cell}）；应不超过 {limit} 个字符，请填写单位全称后重新报送",
    "the unit or 市州 name is longer than any real name")
FILE_INTERNAL = _r(
    "FILE_INTERNAL", "意外错误",
    "读取时发生意外错误（{error}），请把该文件转交技术人员检查",
    "an unexpected error while reading it")
SAMPLE_SET_ASIDE = _r(
    "SAMPLE_SET_ASIDE", "示例数据，不参与审核",
    "这是 qc-batch sample 生成的示例数据；输入文件夹中有真实报送的工作簿，示例数据不参与计分和排名，"
    "请把示例工作簿移出输入文件夹",
    "a workbook written by `qc-batch sample` in a folder that also holds real submissions")
SUPERSEDED_CODE = _r(
    "SUPERSEDED", "已被同一单位的新版本替代",
    "同一单位、同一年度有两个工作簿；本文件{why}，以“{winner}”为准",
    "the same unit and year sent again: the later 填报日期 wins, then the later file time",
    level=SUPERSEDED)

# --- reasons a review workbook (现场评审表) is not accepted -------------------------------------

REVIEW_WRONG_TEMPLATE = _r(
    "REVIEW_WRONG_TEMPLATE", "不是现场评审表",
    when="a file in the review folder without the review workbook's identity")
REVIEW_OLD_TEMPLATE = _r(
    "REVIEW_OLD_TEMPLATE", "现场评审表版本不符",
    when="a review workbook of another layout or rubric version")
REVIEW_YEAR_OTHER = _r(
    "REVIEW_YEAR_OTHER", "不是本年度的现场评审表",
    when="a review of another year than the settings'")
REVIEW_UNIT_UNKNOWN = _r(
    "REVIEW_UNIT_UNKNOWN", "评审的单位不在本次受理范围",
    when="a review of a unit that has no accepted submission in the run")
REVIEW_SUBMISSION_OTHER = _r(
    "REVIEW_SUBMISSION_OTHER", "评审的不是受理的报送文件",
    when="a review whose submission SHA-256 is not the accepted submission's")

# ---------------------------------------------------------------------------------------------

_ALL: tuple[Code, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Code))

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


def section_codes() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """The audit's sections in report order: (key, Chinese heading, codes of the findings in it).

    Derived from the catalogue, so a new finding code always lands in a section of the report."""
    return tuple((key, title, tuple(c.code for c in findings() if c.section == key))
                 for key, title in SECTIONS.items() if key != FILES_SECTION)


# --- the tables of docs/results.md ----------------------------------------------------------

_BEGIN, _END = "<!-- codes:{} begin (generated: python -m qc_batch.codes --write docs/results.md) -->", \
    "<!-- codes:{} end -->"


def markdown_table(kind: str) -> str:
    """The Markdown table of the finding codes (``FINDING``) or the file reason codes (``FILE``)."""
    if kind == FINDING:
        rows = ["| code | severity | title | report section | when |", "|---|---|---|---|---|"]
        rows += [f"| `{c.code}` | {c.level} | {c.title} | {SECTIONS[c.section]} | {c.when} |" for c in findings()]
    else:
        rows = ["| code | status | title | when |", "|---|---|---|---|"]
        rows += [f"| `{c.code}` | {c.level} | {c.title} | {c.when} |" for c in file_reasons()]
    return "\n".join(rows) + "\n"


def with_tables(doc: str) -> str:
    """``doc`` with the text between each pair of ``codes:`` markers replaced by the current table."""
    for kind in (FINDING, FILE):
        begin, end = _BEGIN.format(kind), _END.format(kind)
        head, sep, rest = doc.partition(begin)
        _old, sep2, tail = rest.partition(end)
        if not (sep and sep2):
            raise ValueError(f"docs lack the markers {begin!r} ... {end!r}")
        doc = f"{head}{begin}\n{markdown_table(kind)}{end}{tail}"
    return doc


def main(argv: list[str]) -> int:
    """``python -m qc_batch.codes --markdown`` prints both tables; ``--write FILE`` updates them in FILE."""
    if argv[:1] == ["--write"] and len(argv) == 2:
        with open(argv[1], encoding="utf-8") as fh:
            doc = fh.read()
        with open(argv[1], "w", encoding="utf-8", newline="\n") as fh:
            fh.write(with_tables(doc))
        return 0
    if argv == ["--markdown"]:
        sys.stdout.write(markdown_table(FINDING) + "\n" + markdown_table(FILE))
        return 0
    sys.stderr.write("usage: python -m qc_batch.codes --markdown | --write docs/results.md\n")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
