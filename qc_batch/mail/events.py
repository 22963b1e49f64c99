"""What the mail library reports while it works: a level and one Chinese line.

The library never prints. The command line decides where each level goes
(``info`` to standard output unless quiet; ``warning`` and ``error`` to standard
error, always).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qc_batch.mail.config import no_controls

INFO = "info"
WARNING = "warning"
ERROR = "error"


@dataclass(frozen=True)
class Event:
    level: str  # INFO, WARNING or ERROR
    text: str  # Chinese, one line (control characters replaced by spaces); says itself if it is a warning

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", no_controls(self.text))


Listener = Callable[[Event], Any]


def ignore(_event: Event) -> None:
    """A listener that drops every event."""
