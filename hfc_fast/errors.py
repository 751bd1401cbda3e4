"""The one kind of error that means "bad input": a refusal its caller can act on.

:class:`InputError` is a :class:`ValueError` (code that catches ``ValueError``
keeps working), raised by the library's and the commands' own checks, and its
message names the argument or file and what was expected. The ``hfc`` command
prints such an error in one line and exits 2; any other exception is a bug,
reported as one and shown in full with ``--debug``.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input, named: an argument, a setting, a file or data the caller can fix."""


class NonFiniteError(InputError):
    """A value that must be finite (a loss, a weight, a logit, a pixel) is NaN or infinite."""


def existing(path, what: str, kind: str = "file", hint: str = ""):
    """``path`` as a :class:`~pathlib.Path` when it is an existing ``kind`` (``"file"``: a regular file,
    ``"folder"``, or ``"any"``), else a one-line error that names ``what`` and says which it is not
    (missing, a folder where a file was expected, a device such as /dev/null, ...); ``hint`` is added."""
    from pathlib import Path

    p = Path(path)
    tail = f"; {hint}" if hint else ""
    if not p.exists():
        raise FileNotFoundError(f"{what} {p} does not exist{tail}")
    if kind == "folder" and not p.is_dir():
        raise NotADirectoryError(f"{what} {p} is not a folder{tail}")
    if kind == "file" and not p.is_file():
        raise InputError(f"{what} {p} is {'a folder' if p.is_dir() else 'not a regular file'}: expected a file{tail}")
    return p
