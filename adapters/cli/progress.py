"""Progress of long commands, on stderr."""

from __future__ import annotations

import sys


class ProgressBar:
    """A one-line progress bar on stderr: rebuilds of millions take minutes."""

    WIDTH = 30

    def __init__(self, label: str) -> None:
        self._label = label

    def update(self, reached: int, target: int) -> None:
        fraction = reached / target if target else 1.0
        filled = int(self.WIDTH * fraction)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        # The line ends with the last section, so what follows starts afresh.
        end = "\n" if reached >= target else ""
        print(
            f"\r{self._label:<20} [{bar}] {reached}/{target}", end=end, file=sys.stderr, flush=True
        )
