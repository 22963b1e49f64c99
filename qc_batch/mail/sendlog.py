"""The send log ``mail_log.jsonl`` and the lock that lets one ``--send`` at a time use a folder.

Every attempt is appended as one JSON object a line, flushed and fsync'ed
before the next message goes; a torn last line (a crash mid-write) is ignored
when read and repaired when the log is next opened.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from qc_batch.mail.config import MailBusyError

LOG_NAME = "mail_log.jsonl"
LOCK_NAME = ".mail.lock"


def read_log(path: str | Path) -> list[dict[str, Any]]:
    """The records of ``mail_log.jsonl``; a torn last line (crash mid-write) is ignored."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_bytes().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("unit_id"):
            records.append(rec)
    return records


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold a lock file so that two ``--send`` runs on one folder cannot both send."""
    fh = open(path, "a+b")  # noqa: SIM115 - held for the duration of the context
    try:
        try:
            if os.name == "nt":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise MailBusyError(f"另一个 qc-batch mail --send 正在使用 {path.parent}；请等它结束后再运行") from None
        yield
    finally:
        fh.close()


class SendLog:
    """Append-only JSON lines; each record is on disk before the next message goes."""

    def __init__(self, path: Path):
        self.path = path
        self.fh = None

    def __enter__(self) -> SendLog:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        self.fh = open(self.path, "ab")  # closed in __exit__
        if not new and self.path.stat().st_size:
            with open(self.path, "rb") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":  # a torn last line: start ours on a fresh one
                    self._write(b"\n")
        if new and os.name != "nt":
            with contextlib.suppress(OSError):
                fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        return self

    def _write(self, data: bytes) -> None:
        assert self.fh is not None
        self.fh.write(data)
        self.fh.flush()
        os.fsync(self.fh.fileno())

    def append(self, record: Mapping[str, Any]) -> None:
        self._write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")

    def __exit__(self, *exc) -> None:
        if self.fh is not None:
            self.fh.close()
