"""comparison.xlsx: declared columns, sheets that print as documents, charts readable at ~140 units."""

from __future__ import annotations

import copy
import dataclasses
import random
import re
import shutil
import types
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from openpyxl.utils import get_column_letter

from qc_batch import codes
from qc_batch.batch.run import BatchResult, UnitResult, run_batch
from qc_batch.outputs import stage
from qc_batch.outputs.comparison import about, audit_sheets, charts, files, ranking, routine, scores, write_comparison
from qc_batch.outputs.comparison.table import LINE_HEIGHT, NUMBER, Column, Formats, Page, text_lines, write_table_sheet
from qc_batch.outputs.report_data import ReportSet, peer_stats, summary_view
from qc_batch.rubric.expr import REFERENCES
from qc_batch.settings import load_settings

from .lo.bridge import run_lo


def many_units(result: BatchResult, n: int, seed: int = 7) -> BatchResult:
    """``result`` grown to ``n`` units: its 市州 as they are, then copies of its 县市区 under new names
    (their scores shifted a little), as a province of about 140 units sends."""
    rng = random.Random(seed)
    cities = [u for u in result.units if u.entry.level == result.rubric.levels[0]]
    counties = [u for u in result.units if u.entry.level != result.rubric.levels[0]]
    units: list[UnitResult] = list(cities)
    files = [f for f in result.files]
    k = 0
    while len(units) < n:
        src = counties[k % len(counties)]
        k += 1
        name = f"{src.entry.unit[:-1]}{k:03d}{src.entry.unit[-1]}"
        entry = dataclasses.replace(src.entry, unit=name, file=f"示例数据_{name}_{src.entry.year}.xlsx")
        score = dataclasses.replace(src.score, total=src.score.total + rng.randint(-60, 40))
        units.append(dataclasses.replace(src, id=name, sheet=dataclasses.replace(src.sheet, entry=entry),
                                         score=score))
        files.append(entry)
    return dataclasses.replace(result, units=units, files=files)


# -- fixtures ------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
GENERATED_AT = "2026-01-01T00:00:00+00:00"  # 08:00 in Asia/Shanghai
SHEETS = ["总排名", "图表", "指标得分", "类别得分率", "审核发现", "例行提示", "文件清单", "说明"]


def write(result: BatchResult, path: Path) -> Path:
    rs = ReportSet(peer_stats(result))
    rs.views.update((u.id, summary_view(result, u, rs.peers)) for u in result.units)
    write_comparison(path, result, rs, GENERATED_AT)
    return path


@pytest.fixture(scope="module")
def sample_result(tmp_path_factory) -> BatchResult:
    d = tmp_path_factory.mktemp("cmp")
    shutil.copytree(ROOT / "input", d / "input")
    settings = load_settings(d / "input" / "settings.yaml")
    return run_batch(d / "input", settings, settings_file=d / "input" / "settings.yaml", workers=1)


@pytest.fixture(scope="module")
def books(sample_result, tmp_path_factory):
    """comparison.xlsx of the samples (26 units) and of a province of 140 units."""
    d = tmp_path_factory.mktemp("books")
    return {"sample": write(sample_result, d / "sample.xlsx"),
            "province": write(many_units(sample_result, 140), d / "province.xlsx")}


def load(path: Path) -> openpyxl.Workbook:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path)


def drawing_anchors(path: Path, sheet_index: int) -> list[tuple[int, int]]:
    """(from row, to row) of every chart on the sheet_index-th sheet (0-based)."""
    with zipfile.ZipFile(path) as z:
        rels = z.read(f"xl/worksheets/_rels/sheet{sheet_index + 1}.xml.rels").decode()
        drawing = re.search(r'Target="\.\./drawings/(drawing\d+\.xml)"', rels).group(1)
        xml = z.read(f"xl/drawings/{drawing}").decode()
    rows = [int(x) for x in re.findall(r"<xdr:row>(\d+)</xdr:row>", xml)]
    return list(zip(rows[::2], rows[1::2], strict=True))


def chart_refs(path: Path) -> list[list[str]]:
    """The category and value ranges of every chart's series."""
    out = []
    with zipfile.ZipFile(path) as z:
        for name in sorted(n for n in z.namelist() if n.startswith("xl/charts/chart")):
            out.append(re.findall(r"<c:f>([^<]+)</c:f>", z.read(name).decode()))
    return out


# -- declared columns ------------------------------------------------------------------------------


def test_every_sheet_is_its_declared_columns_under_a_title_row(sample_result, books):
    book = load(books["sample"])
    b = sample_result
    assert book.sheetnames == [*SHEETS, charts.DATA_SHEET]
    assert book[charts.DATA_SHEET].sheet_state == "hidden"
    declared = {"总排名": ranking.columns(b), "指标得分": scores.indicator_columns(b),
                "类别得分率": scores.group_columns(b), "审核发现": audit_sheets.columns(),
                "例行提示": routine.columns(b), "文件清单": files.columns(), "说明": about.columns()}
    for sheet, cols in declared.items():
        ws = book[sheet]
        title = ws["A1"].value
        assert title.startswith(f"{b.settings.year}年度") and sheet in title
        assert "资料评审" in title and "2026-01-01 08:00" in title  # the stage; local time
        assert [c.value for c in ws[2]][:len(cols)] == [c.heading for c in cols], sheet
        widths = {i: d.width for d in ws.column_dimensions.values() for i in range(d.min, d.max + 1)}
        for k, c in enumerate(cols, start=1):
            assert widths[k] == pytest.approx(c.width, abs=0.8), (sheet, c.heading)


def test_a_new_column_is_one_line_and_charts_find_ranges_by_heading(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "t.xlsx"))
    fmts = Formats(wb)
    page = Page(2026, "资料评审", "2026-01-01 08:00")
    cols = [Column("名称", 10, lambda r: r[0]), Column("分数", 8, lambda r: r[1], "pts", kind=NUMBER, stat=True)]
    wider = [cols[0], Column("新列", 6, lambda r: len(r[0]), "int", kind=NUMBER), cols[1]]
    rows = [("甲", 1.5), ("乙", 2.25), ("=1+1", 3)]
    _ws, t1 = write_table_sheet(wb, fmts, page, "一", cols, rows, stats=(("平均", "AVERAGE"),))
    _ws, t2 = write_table_sheet(wb, fmts, page, "二", wider, rows)
    assert t1.range("分数") == ["一", 2, 1, 4, 1] and t2.range("分数") == ["二", 2, 2, 4, 2]
    assert t2.range("分数", first=1, count=1) == ["二", 3, 2, 3, 2]
    with pytest.raises(KeyError, match="no column"):
        t1.col("新列")
    wb.close()
    book = load(tmp_path / "t.xlsx")
    assert [c.value for c in book["二"][2]] == ["名称", "新列", "分数"]
    assert book["一"]["A5"].value == "=1+1" and book["一"]["A5"].data_type == "s"  # text stays text
    assert book["一"]["B6"].value == "=IFERROR(AVERAGE(B3:B5),0)"
    assert book["一"].print_title_rows == "$2:$2"


def test_charts_read_their_figures_by_heading(sample_result, books):
    data = load(books["sample"])[charts.DATA_SHEET]
    for refs in chart_refs(books["sample"]):
        for ref in refs:
            sheet, cells = ref.rsplit("!", 1)
            assert sheet.strip("'") == charts.DATA_SHEET
            first = cells.split(":")[0].replace("$", "")
            col = re.match(r"[A-Z]+", first).group(0)
            row = int(first[len(col):])
            if ":" in cells:  # a series' range: the column under its heading, rows of one table
                heading = next(data[f"{col}{r}"].value for r in range(row - 1, 0, -1)
                               if isinstance(data[f"{col}{r}"].value, str) and data[f"{col}{r}"].font.b)
                assert heading in ("单位", "总分", "合格线", "分数段", "低于合格线", "达到合格线", "类别",
                                   *sample_result.rubric.levels)


# -- prints as a document -----------------------------------------------------------------------


@pytest.mark.parametrize("which", ["sample", "province"])
def test_every_sheet_prints_with_header_footer_page_numbers_and_repeated_headings(books, which):
    book = load(books[which])
    for name in SHEETS:
        ws = book[name]
        assert ws.page_setup.paperSize == 9, name
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text, name
        assert "2026年度" in ws.oddHeader.left.text and name in ws.oddHeader.center.text
        assert "资料评审" in ws.oddHeader.right.text
        if name != charts.SHEET:
            assert ws.print_title_rows == "$2:$2" or ws.print_title_rows == "$2:$3", name


def test_levels_start_new_pages_in_the_ranking(sample_result, books):
    ws = load(books["province"])["总排名"]
    levels = [ws.cell(r, 3).value for r in range(3, ws.max_row + 1)]
    first_county = 3 + levels.index(sample_result.rubric.levels[1])
    assert [b.id for b in ws.row_breaks.brk] == [first_county - 1]


def test_charts_are_one_to_a_page_and_per_level_at_140_units(books, sample_result):
    path = books["province"]
    book = load(path)
    ws = book[charts.SHEET]
    breaks = [b.id for b in ws.row_breaks.brk]
    anchors = drawing_anchors(path, SHEETS.index(charts.SHEET))
    # 市州: every unit; 县市区: distribution, first 20, last 20; the group profile
    assert len(anchors) == 5
    starts = [0, *breaks]
    ends = [*breaks, 10 ** 6]
    for (top, bottom), start, end in zip(anchors, starts, ends, strict=True):
        assert start <= top and bottom < end  # 0-based rows; a break id is the last row of its page
    data = book[charts.DATA_SHEET]
    levels = {u.entry.unit: u.entry.level for u in many_units(sample_result, 140).units}
    for refs in chart_refs(path):
        for ref in refs:
            cells = ref.rsplit("!", 1)[1].replace("$", "")
            if ":" not in cells or not cells.startswith("A"):
                continue
            top, bottom = (int(x[1:]) for x in cells.split(":"))
            names = [data[f"A{r}"].value for r in range(top, bottom + 1)]
            assert len(names) <= charts.ALL_UNITS_UP_TO
            if names[0] in levels:  # a series of units: all of one level
                assert len({levels[n] for n in names}) == 1


def test_bands_have_the_pass_mark_on_an_edge_and_count_every_unit():
    totals = [612.5, 799.9, 800.0, 1060.0, 955.0, 700.0]
    out = charts.bands(totals, 800, 1060)
    assert sum(b.below + b.above for b in out) == len(totals)
    assert sum(b.below for b in out) == 3 and len(out) <= charts.MAX_BANDS
    assert out[-1].label.endswith("1060")
    assert any(b.label.startswith("800～") for b in out)


def test_colour_scales_run_from_zero_to_each_indicators_maximum(sample_result, books):
    ws = load(books["sample"])["指标得分"]
    maxima = {}
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            if rule.type == "colorScale":
                lo, _mid, hi = rule.colorScale.cfvo
                col = str(cf.sqref).split(":")[0].rstrip("0123456789")
                maxima[ws[f"{col}2"].value] = (lo.type, float(lo.val), hi.type, float(hi.val))
    for ind in sample_result.rubric.indicators:
        assert maxima[ind.code] == ("num", 0.0, "num", float(ind.max))


def test_findings_show_titles_with_codes_and_routine_notes_sit_on_their_own_sheet(sample_result, books):
    book = load(books["sample"])
    found = [[c.value for c in r] for r in book["审核发现"].iter_rows(min_row=3)]
    heads = [c.heading for c in audit_sheets.columns()]
    problem, value = heads.index("问题"), heads.index("填写的值")
    expected = Counter((u.entry.unit, f"{codes.get(f.code).title}（{f.code}）")
                       for u in sample_result.units for f in u.findings if f.code not in routine.CODES)
    assert Counter((row[0], row[problem]) for row in found) == expected and expected
    assert not [row for row in found if re.search(r"\de[-+]\d", str(row[value] or ""))]
    assert {"RANKED_ITEM", "EXPERT_RATING"} == routine.CODES
    ws = book["例行提示"]
    heads = [c.value for c in ws[2]]
    rows = {r[0].value: [c.value for c in r] for r in ws.iter_rows(min_row=4)}
    u = sample_result.units[0]
    part = next(p for p, st in u.standings.items() if st.rank is not None)
    st = u.standings[part]
    assert rows[u.entry.unit][heads.index(f"{part} 名次")].startswith(f"{st.rank}/{st.peers}")


def test_plain_number_never_shows_an_exponent():
    assert audit_sheets.plain_number("7.314e-05") == "0.00007314"
    assert audit_sheets.plain_number("1E+3") == "1000"
    assert audit_sheets.plain_number("约95%") == "约95%" and audit_sheets.plain_number("Excel") == "Excel"


def test_wrapped_rows_are_tall_enough_not_to_overlap_when_printed(books):
    ws = load(books["sample"])["审核发现"]
    heads = [c.heading for c in audit_sheets.columns()]
    width = audit_sheets.columns()[heads.index("说明")].width
    col = get_column_letter(heads.index("说明") + 1)
    checked = 0
    for r in range(3, ws.max_row + 1):
        lines = text_lines(ws[f"{col}{r}"].value or "", width)
        if lines > 1:
            assert ws.row_dimensions[r].height >= LINE_HEIGHT * lines
            checked += 1
    assert checked
    assert text_lines("一" * 30, 31) == 2 and text_lines("a" * 30, 31) == 1 and text_lines("甲\n乙", 40) == 2


def test_about_sheet_has_no_repeated_text_numbers_for_references_and_local_time(sample_result, books):
    ws = load(books["sample"])["说明"]
    rows = [(r[0].value, r[1].value) for r in ws.iter_rows(min_row=3) if r[0].value]
    labels = [k for k, _ in rows]
    texts = [v for _, v in rows if isinstance(v, str)]
    assert len(labels) == len(set(labels)) and len(texts) == len(set(texts))
    values = dict(rows)
    for ref, about_ref in REFERENCES.items():
        expected = float(sample_result.settings.policy.refs[ref])
        assert values[f"{about_ref.label}（{about_ref.unit}）"] == pytest.approx(expected)  # a number cell
    assert values["生成时间（北京时间）"] == "2026-01-01 08:00"
    assert sample_result.rubric.expert_text in values["计分方法"]


def test_local_time_and_stage():
    assert stage.local_time("2026-06-30T18:30:00+00:00") == "2026-07-01 02:30"
    assert stage.local_time("2026-06-30T18:30:00") == "2026-07-01 02:30"  # no offset: UTC
    b = types.SimpleNamespace()
    assert stage.stage_label(b) == "资料评审"
    b.stage = "final"
    assert stage.stage_label(b) == "资料评审＋现场评审"


def test_final_stage_is_named_in_every_title(sample_result, tmp_path):
    final = copy.copy(sample_result)
    final.stage = "final"
    book = load(write(final, tmp_path / "final.xlsx"))
    for name in SHEETS:
        assert "资料评审＋现场评审" in book[name]["A1"].value


# -- LibreOffice -------------------------------------------------------------------------------------


@pytest.mark.libreoffice
@pytest.mark.parametrize("which", ["sample", "province"])
def test_opens_in_libreoffice_without_formula_errors_and_converts_to_pdf(sample_result, books, which, tmp_path):
    result = sample_result if which == "sample" else many_units(sample_result, 140)
    pdf = tmp_path / "c.pdf"
    answer = run_lo({"file": str(books[which]), "dump": ["总排名", "审核发现", "文件清单"], "convert": str(pdf)})
    assert answer["errors_on_load"] == []
    assert answer["sheets"] == [*SHEETS, charts.DATA_SHEET]
    assert answer["charts"][charts.SHEET] == (3 if which == "sample" else 5)
    rows = answer["dump"]["总排名"]
    units = {r[1]: r for r in rows[2:] if r[1]}
    assert len(units) == len(result.units)
    for u in result.units:
        assert units[u.entry.unit][4] == pytest.approx(float(u.score.total))
        assert units[u.entry.unit][8] == u.score.status
    findings = sum(1 for u in result.units for f in u.findings if f.code not in routine.CODES)
    assert len(answer["dump"]["审核发现"]) - 2 == findings
    assert len(answer["dump"]["文件清单"]) - 2 == len(result.files) + len(result.not_submitted)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000


def test_a_batch_without_accepted_units_still_writes_every_sheet(sample_result, tmp_path):
    empty = dataclasses.replace(sample_result, units=[])
    book = load(write(empty, tmp_path / "empty.xlsx"))
    assert book.sheetnames == [*SHEETS, charts.DATA_SHEET]
    assert book["总排名"].max_row == 2 and book["文件清单"].max_row == 2 + len(empty.files) + len(empty.not_submitted)
    assert book["图表"]["A3"].value == "没有可绘制的单位。"


def test_file_reasons_show_their_titles_with_their_codes(sample_result, books):
    ws = load(books["sample"])["文件清单"]
    heads = [c.value for c in ws[2]]
    shown = {r[0].value: r[heads.index("原因类别")].value for r in ws.iter_rows(min_row=3) if r[0].value}
    for f in sample_result.files:
        if f.reason_code:
            assert shown[f.file] == f"{codes.get(f.reason_code).title}（{f.reason_code}）"
    assert any(f.reason_code for f in sample_result.files)
