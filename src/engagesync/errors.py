"""The exit codes scripts rely on, and ``UserError``: a problem the user can fix, said in one line.

Any layer may raise a ``UserError`` (or a subclass); the CLI prints its message on one line and exits
with its ``exit_code``, never with a traceback (see ``cli/errors.py``).
"""

from __future__ import annotations

#: Exit codes, as documented in the README: done; done with rejects or failed streams; bad input or
#: usage; the credential was refused; the API could not be reached.
OK, PARTIAL, USAGE, AUTH, FAILED = 0, 1, 2, 3, 4


class UserError(Exception):
    """What is wrong and what to do, in one line, with the exit code the CLI ends with."""

    exit_code: int = USAGE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
