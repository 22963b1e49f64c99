"""What the bureau and the cities read: reports (golden files), comparison workbook, returned workbooks."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import markdown
import openpyxl
import pytest
import yaml

from qc_batch.batch import parallel
from qc_batch.batch.run import run_batch
from qc_batch.outputs.publish import publish
from qc_batch.outputs.reports import cjk_font_path, md
from qc_batch.outputs.returned import SHEET_AUDIT
from qc_batch.settings import load_settings, parse_settings

from . import workbooks as wb
from .lo.bridge import run_lo

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).with_name("golden")
GENERATED_AT = "2026-01-01T00:00:00+00:00"


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    d = tmp_path_factory.mktemp("samples")
    shutil.copytree(ROOT / "input", d / "input")
    settings = load_settings(d / "input" / "settings.yaml")
    result = run_batch(d / "input", settings, settings_file=d / "input" / "settings.yaml", workers=1)
    published = publish(result, d / "output", GENERATED_AT, workers=1)
    return result, published, d / "output"


@pytest.mark.parametrize("unit", ["长沙市", "永州市", "耒阳市"])  # a pass; a fail with over-claims and bad values; a veto
def test_report_matches_golden_file(samples, unit):
    """Set UPDATE_GOLDEN=1 to accept a wording change; the diff of tests/golden/ then shows it."""
    _, _, out = samples
    text = (out / "reports" / f"{unit}.md").read_text(encoding="utf-8")
    golden = GOLDEN / f"{unit}.md"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_reports_say_what_matters(samples):
    result, _, out = samples
    veto = (out / "reports" / "耒阳市.md").read_text(encoding="utf-8")
    assert "不予受理" in veto.split("## 各类别得分")[0]
    fail = (out / "reports" / "永州市.md").read_text(encoding="utf-8")
    verdict, rest = fail.split("## 各类别得分")
    assert "不合格" in verdict and "距合格线还差" in verdict
    assert "约95%（无法识别）" in rest and "多报" in rest
    assert "## 失分项" in rest and "得分条件" in rest
    for u in result.units:
        assert (out / "reports" / f"{u.id}.md").is_file()
        assert (out / "returned" / f"{u.id}_审核.xlsx").is_file()
    index = (out / "index.md").read_text(encoding="utf-8")
    # every unit: its Markdown report and its Word report; the province summary once
    assert index.count(".md)") == len(result.units)
    assert index.count(".docx)") == len(result.units) + 1
    assert "](summary.docx)" in index


def test_unit_text_cannot_inject_markup(tmp_path):
    folder = tmp_path / "input"
    folder.mkdir()
    evil = "<script>alert(1)</script>**粗体**[链接](http://x)"
    wb.write_filled(folder / "a.xlsx", wb.unit_values(0, QC_UNIT=evil, QC_CONTACT="<img src=x onerror=1>"))
    wb.write_filled(folder / "b.xlsx", wb.unit_values(1, QC_UNIT="=HYPERLINK(\"http://x\",\"点我\")"))
    settings = parse_settings(yaml.safe_load(wb.SETTINGS_YAML))
    result = run_batch(folder, settings, workers=1)
    publish(result, tmp_path / "out", GENERATED_AT, workers=1)
    reports = list((tmp_path / "out" / "reports").glob("*.md"))
    assert len(reports) == 2
    for report in reports:
        html = markdown.markdown(report.read_text(encoding="utf-8"), extensions=["tables"])
        assert "<script" not in html and "<img src=x" not in html and 'href="http://x"' not in html
    assert "&lt;script&gt;" in md(evil)
    book = openpyxl.load_workbook(tmp_path / "out" / "comparison.xlsx")
    names = [c for c in book["总排名"]["B"][2:]]  # under the title row and the headings
    assert any(c.value.startswith("=HYPERLINK") for c in names)
    assert all(c.data_type == "s" for c in names)
    for p in (tmp_path / "out" / "returned").iterdir():
        assert "/" not in p.name and "\\" not in p.name and p.suffix == ".xlsx"


def test_chart_has_chinese_glyphs(samples):
    _, published, out = samples
    font = cjk_font_path()
    if font is None:
        if os.environ.get("CI"):
            pytest.fail("no CJK font: .ci/run installs fonts-noto-cjk")
        pytest.skip("no CJK font on this machine")
    assert published.charts
    png = out / "reports" / "长沙市.png"
    from PIL import Image

    with Image.open(png) as img:
        assert img.size[0] >= 800 and len(img.getcolors(1 << 16) or []) > 10


def test_chart_png_holds_exactly_the_drawn_image(samples, tmp_path):
    """The PNG is written by our own encoder: Pillow must read back the same pixels and colours."""
    from PIL import Image

    from qc_batch.outputs.report_data import build_views
    from qc_batch.outputs.reports import _draw_chart, group_chart

    if cjk_font_path() is None:
        pytest.skip("no CJK font on this machine")
    result = samples[0]
    view = build_views(result).views["永州市"]
    group_chart(view, tmp_path / "c.png")
    drawn = _draw_chart(view)
    with Image.open(tmp_path / "c.png") as img:
        img.load()
        assert img.mode == "P" and img.size == drawn.size
        assert img.convert("RGB").tobytes() == drawn.convert("RGB").tobytes()


def test_returned_workbook_is_accepted_again_with_the_same_facts(samples, tmp_path):
    result, _, out = samples
    unit = next(u for u in result.units if u.id == "永州市")
    folder = tmp_path / "input"
    folder.mkdir()
    shutil.copy(out / "returned" / "永州市_审核.xlsx", folder)
    again = run_batch(folder, result.settings, workers=1)
    (u2,) = again.units
    assert u2.sheet.data.facts == unit.sheet.data.facts
    # alone in its batch the unit ranks first; every other indicator scores the same
    same = [c for c, s in unit.score.indicators.items() if not s.indicator.is_ranked]
    assert [u2.score.indicators[c].points for c in same] == [unit.score.indicators[c].points for c in same]
    book = openpyxl.load_workbook(folder / "永州市_审核.xlsx")
    assert book.sheetnames[0] == SHEET_AUDIT
    sheet, ref = next(iter(book.defined_names["QC_6_1_a"].destinations))
    comment = book[sheet][ref.replace("$", "")].comment
    assert comment is not None and "约95%" in comment.text


def test_returned_opens_in_libreoffice(samples):
    """(comparison.xlsx in LibreOffice: tests/test_comparison.py)"""
    _, _, out = samples
    ret = run_lo({"file": str(out / "returned" / "永州市_审核.xlsx"), "dump": [SHEET_AUDIT]})
    assert ret["errors_on_load"] == []
    audit = ret["dump"][SHEET_AUDIT]
    assert any("约95%" in str(c) for row in audit for c in row)


def test_outputs_are_replaced_as_a_whole(samples, tmp_path):
    result, _, _ = samples
    out = tmp_path / "out"
    publish(result, out, GENERATED_AT, workers=1)
    (out / "reports" / "旧单位.md").write_text("stale", encoding="utf-8")
    (out / "mail_log.jsonl").write_text("{}\n", encoding="utf-8")  # not ours: must survive
    publish(result, out, dt.datetime(2026, 1, 2).isoformat(), workers=1)
    assert not (out / "reports" / "旧单位.md").exists()
    assert (out / "mail_log.jsonl").read_text(encoding="utf-8") == "{}\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("unit", ["永州市", "长沙市", "耒阳市"])
def test_fast_returned_workbook_equals_the_plain_one(samples, tmp_path, unit):
    """The patched workbook is, cell by cell, what xlsxwriter writes the slow way."""
    import warnings

    from qc_batch.outputs.report_data import build_views
    from qc_batch.outputs.returned import write_returned, write_returned_plain

    result, _, _ = samples
    u = next(x for x in result.units if x.id == unit)
    view = build_views(result).views[unit]
    fast, plain = tmp_path / "fast.xlsx", tmp_path / "plain.xlsx"
    write_returned(fast, u, result.rubric, result.settings.policy, view)
    write_returned_plain(plain, u, result.rubric, result.settings.policy, view)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for data_only in (False, True):
            a = openpyxl.load_workbook(fast, data_only=data_only)
            b = openpyxl.load_workbook(plain, data_only=data_only)
            assert a.sheetnames == b.sheetnames
            for ws in b.worksheets:
                other = a[ws.title]
                assert len(other.conditional_formatting) == len(ws.conditional_formatting), ws.title
                for row in ws.iter_rows():
                    for c in row:
                        x = other[c.coordinate]
                        assert x.value == c.value, (ws.title, c.coordinate)
                        assert (x.comment.text if x.comment else None) == (c.comment.text if c.comment else None)


def test_outputs_are_the_same_where_workers_cannot_fork(samples, tmp_path, monkeypatch):
    """Windows and macOS start workers by spawning: the batch reaches them through the pool's initializer."""
    import multiprocessing

    from qc_batch.outputs import publish as pub

    result, _, out = samples
    monkeypatch.setattr(pub, "_context", lambda: multiprocessing.get_context("spawn"))
    spawned = publish(result, tmp_path / "out", GENERATED_AT, workers=2)
    assert spawned.reports == len(result.units) > parallel.PARALLEL_FROM
    for u in result.units:
        assert (tmp_path / "out" / "reports" / f"{u.id}.md").read_text(encoding="utf-8") == \
            (out / "reports" / f"{u.id}.md").read_text(encoding="utf-8")
        assert (tmp_path / "out" / "returned" / f"{u.id}_审核.xlsx").stat().st_size > 0
