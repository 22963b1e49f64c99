"""Build filled workbooks and broken files for the ingest tests (no hand-made binaries)."""

from __future__ import annotations

import functools
import io
import re
import zipfile
from pathlib import Path
from typing import Any

from qc_batch.engine.scoring import Policy
from qc_batch.read.sheet_data import cached_results, interpret
from qc_batch.rubric.model import load_rubric
from qc_batch.sample import REFERENCES, sample_units
from qc_batch.sheet.writer import Fill, write_score_sheet

RUBRIC = load_rubric()
POLICY = Policy(refs=dict(REFERENCES))
YEAR = 2026
SETTINGS_YAML = """\
year: 2026
references:
  export_notification_ratio_national: 31/10000
  special_equipment_death_rate_national: 13/100
"""


@functools.cache
def _units() -> tuple[dict[str, Any], ...]:
    return tuple(sample_units(RUBRIC, YEAR, 7, POLICY))


def unit_values(k: int = 0, **changes: Any) -> dict[str, Any]:
    """The k-th sample unit's named-cell values, with ``changes`` applied."""
    values = dict(_units()[k])
    values.update(changes)
    return values


def write_filled(path: Path, values: dict[str, Any]) -> Path:
    data = interpret(RUBRIC, values)
    write_score_sheet(path, RUBRIC, policy=POLICY, fill=Fill(values, cached_results(RUBRIC, data, POLICY)))
    return path


def rewrite_member(src: Path, dst: Path, member: str, change) -> Path:
    """Copy an xlsx, passing one member's bytes through ``change``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == member:
                data = change(data)
            zout.writestr(info, data)
    return dst


def drop_defined_names(src: Path, dst: Path, names: list[str]) -> Path:
    def change(xml: bytes) -> bytes:
        for n in names:
            xml = re.sub(rb'<definedName name="' + n.encode() + rb'"[^>]*>[^<]*</definedName>', b"", xml)
        return xml
    return rewrite_member(src, dst, "xl/workbook.xml", change)


def break_sheet_refs(src: Path, dst: Path, sheet: str) -> Path:
    """What Excel leaves after a sheet is deleted: names referring to #REF!."""
    def change(xml: bytes) -> bytes:
        return re.sub(rb"'?" + sheet.encode() + rb"'?!\$[A-Z]+\$\d+", b"#REF!", xml)
    return rewrite_member(src, dst, "xl/workbook.xml", change)


def rename_sheet(src: Path, dst: Path, old: str, new: str) -> Path:
    """What Excel does on renaming a sheet: the sheet and every name referring to it change."""
    def change(xml: bytes) -> bytes:
        return xml.replace(old.encode(), new.encode())
    return rewrite_member(src, dst, "xl/workbook.xml", change)


def replace_string(src: Path, dst: Path, old: str, new: str) -> Path:
    """Change a text cell's value, as an edit in Excel would."""
    return rewrite_member(src, dst, "xl/sharedStrings.xml", lambda xml: xml.replace(old.encode(), new.encode()))


def with_dtd_bomb(src: Path, dst: Path) -> Path:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>')

    def change(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[1]
        return bomb + body.replace(b"<sheets>", b"<sheets>&lol2;", 1)
    return rewrite_member(src, dst, "xl/workbook.xml", change)


def zip_bomb(dst: Path, size_mb: int = 200) -> Path:
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            block = b"\0" * (1 << 20)
            for _ in range(size_mb):
                fh.write(block)
    return dst


def docx_like(dst: Path) -> Path:
    with zipfile.ZipFile(dst, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<document/>")
    return dst


def ole_file(dst: Path, *, encrypted: bool = False) -> Path:
    """An OLE compound file: a .xls or .et (stream Workbook), or an encrypted .xlsx (streams
    EncryptionInfo and EncryptedPackage); only the header and the directory's stream names."""
    streams = ("EncryptionInfo", "EncryptedPackage") if encrypted else ("Workbook",)
    directory = b"".join(name.encode("utf-16-le").ljust(128, b"\0") for name in streams)
    dst.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + directory + b"\0" * 4096)
    return dst


def truncated(src: Path, dst: Path, keep: float = 0.6) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()
