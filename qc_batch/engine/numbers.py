"""Exact numbers to floats, for the places that need a float (sorting keys, workbook cells).

``float(Fraction)`` raises OverflowError when the value is beyond the float range;
:func:`to_float` never raises: it saturates to the largest finite float of the sign
(a workbook cell cannot hold infinity), and values too small for a float become 0.0.
The readers already refuse magnitudes no input can have; this is the last line.
"""

from __future__ import annotations

import math
import sys
from decimal import Decimal
from fractions import Fraction
from numbers import Real

FLOAT_MAX = sys.float_info.max


def to_float(x: Fraction | Decimal | Real | None, default: float = 0.0) -> float:
    """``x`` as a finite float: saturated at ±:data:`FLOAT_MAX`, ``default`` for None or NaN."""
    if x is None:
        return default
    try:
        f = float(x)
    except OverflowError:
        return FLOAT_MAX if x > 0 else -FLOAT_MAX
    except (ValueError, TypeError, ZeroDivisionError):
        return default
    if math.isnan(f):
        return default
    if math.isinf(f):
        return math.copysign(FLOAT_MAX, f)
    return f


def sort_float(x: Fraction) -> float:
    """A float that orders like ``x`` (ties broken by ``x`` itself): infinities allowed."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf
