"""``hfc info``: which backend is active, and why."""

from __future__ import annotations

import hfc_fast

HELP = "which backend is active, and why"
RUN_DIRECTORY = False


def add_arguments(options) -> None:
    pass


def run(exp, args) -> int:
    for key, value in hfc_fast.backend_info().items():
        print(f"{key}: {value}")
    return 0
