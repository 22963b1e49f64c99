"""Text as a terminal or a monospaced mail client lays it out: CJK characters take two columns.

Used for the command line's help (``cli.py``) and the aligned tables of a mail's plain-text body
(``mail/render.py``).
"""

from __future__ import annotations

import re
import unicodedata

# closing punctuation stays at the end of its line (line-breaking rule for Chinese)
NO_LINE_START = frozenset("。，、；：？！）》」』”’")
_TOKENS = re.compile(r"[\x21-\x7e]+ ?| |.")


def width(text: str) -> int:
    """Columns ``text`` takes: wide (CJK) characters two, combining marks none, the rest one."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 0 if unicodedata.combining(c) else 1
               for c in text)


def pad(text: str, cols: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``cols`` columns (on the left when ``right``)."""
    fill = " " * max(0, cols - width(text))
    return fill + text if right else text + fill


def wrap(text: str, cols: int) -> list[str]:
    """``text`` in lines of at most ``cols`` columns, breaking between CJK characters or at spaces,
    never before closing punctuation."""
    lines, line = [], ""
    for tok in _TOKENS.findall(" ".join(text.split())):
        if line and width(line + tok.rstrip()) > cols and tok not in NO_LINE_START:
            lines.append(line.rstrip())
            line = tok.lstrip()
        else:
            line += tok
    return [*lines, line.rstrip()] if line.strip() else lines or [""]
