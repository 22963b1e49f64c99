"""What ``qc-batch run`` left in the output folder, as ``qc-batch mail`` reads it.

``results.json``, the settings file the run used, each unit's files, and the
hash of what a unit receives (so that a rerun with the same content does not
send again).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from qc_batch import paths
from qc_batch.mail.config import MailInputError, one_line

RESULTS = paths.RESULTS
# docProps/core.xml of a workbook or document holds the time it was saved; it changes on every run
ZIP_VOLATILE = frozenset({"docProps/core.xml"})
# the parts of a PDF that change on every conversion: creation and modification time, the file identifier,
# LibreOffice's checksum over them
_PDF_VOLATILE = re.compile(rb"/(?:CreationDate|ModDate)\s*\([^)]*\)|/ID\s*\[[^\]]*\]|/DocChecksum\s*/[0-9A-Fa-f]+|"
                           rb"<xmp:(?:CreateDate|ModifyDate|MetadataDate)>[^<]*</xmp:\w+>|"
                           rb"<xmpMM:(?:DocumentID|InstanceID)>[^<]*</xmpMM:\w+>")


def load_results(output_dir: str | Path) -> dict[str, Any]:
    path = Path(output_dir) / RESULTS
    if not path.is_file():
        raise MailInputError(f"找不到 {path}；请先运行 qc-batch run（或用 --output 指定结果文件夹）")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MailInputError(f"无法读取 {path}：{one_line(exc)}；请重新运行 qc-batch run") from None
    if not isinstance(data, dict) or data.get("schema") != "qc-batch/results" or not isinstance(data.get("units"), list):
        raise MailInputError(f"{path} 不是 qc-batch run 生成的结果文件；请重新运行 qc-batch run")
    return data


def recorded_settings(output_dir: str | Path, results: Mapping[str, Any] | None = None) -> Path:
    """The settings file the run used, as ``results.json`` records it (``settings.source``).

    A relative path is tried from the current folder (where the run was started,
    normally), then from the folder above the output folder.
    """
    out = Path(output_dir)
    data = results if results is not None else load_results(out)
    source = (data.get("settings") or {}).get("source") if isinstance(data.get("settings"), Mapping) else None
    if not isinstance(source, str) or not source.strip():
        raise MailInputError(f"{out / RESULTS} 中没有记录本次运行所用的设置文件；请用 --settings 指定")
    path = Path(source)
    candidates = [path] if path.is_absolute() else [path, out.resolve().parent / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise MailInputError(f"找不到 {out / RESULTS} 中记录的设置文件 {one_line(source)}（可能已移动）；"
                         "请用 --settings 指定本次 qc-batch run 所用的设置文件")


def safe_id(uid: str) -> bool:
    """A unit id that can be a file name (results.json could have been edited by hand)."""
    return bool(uid) and uid not in (".", "..") and not any(c in uid for c in '/\\:*?"<>|\0') and uid == uid.strip() \
        and not any(ord(c) < 32 for c in uid)


def zip_canonical(data: bytes) -> bytes:
    """What a workbook or document *says*: its members' contents without the save time.

    Two runs on the same input write files that differ only in
    ``docProps/core.xml`` and zip timestamps; hashing the raw bytes would
    re-send every unit after every run.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            parts = []
            for name in sorted(zf.namelist()):
                if name in ZIP_VOLATILE:
                    continue
                parts.append(name.encode() + b"\0" + hashlib.sha256(zf.read(name)).digest())
            return b"xlsx\0" + b"\n".join(parts)
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError):
        return data


def pdf_canonical(data: bytes) -> bytes:
    """A PDF without its conversion time and file identifier (see :func:`zip_canonical`)."""
    return _PDF_VOLATILE.sub(b"", data)


def report_sha256(md: bytes, images: Sequence[tuple[str, bytes]], xlsx: bytes, docx: bytes | None = None,
                  pdf: bytes | None = None) -> str:
    """Hash of what the unit receives: the report, its images, the audited workbook and the documents."""
    h = hashlib.sha256()

    def part(tag: str, data: bytes) -> None:
        h.update(f"{tag}\0{len(data)}\0".encode())
        h.update(data)

    part("report.md", md)
    for name, data in images:
        part(f"image:{name}", data)
    part("returned.xlsx", zip_canonical(xlsx))
    if docx is not None:
        part("report.docx", zip_canonical(docx))
    if pdf is not None:
        part("report.pdf", pdf_canonical(pdf))
    return h.hexdigest()
