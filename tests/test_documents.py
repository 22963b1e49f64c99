"""The documents officials open: reports/<id>.docx, summary.docx, and their PDFs (LibreOffice).

The Word report is made from the same Markdown as reports/<id>.md: a test reads each
.docx with python-docx and compares its text, block by block, with the Markdown as
Python-Markdown renders it. Golden text files keep the reports' and the summary's
wording and structure (``UPDATE_GOLDEN=1`` accepts a change).
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import docx
import markdown
import pytest
import yaml
from docx.oxml.ns import qn
from hypothesis import given
from hypothesis import strategies as st

from qc_batch.batch.run import run_batch
from qc_batch.outputs import pdf as pdf_mod
from qc_batch.outputs.docx_parts import PAGE_H, PAGE_W
from qc_batch.outputs.docx_report import inline_runs, markdown_body, markdown_docx, plain, split_row
from qc_batch.outputs.publish import publish
from qc_batch.outputs.report_data import ReportSet, peer_stats
from qc_batch.outputs.reports import md
from qc_batch.outputs.summary import local_date, summary_data, summary_markdown
from qc_batch.settings import load_settings, parse_settings

from . import workbooks as wb

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).with_name("golden")
GENERATED_AT = "2026-01-01T00:00:00+00:00"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    d = tmp_path_factory.mktemp("samples")
    shutil.copytree(ROOT / "input", d / "input")
    settings = load_settings(d / "input" / "settings.yaml")
    result = run_batch(d / "input", settings, settings_file=d / "input" / "settings.yaml", workers=1)
    publish(result, d / "output", GENERATED_AT, workers=1)
    return result, d / "output"


# -- reading the documents back ------------------------------------------------------------


def docx_blocks(path: Path) -> list[str]:
    """Every paragraph's text and every table cell's text, in order (python-docx reads the file)."""
    body = docx.Document(str(path)).element.body
    out = []
    for el in body.iterchildren():
        if el.tag == qn("w:p"):
            out.append("".join(t.text or "" for t in el.iter(qn("w:t"))))
        elif el.tag == qn("w:tbl"):
            for cell in el.iter(qn("w:tc")):
                out.append("".join(t.text or "" for t in cell.iter(qn("w:t"))))
    return [re.sub(r"\s+", "", b) for b in out if b.strip()]


class _Blocks(HTMLParser):
    BLOCKS = frozenset({"h1", "h2", "h3", "p", "li", "th", "td"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[list[str]] = []
        self.out: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.BLOCKS:
            if self.stack and "".join(self.stack[-1]).strip():  # text of an <li> before its nested <p>
                self.out.append("".join(self.stack[-1]))
                self.stack[-1].clear()
            self.stack.append([])

    def handle_endtag(self, tag):
        if tag in self.BLOCKS and self.stack:
            self.out.append("".join(self.stack.pop()))

    def handle_data(self, data):
        if self.stack:
            self.stack[-1].append(data)


def _blank_before_lists(text: str) -> str:
    """A list right after a paragraph line starts a list (CommonMark, and the templates' intent);
    Python-Markdown wants a blank line there, so one is added before rendering."""
    out: list[str] = []
    for line in text.split("\n"):
        quote, rest = re.match(r"(>?\s*)(.*)", line).groups()
        if out and re.match(r"[-*] ", rest):
            prev_quote, prev = re.match(r"(>?\s*)(.*)", out[-1]).groups()
            if prev.strip() and not re.match(r"[-*] ", prev) and prev_quote.strip() == quote.strip():
                out.append(quote.rstrip())
        out.append(line)
    return "\n".join(out)


def markdown_blocks(text: str) -> list[str]:
    """The same, from the Markdown as Python-Markdown renders it to HTML."""
    p = _Blocks()
    p.feed(markdown.markdown(_blank_before_lists(text), extensions=["tables"]))
    return [re.sub(r"\s+", "", b) for b in p.out if b.strip()]


def docx_dump(path: Path) -> str:
    """The text of a document with its structure: the style of each paragraph, tables row by row."""
    body = docx.Document(str(path)).element.body
    lines = []
    for el in body.iterchildren():
        if el.tag == qn("w:p"):
            style = el.find(f"{W}pPr/{W}pStyle")
            text = "".join(t.text or "" for t in el.iter(qn("w:t")))
            if el.find(f".//{W}drawing") is not None:
                text = "[图片]"
            if text:
                lines.append(f"{style.get(qn('w:val')) if style is not None else 'Normal'}: {text}")
        elif el.tag == qn("w:tbl"):
            for row in el.iter(qn("w:tr")):
                cells = ["".join(t.text or "" for t in c.iter(qn("w:t"))) for c in row.iter(qn("w:tc"))]
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def check_golden(text: str, name: str) -> None:
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


# -- the reports -----------------------------------------------------------------------------


def test_every_unit_gets_a_word_report_with_the_markdown_text(samples):
    result, out = samples
    for u in result.units:
        md_text = (out / "reports" / f"{u.id}.md").read_text(encoding="utf-8")
        blocks = docx_blocks(out / "reports" / f"{u.id}.docx")
        assert blocks == markdown_blocks(md_text), u.id


@pytest.mark.parametrize("unit", ["长沙市", "永州市", "耒阳市"])  # a pass; a fail with over-claims and bad values; a veto
def test_word_report_matches_golden_text(samples, unit):
    _, out = samples
    check_golden(docx_dump(out / "reports" / f"{unit}.docx"), f"{unit}.docx.txt")


def test_word_report_reads_verdict_first_then_chart_groups_lost_points_audit(samples):
    _, out = samples
    dump = docx_dump(out / "reports" / "永州市.docx").splitlines()
    assert dump[0] == "Title: 2026年度质量强市（区、县）评价审核报告：永州市"
    order = [next(k for k, line in enumerate(dump) if line.startswith(prefix)) for prefix in (
        "Heading1: 结论", "Normal: 不合格。", "Figure: [图片]", "Heading1: 各类别得分", "| 类别 |",
        "Heading1: 失分项", "Heading1: 审核意见")]
    assert order == sorted(order)


def test_word_report_page_fonts_and_tables(samples):
    _, out = samples
    path = out / "reports" / "永州市.docx"
    d = docx.Document(str(path))
    sec = d.sections[0]
    assert (sec.page_width, sec.page_height) == (PAGE_W * 635, PAGE_H * 635)  # A4 portrait, in EMU
    assert sec.orientation == 0
    with zipfile.ZipFile(path) as z:
        footer = z.read("word/footer1.xml").decode()
        styles = z.read("word/styles.xml").decode()
        fonts = z.read("word/fontTable.xml").decode()
        document = z.read("word/document.xml").decode()
        assert z.testzip() is None
    assert 'w:instr=" PAGE "' in footer  # page numbers
    assert 'w:eastAsia="宋体"' in styles and 'w:eastAsia="黑体"' in styles and 'w:eastAsia="zh-CN"' in styles
    assert '<w:altName w:val="SimSun"/>' in fonts and '<w:altName w:val="SimHei"/>' in fonts
    assert "<w:charset w:val=\"86\"/>" in fonts  # GB2312: the fallback a font matcher picks a Chinese font by
    first_rows = [t.rows[0]._tr for t in d.tables]
    assert d.tables and all(tr.find(f"{W}trPr/{W}tblHeader") is not None for tr in first_rows)
    assert "fldSimple" not in document and "instrText" not in document and "hyperlink" not in document
    assert len(d.inline_shapes) == 1  # the chart


def test_unit_text_cannot_make_fields_links_or_broken_xml(tmp_path):
    folder = tmp_path / "input"
    folder.mkdir()
    evil = '{ PAGE }<w:fldSimple w:instr="x"/>**粗**[链](http://x)&amp;'  # control characters: below
    wb.write_filled(folder / "a.xlsx", wb.unit_values(0, QC_UNIT=evil, QC_CONTACT="http://example.com"))
    wb.write_filled(folder / "b.xlsx", wb.unit_values(1, QC_UNIT='=HYPERLINK("http://x","点我")'))
    settings = parse_settings(yaml.safe_load(wb.SETTINGS_YAML))
    result = run_batch(folder, settings, workers=1)
    publish(result, tmp_path / "out", GENERATED_AT, workers=1)
    reports = sorted((tmp_path / "out" / "reports").glob("*.docx"))
    assert len(reports) == 2
    texts = []
    for report in reports:
        with zipfile.ZipFile(report) as z:
            document = z.read("word/document.xml").decode()
        for bad in ("<w:fldSimple", "<w:instrText", "<w:fldChar", "<w:hyperlink"):
            assert bad not in document
        texts.append(docx.Document(str(report)).paragraphs[0].text)
    assert any(evil in t for t in texts)
    assert any('=HYPERLINK("http://x","点我")' in t for t in texts)


# -- the Markdown the templates write ------------------------------------------------------


@given(st.text(max_size=60))
def test_any_unit_text_comes_out_as_the_same_text_and_nothing_else(text):
    """Whatever a workbook holds, escaped by the reports' md filter it becomes one run of literal text."""
    from xml.etree import ElementTree

    runs = inline_runs(md(text))
    p = ElementTree.fromstring(f'<w:p xmlns:w="{W[1:-1]}">{runs}</w:p>')
    assert {el.tag for el in p.iter()} <= {f"{W}p", f"{W}r", f"{W}t"}  # no field, link, bold or emphasis
    expected = re.sub("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]", "", re.sub(r"[\r\n\t]+", " ", text))
    assert "".join(t.text or "" for t in p.iter(f"{W}t")) == expected


def test_markdown_escapes_emphasis_and_entities():
    assert plain(r"a\*b\*c \_d\_ \[e\] f\|g \\ h &amp;lt; &lt;b&gt;") == r"a*b*c _d_ [e] f|g \ h &lt; <b>"
    body = markdown_body("**不合格。** 核算 *暂计* 分")
    xml = "".join(body.parts)
    assert '<w:b/><w:bCs/></w:rPr><w:t xml:space="preserve">不合格。</w:t>' in xml
    bold_emph = "".join(markdown_body("***粗体楷体***").parts)
    assert '<w:rPr><w:rFonts w:eastAsia="楷体"/><w:b/><w:bCs/><w:color w:val="404040"/></w:rPr>' in bold_emph
    assert 'w:eastAsia="楷体"' in xml  # emphasis in 楷体, not a slanted 宋体
    assert split_row(r"| a | b\|c | d |") == ["a", r"b\|c", "d"]


def test_markdown_blocks_become_word_blocks():
    text = ("# 标题\n\n*副标题*\n\n## 一\n\n第一行\n第二行\n\n- 项\n\n> **注意：**\n> - 甲\n\n"
            "| 名 | 分 |\n|---|---:|\n| 甲 | 1 |\n\n---\n\n![图](x.png)\n")
    styles = re.findall(r'<w:pStyle w:val="(\w+)"/>', "".join(markdown_body(text).parts))
    assert styles == ["Title", "Subtitle", "Heading1", "Normal", "ListBullet", "Quote", "QuoteBullet",
                      "TableHead", "TableHead", "TableText", "TableText", "Rule"]  # the image is not supplied
    assert "第一行第二行" in plain("第一行第二行")
    doc = markdown_docx("![图](x.png)\n", {"x.png": _tiny_png()})
    with zipfile.ZipFile(io.BytesIO(doc)) as z:
        assert "word/media/image1.png" in z.namelist()
        assert 'r:embed="rIdImage1"' in z.read("word/document.xml").decode()


def _tiny_png() -> bytes:
    from qc_batch.outputs.deflate import png_palette

    return png_palette(2, 1, b"\x00\x01", b"\x00\x00\x00\xff\xff\xff")


def test_long_table_repeats_its_header_and_short_table_keeps_together():
    rows = "".join(f"| {k} | 单位{k} |\n" for k in range(60))
    xml = "".join(markdown_body(f"| 名次 | 单位 |\n|---:|---|\n{rows}").parts)
    assert xml.count("<w:tblHeader/>") == 1 and xml.count("<w:cantSplit/>") == 61
    assert "<w:keepNext/>" not in xml  # 60 rows may break across pages (the header row repeats)
    short = "".join(markdown_body("| 名 | 分 |\n|---|---:|\n| 甲 | 1 |\n| 乙 | 2 |\n").parts)
    assert short.count("<w:keepNext/>") == 2  # the first row keeps with the last


# -- the summary -----------------------------------------------------------------------------


def test_summary_matches_golden_text(samples):
    _, out = samples
    check_golden(docx_dump(out / "summary.docx"), "summary.txt")


def test_summary_says_what_leadership_asks(samples):
    result, out = samples
    dump = docx_dump(out / "summary.docx")
    assert dump.startswith("Title: 2026年度质量强市（区、县）评价结果汇总\nSubtitle: 资料评审　2026年1月1日\n")
    for heading in ("按层级", "按市州", "排名", "各类别得分率", "主要失分指标", "常见问题", "未提交的单位"):
        assert heading in dump
    for e in result.not_submitted:
        assert f"| {e.unit} | {e.level} |" in dump
    for u in result.units:
        assert f"| {u.entry.unit} |" in dump
    assert "Figure: [图片]" in dump
    assert local_date("2026-06-30T16:30:00+00:00") == "2026年7月1日"  # the date in China
    final = dataclasses.replace(result, stage="final")  # after the on-site review
    data = summary_data(final, ReportSet(peer_stats(final)), GENERATED_AT, chart=False)
    assert "*资料评审＋现场评审　2026年1月1日*" in summary_markdown(data)


def test_summary_of_a_batch_without_an_accepted_unit(tmp_path):
    folder = tmp_path / "input"
    folder.mkdir()
    (folder / "坏文件.xlsx").write_bytes(b"not a workbook")
    settings = parse_settings(yaml.safe_load(wb.SETTINGS_YAML))
    result = run_batch(folder, settings, workers=1)
    publish(result, tmp_path / "out", GENERATED_AT, workers=1)
    dump = docx_dump(tmp_path / "out" / "summary.docx")
    assert "受理 0 个" in dump and "没有受理的单位。" in dump and "没有参评的单位。" in dump
    assert "| 坏文件.xlsx |" in dump and "Figure" not in dump


# -- PDF -------------------------------------------------------------------------------------


def _require_soffice() -> str:
    program = pdf_mod.find_soffice()
    if program is None or not (shutil.which("pdfinfo") and shutil.which("pdftotext")):
        msg = "LibreOffice Writer and poppler-utils are not installed"
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI must install libreoffice-writer-nogui and poppler-utils: see .ci/run)")
        pytest.skip(msg)
    return program


def test_run_pdf_converts_every_document_in_libreoffice(tmp_path):
    """``qc-batch run --pdf``: every generated .docx opens in LibreOffice and becomes a PDF."""
    _require_soffice()
    from click.testing import CliRunner

    from qc_batch.cli import cli

    shutil.copytree(ROOT / "input", tmp_path / "input")
    res = CliRunner().invoke(cli, ["run", "-i", str(tmp_path / "input"), "-o", str(tmp_path / "out"),
                                   "--workers", "1", "--pdf"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    docs = [*sorted((out / "reports").glob("*.docx")), out / "summary.docx"]
    assert len(docs) == len(list((out / "reports").glob("*.md"))) + 1
    assert "PDF" in res.output
    for d in docs:
        pdf = d.with_suffix(".pdf")
        assert pdf.is_file(), d.name
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        assert re.search(r"Pages:\s+[1-9]", info) and "595" in info  # A4 width in points
    text = subprocess.run(["pdftotext", str(out / "reports" / "永州市.pdf"), "-"], capture_output=True,
                          text=True).stdout
    assert "永州市" in text and "结论" in text and re.search(r"—\s*2\s*—", text)  # the page number


def test_pdf_without_libreoffice_says_so_and_the_run_goes_on(samples, tmp_path, monkeypatch):
    result, _ = samples
    monkeypatch.setattr(pdf_mod, "find_soffice", lambda: None)
    published = publish(result, tmp_path / "out", GENERATED_AT, workers=1, pdf=True)
    assert published.pdf is not None and "未找到 LibreOffice" in published.pdf.message
    assert not list((tmp_path / "out").rglob("*.pdf"))
    assert (tmp_path / "out" / "summary.docx").is_file() and (tmp_path / "out" / "comparison.xlsx").is_file()


def test_pdf_progress_counts_the_pdfs_as_they_appear(tmp_path):
    docs = [tmp_path / f"{k}.docx" for k in range(3)]
    for d in docs:
        d.write_bytes(b"x")
    fake = tmp_path / "soffice"  # makes a PDF of every document it is given, one at a time
    fake.write_text('#!/bin/sh\nout=""\nfor a in "$@"; do\n  if [ "$prev" = "--outdir" ]; then out="$a"; fi\n'
                    '  case "$a" in *.docx) sleep 0.3; b=$(basename "$a" .docx); echo pdf > "$out/$b.pdf";; esac\n'
                    '  prev="$a"\ndone\n')
    fake.chmod(0o755)
    ticks: list[int] = []
    outcome = pdf_mod.convert_to_pdf(docs, program=str(fake), progress=lambda total: ticks.append)
    assert outcome.made == [d.with_suffix(".pdf") for d in docs] and not outcome.failed
    assert sum(ticks) == 3 and len(ticks) >= 2  # told while it worked, not only at the end
    assert outcome.message == "已用 LibreOffice 生成 PDF 3 个。"


def test_pdf_conversion_failure_is_reported_not_raised(tmp_path):
    doc = tmp_path / "a.docx"
    doc.write_bytes(b"not a document")
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    outcome = pdf_mod.convert_to_pdf([doc], program=str(fake))
    assert outcome.failed == [doc] and not outcome.made
    assert "未能转换" in outcome.message and "返回代码 3" in outcome.message
