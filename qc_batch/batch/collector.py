"""How the batch uses Python's cyclic garbage collector.

Results arrive as millions of small objects that live to the end of the run;
each automatic collection would walk all of them again (it took over half the
main process's time). Nothing the batch makes relies on the collector: its
objects are freed by reference counting.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The collector paused; on the way out, the objects made meanwhile are moved out of its
    reach (``gc.freeze``), so that resuming does not walk them all either. A reference cycle
    among them would only be freed with the process."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


def in_worker() -> None:
    """For a worker process, forked from a parent whose collector is paused: collect again,
    leaving what was inherited out of every collection (and its memory pages shared), and
    less often (each task's objects die young, freed by reference counting)."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    gc.enable()
