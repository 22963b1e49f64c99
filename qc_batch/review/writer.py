"""``qc-batch review``: one review workbook (现场评审表) per accepted unit, for the panel's visit.

Made from ``results.json`` and the rubric. The header names the unit and the submission
it verifies (file name and SHA-256) with its document-review total, status and rank; the
table shows, per indicator, the title and method verbatim, each input's submitted value as
read, the document-review points, the 佐证材料 and the audit findings. The panel's cells
carry defined names (``QR_<input>``, ``QR_<input>_REASON``, ``QR_VETO_k``, ``QR_EXPERTS``,
``QR_DATE``, ``QR_OPINION``; see :mod:`qc_batch.review.names`) and the score sheet's own
dropdowns and input checks. Everything else is locked; it prints on A4, landscape.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from qc_batch import __version__
from qc_batch.errors import EXIT_IO, UserError
from qc_batch.review import names as rn
from qc_batch.rubric.model import Indicator, Rubric, load_rubric
from qc_batch.sheet.formats import DV_ERROR_MAX, DV_PROMPT_MAX, DV_TITLE_MAX, LINE_PT, PROTECT, Formats, clip, lines_needed
from qc_batch.sheet.scores_sheet import input_validation
from qc_batch.sheet.writer import SheetWriter, lock_structure

# 现场评审 columns: (heading, width)
COLUMNS = [
    ("编号", 5), ("指标内容", 14), ("分值", 5), ("考核评分方法（标准原文）", 34), ("填报项", 7),
    ("填报项目", 22), ("报送值", 13), ("资料评审得分", 7), ("核定值（留空＝确认）", 14), ("核定理由", 18),
    ("佐证材料", 18), ("审核发现", 28),
]
(C_CODE, C_TITLE, C_MAX, C_METHOD, C_INPUT, C_LABEL, C_SUBMITTED, C_POINTS, C_VERIFIED, C_REASON,
 C_EVIDENCE, C_FINDINGS) = range(len(COLUMNS))
LAST = len(COLUMNS) - 1
EXPERT_MARK = "【专家评定】"
EXPERT_BG = "#FCE4D6"
GUIDE = ("专家组核定的是事实，不是分数：黄色单元格由专家组填写，“核定值”留空表示确认报送值；改动的须在“核定理由”中说明，"
         "无理由的不予采用。橙色为专家评定项（{expert}），须逐项核定。得分、名次和结论由省局按核定值重新计算。")


class ReviewError(UserError):
    """``results.json`` or the target folder cannot be used; the message is Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_IO)


def load_results(output: Path) -> dict[str, Any]:
    path = output / "results.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReviewError(f"找不到 {path}；请先运行 qc-batch run 完成资料评审") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReviewError(f"无法读取 {path}（{type(exc).__name__}）；请重新运行 qc-batch run") from None
    if not isinstance(doc, dict) or doc.get("schema") != "qc-batch/results" or not isinstance(doc.get("units"), list):
        raise ReviewError(f"{path} 不是 qc-batch run 生成的结果文件")
    return doc


def document_ranks(units: list[Mapping[str, Any]]) -> dict[str, tuple[int | None, int]]:
    """Unit id -> (rank by document-review total within its level, units ranked): competition
    ranking, units with a veto not ranked (as in the reports)."""
    by_level: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for u in units:
        by_level[u["level"]].append(u)
    out: dict[str, tuple[int | None, int]] = {}
    for level_units in by_level.values():
        ranked = sorted((u for u in level_units if u["document_status"] != "不予受理"),
                        key=lambda u: -u["document_total"])
        for u in level_units:
            out[u["id"]] = (None, len(ranked))
        for k, u in enumerate(ranked):
            same = k > 0 and ranked[k - 1]["document_total"] == u["document_total"]
            out[u["id"]] = (out[ranked[k - 1]["id"]][0] if same else k + 1, len(ranked))
    return out


def write_reviews(output: Path, to: Path, rubric: Rubric | None = None) -> list[Path]:
    """Write ``<to>/<id>_现场评审.xlsx`` for every accepted unit of ``<output>/results.json``."""
    rubric = rubric or load_rubric()
    doc = load_results(output)
    year = doc.get("settings", {}).get("year")
    ranks = document_ranks(doc["units"])
    written = []
    try:
        to.mkdir(parents=True, exist_ok=True)
        for u in doc["units"]:
            path = to / f"{u['id']}_现场评审.xlsx"
            path.write_bytes(review_workbook(rubric, u, ranks[u["id"]], year))
            written.append(path)
    except OSError as exc:
        raise ReviewError(f"无法写入现场评审表文件夹 {to}：{exc.strerror or exc}") from None
    return written


class _Writer:
    """What :func:`qc_batch.sheet.scores_sheet.input_validation` writes a check with."""

    dd_name = staticmethod(SheetWriter.dd_name)

    def validation(self, ws, row: int, col: int, opts: dict[str, Any], title: str, prompt: str,
                   error: str, *, last_row: int | None = None, error_type: str = "stop") -> None:
        ws.data_validation(row, col, row if last_row is None else last_row, col, {
            **opts, "input_title": clip(title, DV_TITLE_MAX), "input_message": clip(prompt, DV_PROMPT_MAX),
            "error_title": "输入有误", "error_message": clip(error, DV_ERROR_MAX), "error_type": error_type,
            "show_error": True, "show_input": True})


def review_workbook(rubric: Rubric, u: Mapping[str, Any], rank: tuple[int | None, int], year: Any) -> bytes:
    """The review workbook of one unit of ``results.json``, as xlsx bytes."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"title": f"{u['unit']} {rubric.title}现场评审表", "author": "qc-batch", "company": "",
                       "comments": f"{rn.TEMPLATE_ID} v{rn.TEMPLATE_VERSION}; rubric {rubric.version}",
                       "created": dt.datetime(2026, 1, 1)})
    wb.set_custom_property("qc_template_id", rn.TEMPLATE_ID)
    wb.set_custom_property("qc_generator", f"qc-batch {__version__}")
    fmt = Formats(wb)
    extra = {
        "expert_input": wb.add_format({"font_name": fmt.input.font_name, "font_size": 10, "valign": "vcenter",
                                       "text_wrap": True, "locked": False, "bg_color": EXPERT_BG,
                                       "border": 1, "border_color": "#808080"}),
        "label": wb.add_format({"font_name": fmt.input.font_name, "font_size": 10, "valign": "vcenter",
                                "bold": True, "bg_color": "#F2F2F2", "border": 1, "border_color": "#808080"}),
        "left_num": wb.add_format({"font_name": fmt.input.font_name, "font_size": 10, "valign": "vcenter",
                                   "align": "left", "border": 1, "border_color": "#808080"}),
        "note": wb.add_format({"font_name": fmt.input.font_name, "font_size": 9, "valign": "top",
                               "text_wrap": True, "font_color": "#404040"}),
        "small": wb.add_format({"font_name": fmt.input.font_name, "font_size": 8, "valign": "top",
                                "text_wrap": True, "border": 1, "border_color": "#808080"}),
    }
    ws = wb.add_worksheet(rn.SHEET_REVIEW)
    lists = wb.add_worksheet(rn.SHEET_LISTS)
    _lists(wb, lists, rubric, fmt)
    _Sheet(wb, ws, rubric, fmt, extra, u, rank, year).write()
    ws.activate()
    wb.close()
    return lock_structure(buf.getvalue())


def _lists(wb: xlsxwriter.Workbook, ws, rubric: Rubric, fmt: Formats) -> None:
    """The hidden sheet: the review workbook's identity and the dropdown lists."""
    ws.hide()
    ws.protect("", PROTECT)
    ws.set_column(0, 0, 18)
    ws.set_column(1, 12, 30)
    for k, (name, label, value) in enumerate([(rn.NAME_TEMPLATE_ID, "评审表标识", rn.TEMPLATE_ID),
                                              (rn.NAME_TEMPLATE_VERSION, "评审表版本", rn.TEMPLATE_VERSION),
                                              (rn.NAME_RUBRIC_VERSION, "评分规则版本", rubric.version)]):
        ws.write_string(k, 0, label, fmt.cell)
        ws.write_string(k, 1, value, fmt.cell)
        wb.define_name(name, f"='{rn.SHEET_LISTS}'!{xl_rowcol_to_cell(k, 1, True, True)}")
    lists = [("QC_DD_YESNO", "是/否", ["是", "否"])]
    lists += [(SheetWriter.dd_name(ind.code), ind.code, [o.display for o in ind.inputs[0].options])
              for ind in rubric.indicators if ind.is_tier]
    for col, (name, label, items) in enumerate(lists, start=3):
        ws.write_string(0, col, label, fmt.head)
        for k, item in enumerate(items, start=1):
            ws.write_string(k, col, item)
        wb.define_name(name, f"='{rn.SHEET_LISTS}'!{xl_rowcol_to_cell(1, col, True, True)}:"
                             f"{xl_rowcol_to_cell(len(items), col, True, True)}")


def _points(x: Any) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


class _Sheet:
    def __init__(self, wb, ws, rubric: Rubric, fmt: Formats, extra: dict[str, Any], u: Mapping[str, Any],
                 rank: tuple[int | None, int], year: Any):
        self.wb, self.ws, self.rubric, self.f, self.x, self.u = wb, ws, rubric, fmt, extra, u
        self.rank, self.year = rank, year
        self.checks = _Writer()
        by_ind: dict[str, list[str]] = defaultdict(list)
        for fd in u.get("findings", []):
            by_ind[fd.get("indicator", "")].append(f"【{fd['severity']}】{fd['message']}")
        self.findings = by_ind

    def name(self, name: str, row: int, col: int) -> None:
        self.wb.define_name(name, f"='{rn.SHEET_REVIEW}'!{xl_rowcol_to_cell(row, col, True, True)}")

    def write(self) -> None:
        ws, f = self.ws, self.f
        for col, (_, width) in enumerate(COLUMNS):
            ws.set_column(col, col, width)
        ws.merge_range(0, 0, 0, LAST, f"{self.rubric.title}现场评审表", f.title)
        ws.set_row(0, 26)
        ws.merge_range(1, 0, 1, LAST, GUIDE.format(expert=self.rubric.expert_text), self.x["note"])
        ws.set_row(1, 30)
        row = self.header(3)
        row = self.vetoes(row + 1)
        row = self.table(row + 1)
        self.opinion(row + 1)

    def header(self, row: int) -> int:
        ws, f, u, x = self.ws, self.f, self.u, self.x
        rank, ranked = self.rank
        pairs = [
            [("被评价单位", rn.NAME_UNIT, u["unit"]), ("层级", rn.NAME_LEVEL, u["level"]),
             ("所属市州", rn.NAME_PARENT, u.get("parent") or ""), ("评价年度", rn.NAME_YEAR, u.get("year") or self.year)],
            [("报送文件", rn.NAME_FILE, u["file"]), ("文件 SHA-256", rn.NAME_SHA256, u["sha256"])],
            [("资料评审总分", "", u["document_total"]), ("资料评审结论", "", u["document_status"]),
             ("同级名次", "", f"第 {rank} 名（共 {ranked} 个{u['level']}参与排名）" if rank else "不参与排名")],
        ]
        spans = {4: [(0, 2, 3, 3), (4, 5, 6, 6), (7, 8, 9, 9), (10, 10, 11, 11)],
                 3: [(0, 2, 3, 3), (4, 5, 6, 6), (7, 8, 9, LAST)],
                 2: [(0, 2, 3, 3), (4, 5, 6, LAST)]}
        for line in pairs:
            for k, (label, name, value) in enumerate(line):
                l0, l1, v0, v1 = spans[len(line)][k]
                if l0 == l1:
                    ws.write_string(row, l0, label, x["label"])
                else:
                    ws.merge_range(row, l0, row, l1, label, x["label"])
                if v1 > v0:
                    ws.merge_range(row, v0, row, v1, "", f.cell)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    ws.write_number(row, v0, value, x["left_num"])
                else:
                    ws.write_string(row, v0, str(value), f.cell)
                if name:
                    self.name(name, row, v0)
            ws.set_row(row, 20)
            row += 1
        ws.merge_range(row, 0, row, 2, "专家组成员", x["label"])
        ws.merge_range(row, 3, row, 7, "", f.input)
        ws.write_blank(row, 3, None, f.input)
        self.name(rn.NAME_EXPERTS, row, 3)
        self.checks.validation(ws, row, 3, {"validate": "length", "criteria": "<=", "value": 500}, "专家组成员",
                               "填写专家组成员姓名（组长在前），多人用顿号隔开。", "不超过 500 字。")
        ws.merge_range(row, 8, row, 9, "评审日期", x["label"])
        ws.merge_range(row, 10, row, LAST, "", f.input_date)
        ws.write_blank(row, 10, None, f.input_date)
        self.name(rn.NAME_DATE, row, 10)
        self.checks.validation(ws, row, 10, {"validate": "date", "criteria": ">=",
                                             "value": dt.date(2000, 1, 1)},
                               "评审日期", "现场评审的日期，如 2026-05-20。", "请填写日期，如 2026-05-20。")
        ws.set_row(row, 22)
        row += 1
        ws.merge_range(row, 0, row, 2, "已填写核定值", x["label"])
        ws.merge_range(row, 3, row, LAST, "", f.cell)
        self.count_row = row
        return row + 1

    def vetoes(self, row: int) -> int:
        ws, f = self.ws, self.f
        ws.merge_range(row, 0, row, LAST, "不予受理情形（标准第15章；“是”＝发生）", f.head)
        row += 1
        yes_no = next(i for ind in self.rubric.indicators for i in ind.inputs if i.kind == "bool")
        vetoes = self.u.get("vetoes") or []
        self.first_value_row = row
        for k, text in enumerate(self.rubric.vetoes, start=1):
            ws.write_string(row, C_CODE, str(k), f.center)
            ws.merge_range(row, C_TITLE, row, C_LABEL, text, f.cell)
            v = vetoes[k - 1] if k - 1 < len(vetoes) else None
            ws.write_string(row, C_SUBMITTED, "" if v is None else ("是" if v else "否"), f.center)
            ws.write_blank(row, C_POINTS, None, f.cell)
            ws.write_blank(row, C_VERIFIED, None, f.input)
            self.name(rn.veto_name(k), row, C_VERIFIED)
            input_validation(self.checks, ws, row, C_VERIFIED, yes_no)
            ws.write_blank(row, C_REASON, None, f.input)
            self.name(rn.veto_reason_name(k), row, C_REASON)
            ws.merge_range(row, C_EVIDENCE, row, LAST, "", f.cell)
            ws.set_row(row, max(20, lines_needed(text, 53) * LINE_PT + 4))
            row += 1
        return row

    def table(self, row: int) -> int:
        ws, f = self.ws, self.f
        ws.write_row(row, 0, [h for h, _ in COLUMNS], f.head)
        ws.set_row(row, 30)
        ws.repeat_rows(row, row)
        row += 1
        for group in self.rubric.groups:
            expert = all(ind.expert for ind in group.indicators)
            ws.merge_range(row, 0, row, LAST, f"第 {group.number} 类　{group.name}（{group.max} 分）"
                           + (EXPERT_MARK if expert else ""), f.group)
            row += 1
            for ind in group.indicators:
                row = self.indicator(ind, row)
        last = row - 1
        first = xl_rowcol_to_cell(self.first_value_row, C_VERIFIED)
        end = xl_rowcol_to_cell(last, C_VERIFIED)
        self.ws.write_formula(self.count_row, 3, f'=COUNTA({first}:{end})&" 项（其余为确认报送值）"', f.cell,
                              "0 项（其余为确认报送值）")
        return row

    def indicator(self, ind: Indicator, row: int) -> int:
        ws, f, x = self.ws, self.f, self.x
        data = self.u["indicators"][ind.code]
        n = len(ind.inputs)
        first, last = row, row + n - 1
        for k, inp in enumerate(ind.inputs):
            r = row + k
            ws.write_string(r, C_INPUT, inp.code, f.center)
            unit = f"（{inp.unit}）" if inp.unit else ""
            ws.write_string(r, C_LABEL, f"{inp.full_label}{unit}", f.cell)
            ws.write_string(r, C_SUBMITTED, data["inputs"].get(inp.code, ""), f.cell)
            cell_fmt = x["expert_input"] if ind.expert else (f.input if inp.kind in ("bool", "tier") else f.input_num)
            ws.write_blank(r, C_VERIFIED, None, cell_fmt)
            self.name(rn.value_name(inp), r, C_VERIFIED)
            input_validation(self.checks, ws, r, C_VERIFIED, inp)
            ws.write_blank(r, C_REASON, None, f.input)
            self.name(rn.reason_name(inp), r, C_REASON)
            self.checks.validation(ws, r, C_REASON, {"validate": "length", "criteria": "<=", "value": 500},
                                   f"{inp.code} 核定理由", "核定值与报送值不同时必填：核查了什么、依据哪份材料。",
                                   "核定理由不超过 500 字。")
        title = ind.title + ("\n" + EXPERT_MARK if ind.expert else "")
        method = ind.method + (f"\n【说明】{ind.note}" if ind.note else "")
        findings = "\n".join(self.findings.get(ind.code, []))
        blocks = [(C_CODE, ind.code, f.center), (C_TITLE, title, f.cell), (C_MAX, ind.max, f.center),
                  (C_METHOD, method, f.method), (C_POINTS, data.get("document_score"), f.score),
                  (C_EVIDENCE, data.get("evidence") or "（未列）", x["small"]), (C_FINDINGS, findings, x["small"])]
        for col, value, fm in blocks:
            if first != last:
                ws.merge_range(first, col, last, col, "", fm)
            if isinstance(value, (int, float)):
                ws.write_number(first, col, value, fm)
            else:
                ws.write_string(first, col, str(value if value is not None else ""), fm)
        # 9-point text in the method column, 8-point in evidence and findings: a little more per line
        need = max(lines_needed(method, COLUMNS[C_METHOD][1] * 1.05) + 0.5, lines_needed(title, COLUMNS[C_TITLE][1]),
                   lines_needed(findings, COLUMNS[C_FINDINGS][1] * 1.15),
                   lines_needed(data.get("evidence") or "", COLUMNS[C_EVIDENCE][1] * 1.15))
        rows = [max(lines_needed(f"{inp.full_label}（{inp.unit}）", COLUMNS[C_LABEL][1]),
                    lines_needed(data["inputs"].get(inp.code, ""), COLUMNS[C_SUBMITTED][1])) for inp in ind.inputs]
        extra = max(0.0, need - sum(rows))
        for k, lines in enumerate(rows):
            ws.set_row(row + k, (lines + extra / n) * LINE_PT + 4)
        return last + 1

    def opinion(self, row: int) -> None:
        ws, f, x = self.ws, self.f, self.x
        ws.merge_range(row, 0, row, LAST, "专家组意见", f.head)
        row += 1
        ws.merge_range(row, 0, row, LAST, "", f.input)
        ws.write_blank(row, 0, None, f.input)
        self.name(rn.NAME_OPINION, row, 0)
        self.checks.validation(ws, row, 0, {"validate": "length", "criteria": "<=", "value": 5000}, "专家组意见",
                               "专家组对该单位创建工作的综合意见。", "不超过 5000 字。")
        ws.set_row(row, 120)
        row += 1
        ws.merge_range(row, 0, row, LAST, "专家组组长（签字）：　　　　　　　　　　　　专家组成员（签字）："
                       "　　　　　　　　　　　　　　　　　　　　日期：", x["label"])
        ws.set_row(row, 36)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_header(f"&L&8{self.u['unit']} 现场评审表&R&8{self.u['file']}")
        ws.set_footer("&C&8第 &P 页，共 &N 页")
        ws.print_area(0, 0, row, LAST)
        ws.freeze_panes(0, 0)
        ws.protect("", PROTECT)
