"""How the batch uses worker processes, defined once for reading (``batch.run``) and
writing (``outputs.publish``): when it is worth it, how work is cut into chunks, how
results travel back, and what must hold in the parent before workers fork.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from fractions import Fraction
from multiprocessing.reduction import ForkingPickler
from typing import IO

#: fewer files than this are read (and fewer units written) in this process
PARALLEL_FROM = 12
#: most files a reading worker takes at once (one workbook is small)
READ_CHUNK_MAX = 32
#: most units a writing worker takes at once (three files each)
WRITE_CHUNK_MAX = 16


def workers_for(count: int, workers: int | None) -> int:
    """How many processes to use for ``count`` items: 1 (this process) for a small batch or when
    the user asked for one, otherwise ``workers`` or one per CPU."""
    if workers == 1 or count < PARALLEL_FROM:
        return 1
    return workers or os.cpu_count() or 1


def chunksize(count: int, workers: int, most: int) -> int:
    """Items per task: about eight tasks per worker, at least one item and at most ``most``."""
    return max(1, min(most, count // (workers * 8)))


def _fraction(f: Fraction) -> tuple:
    return Fraction, (f.numerator, f.denominator)


def compact_pickling() -> None:
    """Fractions travel between the batch's processes by the thousand: send them as two
    integers rather than as text to parse again (Python 3.10 pickles a Fraction as text; 3.11
    and later as the two integers already). Registered on the pickler of ``multiprocessing``
    only, so ``pickle`` elsewhere is unchanged; call it in any process that sends results (it
    is called on import, and in each reading worker)."""
    ForkingPickler.register(Fraction, _fraction)


compact_pickling()


def progress_bar(total: int, desc: str, unit: str, file: IO[str]) -> Callable[[int], object]:
    """A tqdm progress bar that output workers can safely fork beside, as its ``update``.

    tqdm's monitor thread is turned off: a thread does not survive ``fork``, and one holding a
    lock at that moment would leave the forked workers stuck."""
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    return tqdm(total=total, desc=desc, unit=unit, file=file, leave=False).update
