"""Writing outputs atomically: a run that fails part-way leaves the previous output usable.

Everything a run writes goes first into a staging folder inside the output
folder; only when all of it is written is each top-level file or folder moved
into place (``os.replace`` for files; folders are swapped by two renames).
Files the run does not write (e.g. the mail send log) are left alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class Staging:
    """``with Staging(out) as st: st.path("results.json").write_text(...)``."""

    def __init__(self, out_dir: Path):
        self.out = Path(out_dir)
        self.dir: Path | None = None

    def __enter__(self) -> Staging:
        self.out.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.out))
        return self

    def path(self, rel: str) -> Path:
        assert self.dir is not None
        p = self.dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.dir is not None
        try:
            if exc_type is None:
                self._commit()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _commit(self) -> None:
        assert self.dir is not None
        for item in sorted(self.dir.iterdir()):
            target = self.out / item.name
            if item.is_dir():
                old = None
                if target.exists():
                    old = self.out / f".old-{item.name}-{os.getpid()}"
                    os.replace(target, old)
                os.replace(item, target)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(item, target)
