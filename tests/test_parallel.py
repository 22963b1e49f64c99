"""When the batch uses processes, in what chunks, and how results travel back (batch/parallel.py)."""

from __future__ import annotations

import copyreg
import io
import pickle
from fractions import Fraction

from qc_batch.batch import parallel
from qc_batch.rubric.model import load_rubric


def test_a_small_batch_or_one_worker_stays_in_this_process():
    assert parallel.workers_for(parallel.PARALLEL_FROM - 1, None) == 1
    assert parallel.workers_for(1000, 1) == 1
    assert parallel.workers_for(parallel.PARALLEL_FROM, 3) == 3
    assert parallel.workers_for(1000, None) >= 1


def test_chunks_are_about_eight_tasks_per_worker_within_bounds():
    assert parallel.chunksize(3000, 2, parallel.READ_CHUNK_MAX) == min(parallel.READ_CHUNK_MAX, 3000 // 16)
    assert parallel.chunksize(3000, 2, parallel.WRITE_CHUNK_MAX) == parallel.WRITE_CHUNK_MAX
    assert parallel.chunksize(20, 4, parallel.READ_CHUNK_MAX) == 1


def test_fractions_travel_between_processes_as_two_integers():
    parallel.compact_pickling()
    x = Fraction(2, 3)
    buf = io.BytesIO()
    parallel.ForkingPickler(buf).dump(x)
    compact = buf.getvalue()
    assert pickle.loads(compact) == x
    assert b"2/3" not in compact


def test_loading_the_rubric_changes_no_global_pickling():
    load_rubric()
    assert Fraction not in copyreg.dispatch_table


def test_rubric_objects_pickle_by_reference_and_leave_their_memo_behind():
    rubric = load_rubric()
    ind = rubric.indicators[0]
    ind.memo("test", lambda: object())
    assert pickle.loads(pickle.dumps(ind)) is ind
    assert "_memo" not in ind.__getstate__()
    assert rubric.memo("twice", lambda: [1]) is rubric.memo("twice", lambda: [2])
