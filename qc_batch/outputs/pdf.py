"""PDF copies of the Word documents, made by LibreOffice (``qc-batch run --pdf``).

One LibreOffice process converts the whole batch (``soffice --headless
--convert-to pdf --outdir DIR a.docx b.docx ...``), with its own user profile
in a temporary folder, so that it neither waits for nor disturbs a LibreOffice
the user has open. Without LibreOffice, or if it fails, the run goes on: the
outcome says in Chinese what was made and what was not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: where LibreOffice is when it is not on the PATH
PROGRAMS = (
    "/usr/bin/soffice", "/usr/lib/libreoffice/program/soffice", "/opt/libreoffice/program/soffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    "C:/Program Files/LibreOffice/program/soffice.exe", "C:/Program Files (x86)/LibreOffice/program/soffice.exe",
)
#: the longest command line to pass at once (Windows allows 32767 characters)
COMMAND_LIMIT = 30000 if sys.platform == "win32" else 1_000_000
SECONDS_BASE, SECONDS_PER_FILE = 120, 20
POLL = 0.5  # seconds between looks at the PDFs made so far (the progress bar)


@dataclass
class PdfOutcome:
    """What became of the conversion: the PDFs made, the documents that got none, and a message."""

    made: list[Path] = field(default_factory=list)
    failed: list[Path] = field(default_factory=list)
    message: str = ""


def find_soffice() -> str | None:
    """The LibreOffice program, or None."""
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in PROGRAMS if Path(p).is_file()), None)


def _batches(docs: list[Path], limit: int) -> list[list[Path]]:
    out: list[list[Path]] = [[]]
    length = 0
    for d in docs:
        n = len(str(d)) + 3
        if out[-1] and length + n > limit:
            out.append([])
            length = 0
        out[-1].append(d)
        length += n
    return out


def _run(cmd: list[str], out_dir: Path, timeout: float, tick: Callable[[int], None] | None) -> str:
    """Run LibreOffice; while it works, ``tick`` the PDFs that appear. Returns an error or ""."""
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError as exc:
        return f"无法启动 LibreOffice（{exc.strerror or exc}）"
    deadline = time.monotonic() + timeout
    seen = sum(1 for p in out_dir.iterdir() if p.suffix == ".pdf")
    while True:
        try:
            code: int | None = proc.wait(timeout=POLL)
        except subprocess.TimeoutExpired:
            code = None
        if tick is not None:
            made = sum(1 for p in out_dir.iterdir() if p.suffix == ".pdf")
            if made > seen:
                tick(made - seen)
                seen = made
        if code is not None:
            return f"LibreOffice 返回代码 {code}" if code else ""
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            return "LibreOffice 转换超时"


def convert_to_pdf(docs: list[Path], program: str | None = None,
                   progress: Callable[[int], Callable[[int], None] | None] | None = None) -> PdfOutcome:
    """``<name>.pdf`` beside each document of ``docs``, converted by one LibreOffice process.

    Documents may be in different folders; each PDF is moved beside its document.
    ``progress(total)`` may return a function that is told how many more PDFs are made."""
    program = program or find_soffice()
    if not docs:
        return PdfOutcome(message="没有需要转换为 PDF 的文档。")
    if program is None:
        return PdfOutcome(failed=list(docs), message="未找到 LibreOffice，未生成 PDF；其他结果已正常生成。"
                          "如需 PDF，请安装 LibreOffice（Writer）后加 --pdf 重新运行。")
    outcome = PdfOutcome()
    with tempfile.TemporaryDirectory(prefix="qc-batch-pdf-") as tmp:
        tmp_dir = Path(tmp)
        profile = (tmp_dir / "profile").resolve().as_uri()
        out_dir = tmp_dir / "pdf"
        out_dir.mkdir()
        # names must not collide in the one output folder: each document goes in as a numbered link or copy
        staged = tmp_dir / "in"
        staged.mkdir()
        inputs = []
        for k, doc in enumerate(docs):
            link = staged / f"{k:05d}{doc.suffix}"
            try:
                os.link(doc, link)
            except OSError:
                shutil.copyfile(doc, link)
            inputs.append(link)
        error = ""
        tick = progress(len(docs)) if progress else None
        for batch in _batches(inputs, COMMAND_LIMIT):
            cmd = [program, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nologo",
                   "--convert-to", "pdf", "--outdir", str(out_dir), *map(str, batch)]
            error = _run(cmd, out_dir, SECONDS_BASE + SECONDS_PER_FILE * len(batch), tick) or error
        for k, doc in enumerate(docs):
            made = out_dir / f"{k:05d}.pdf"
            if made.is_file() and made.stat().st_size > 0:
                target = doc.with_suffix(".pdf")
                shutil.move(str(made), target)
                outcome.made.append(target)
            else:
                outcome.failed.append(doc)
    if outcome.failed:
        names = "、".join(d.name for d in outcome.failed[:5]) + (" 等" if len(outcome.failed) > 5 else "")
        why = f"（{error}）" if error else ""
        outcome.message = (f"已生成 PDF {len(outcome.made)} 个；{len(outcome.failed)} 个文档未能转换为 PDF{why}："
                           f"{names}。其他结果已正常生成。")
    else:
        outcome.message = f"已用 LibreOffice 生成 PDF {len(outcome.made)} 个。"
    return outcome
