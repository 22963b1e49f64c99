"""Every file of the input folder is accounted for; one bad file never stops the batch."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
import yaml

from qc_batch.batch.run import run_batch, safe_file_stem, unit_ids
from qc_batch.codes import ACCEPTED, REJECTED, SETTINGS, SUPERSEDED
from qc_batch.engine.scoring import score_unit
from qc_batch.read.sheet_data import interpret
from qc_batch.settings import parse_settings
from qc_batch.sheet import names as sn

from . import workbooks as wb


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """An input folder with good workbooks and one file for each kind of bad input.

    Returns the folder and {file name: expected status or reason code}.
    """
    d = tmp_path_factory.mktemp("input")
    expect: dict[str, str] = {}
    good = wb.write_filled(d / "好_长沙市.xlsx", wb.unit_values(0))
    expect[good.name] = ACCEPTED
    expect[wb.write_filled(d / "好_株洲市.xlsx", wb.unit_values(1)).name] = ACCEPTED
    # the same unit twice: the later 填报日期 wins
    v2 = wb.unit_values(2)
    expect[wb.write_filled(d / "湘潭市_新.xlsx", v2).name] = ACCEPTED
    older = dict(v2, QC_DATE=v2["QC_DATE"] - dt.timedelta(days=5))
    expect[wb.write_filled(d / "湘潭市_旧.xlsx", older).name] = SUPERSEDED
    # same unit, same date: the later file time wins
    v3 = wb.unit_values(3)
    a = wb.write_filled(d / "衡阳市_a.xlsx", v3)
    b = wb.write_filled(d / "衡阳市_b.xlsx", v3)
    os.utime(a, (1_700_000_000, 1_700_000_000))
    os.utime(b, (1_700_000_500, 1_700_000_500))
    expect[a.name], expect[b.name] = SUPERSEDED, ACCEPTED
    # a renamed sheet: names follow it, the workbook is still read
    expect[wb.rename_sheet(wb.write_filled(d / "tmp1.xlsx", wb.unit_values(4)), d / "改了表名_邵阳市.xlsx",
                           sn.SHEET_SCORES, "评分").name] = ACCEPTED
    # header problems
    expect[wb.write_filled(d / "无单位名.xlsx", wb.unit_values(5, QC_UNIT=None)).name] = "HEADER_UNIT_MISSING"
    expect[wb.write_filled(d / "无层级.xlsx", wb.unit_values(6, QC_LEVEL=None)).name] = "HEADER_LEVEL_INVALID"
    expect[wb.write_filled(d / "层级错.xlsx", wb.unit_values(6, QC_LEVEL="地级市")).name] = "HEADER_LEVEL_INVALID"
    expect[wb.write_filled(d / "无年度.xlsx", wb.unit_values(7, QC_YEAR=None)).name] = "HEADER_YEAR_MISSING"
    expect[wb.write_filled(d / "去年.xlsx", wb.unit_values(8, QC_YEAR=2025)).name] = "HEADER_YEAR_OTHER"
    # another template, an older one
    other = wb.write_filled(d / "tmp3.xlsx", wb.unit_values(9))
    expect[wb.replace_string(other, d / "别的模板.xlsx", sn.TEMPLATE_ID, "某市自制评分表").name] = "WRONG_TEMPLATE"
    expect[wb.replace_string(other, d / "旧模板.xlsx", wb.RUBRIC.version, "2019-draft").name] = "OLD_TEMPLATE"
    # structure damaged
    base = wb.write_filled(d / "tmp2.xlsx", wb.unit_values(10))
    expect[wb.drop_defined_names(base, d / "删了名称.xlsx", ["QC_2_4_c1", "QC_1_1"]).name] = "NAMES_MISSING"
    expect[wb.break_sheet_refs(base, d / "删了工作表.xlsx", sn.SHEET_SCORES).name] = "NAMES_MISSING"
    expect[wb.truncated(base, d / "传输中断.xlsx").name] = "FILE_CORRUPT"
    expect[wb.with_dtd_bomb(base, d / "实体炸弹.xlsx").name] = "FILE_UNSAFE_XML"
    expect[wb.zip_bomb(d / "压缩炸弹.xlsx", 40).name] = "FILE_ZIP_BOMB"
    # not an xlsx at all
    expect[wb.ole_file(d / "老格式.xls").name] = "FILE_OLD_FORMAT"
    expect[wb.ole_file(d / "金山.et").name] = "FILE_OLD_FORMAT"
    expect[wb.ole_file(d / "加密.xlsx", encrypted=True).name] = "FILE_ENCRYPTED"
    expect[wb.ole_file(d / "改了扩展名的老格式.xlsx").name] = "FILE_OLD_FORMAT"  # a real .xls renamed
    (d / "导出.csv").write_text("指标,得分\n1.1,20\n", encoding="utf-8")
    expect["导出.csv"] = "FILE_NOT_XLSX"
    expect[wb.docx_like(d / "说明.docx").name] = "FILE_NOT_WORKBOOK"
    (d / "空文件.xlsx").write_bytes(b"")
    expect["空文件.xlsx"] = "FILE_NOT_XLSX"
    # files the batch must not read but must list
    shutil.copy(good, d / "~$好_长沙市.xlsx")
    expect["~$好_长沙市.xlsx"] = "FILE_LOCK"
    shutil.copy(good, d / ".隐藏.xlsx")
    expect[".隐藏.xlsx"] = "FILE_HIDDEN"
    (d / "子文件夹").mkdir()
    expect["子文件夹"] = "FOLDER"
    for tmp in ("tmp1.xlsx", "tmp2.xlsx", "tmp3.xlsx"):
        (d / tmp).unlink()
    (d / "settings.yaml").write_text(wb.SETTINGS_YAML, encoding="utf-8")
    expect["settings.yaml"] = SETTINGS
    return d, expect


@pytest.fixture(scope="module")
def batch(corpus):
    folder, _ = corpus
    settings = parse_settings(yaml.safe_load(wb.SETTINGS_YAML))
    return run_batch(folder, settings, settings_file=folder / "settings.yaml", workers=1)


def test_every_file_has_exactly_one_entry(corpus, batch):
    folder, _ = corpus
    listed = [f.file for f in batch.files]
    assert sorted(listed) == sorted(p.name for p in folder.iterdir())
    assert len(listed) == len(set(listed))


def test_each_file_gets_its_outcome(corpus, batch):
    _, expect = corpus
    got = {f.file: (f.status if f.status in (ACCEPTED, SUPERSEDED, SETTINGS) else f.reason_code) for f in batch.files}
    assert got == expect


def test_rejections_say_why_in_chinese(batch):
    for f in batch.files:
        if f.status == REJECTED:
            assert f.reason and any("\u4e00" <= ch <= "\u9fff" for ch in f.reason), f
            assert "Traceback" not in f.reason
    by_code = {f.reason_code: f.reason for f in batch.files}
    assert "另存为" in by_code["FILE_OLD_FORMAT"] and ".xlsx" in by_code["FILE_OLD_FORMAT"]
    assert "密码" in by_code["FILE_ENCRYPTED"]
    assert "2025" in by_code["HEADER_YEAR_OTHER"] and "2026" in by_code["HEADER_YEAR_OTHER"]
    assert "模板" in by_code["WRONG_TEMPLATE"]
    assert "QC_1_1" in by_code["NAMES_MISSING"] or "QC_2_4_c1" in by_code["NAMES_MISSING"]


def test_superseded_names_the_winner(batch):
    sup = {f.file: f for f in batch.files if f.status == SUPERSEDED}
    assert sup["湘潭市_旧.xlsx"].superseded_by == "湘潭市_新.xlsx"
    assert "填报日期较早" in sup["湘潭市_旧.xlsx"].reason
    assert sup["衡阳市_a.xlsx"].superseded_by == "衡阳市_b.xlsx"
    assert "修改时间" in sup["衡阳市_a.xlsx"].reason


def test_accepted_units_are_scored_from_their_inputs(batch):
    assert len(batch.units) == 5
    for u in batch.units:
        facts = u.sheet.data.facts
        # the batch's score is the engine's score with the batch's bands
        bands = {code: st.band for code, st in u.standings.items()}
        again = score_unit(batch.rubric, facts, u.sheet.data.veto_values, batch.settings.policy, bands)
        assert again.total == u.score.total
        assert u.entry.sha256 and len(u.entry.sha256) == 64


def test_renamed_sheet_reads_the_same_as_the_original(batch):
    u = {x.entry.file: x for x in batch.units}["改了表名_邵阳市.xlsx"]
    expected = interpret(batch.rubric, wb.unit_values(4))
    assert u.sheet.data.facts == expected.facts
    assert all(c.startswith("评分!") for n, c in u.sheet.cells.items() if n.startswith("QC_1_"))


def test_findings_carry_cells(batch):
    for u in batch.units:
        for f in u.findings:
            if f.code in ("VALUE_UNREADABLE", "CLAIM_ABOVE_SCORE", "EVIDENCE_MISSING"):
                assert "!" in f.cell, f


@pytest.mark.parametrize(
    ("name", "stem"),
    [("长沙市", "长沙市"), ("a/b\\c", "a_b_c"), ("..\\..\\etc", "_.._etc"), ("CON", "_CON"), ("x:y*?", "x_y__"),
     ("  点.  ", "点"), ("", "_")],
)
def test_safe_file_stem(name, stem):
    assert safe_file_stem(name) == stem


def test_unit_ids_unique_when_names_repeat(batch):
    from dataclasses import replace
    s = batch.units[0].sheet
    twins = [type(s)(replace(s.entry, unit="城区", parent=p), s.data, s.cells, s.overwritten, s.score, s.figures)
             for p in ("株洲市", "湘潭市", "株洲市")]
    ids = unit_ids(twins)
    assert len(set(ids)) == 3 and ids[0] == "株洲市_城区" and ids[1] == "湘潭市_城区"


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    from qc_batch.read import workbook as workbook_reader

    folder = tmp_path / "input"
    folder.mkdir()
    wb.write_filled(folder / "大文件.xlsx", wb.unit_values(0))
    monkeypatch.setattr(workbook_reader, "MAX_FILE_BYTES", 1000)
    settings = parse_settings(yaml.safe_load(wb.SETTINGS_YAML))
    (entry,) = run_batch(folder, settings, workers=1).files
    assert entry.status == REJECTED and entry.reason_code == "FILE_TOO_LARGE" and "MB" in entry.reason


@pytest.mark.parametrize("member", ["xl/worksheets/sheet3.xml", "xl/sharedStrings.xml", "xl/workbook.xml"])
def test_a_damaged_part_inside_the_zip_is_reported_as_corrupt(tmp_path, member):
    """Bytes flipped inside one compressed part (the zip's directory intact): 文件损坏, not an internal error."""
    import zipfile

    from qc_batch.batch.ingest import process_file

    path = wb.write_filled(tmp_path / "好.xlsx", wb.unit_values(0))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for k in range(start + info.compress_size // 3, start + info.compress_size // 3 + 64):
        data[k] ^= 0x5A
    bad = tmp_path / "坏.xlsx"
    bad.write_bytes(bytes(data))
    entry = process_file(str(bad), wb.YEAR, wb.POLICY)
    assert entry.status == REJECTED and entry.reason_code == "FILE_CORRUPT", entry
    assert "损坏" in entry.reason and "重新保存" in entry.reason
