"""Library errors a user can act on, and the command line's exit codes.

This module sits below both the library and the command line: the library raises
``UserError`` with an exit code, and only ``cli.py`` turns it into a Chinese line and an exit.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_SETTINGS = 3
EXIT_IO = 4
EXIT_MAIL = 5


class UserError(Exception):
    """Something the user can fix: one Chinese sentence and the exit code the command ends with."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message
