"""A progress bar on stderr: redrawn in place on a terminal, one line every few seconds otherwise."""
from __future__ import annotations

import sys
import time


def _fmt(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s"


class Bar:
    def __init__(self, total: float, label: str = "", width: int = 30):
        self.total = max(total, 1e-9)
        self.done = 0.0
        self.label = label
        self.width = width
        self.t0 = time.monotonic()
        self.tty = sys.stderr.isatty()
        self._last_line = 0.0
        self._draw(force=True)

    def advance(self, amount: float = 1.0, label: str = None) -> None:
        self.done = min(self.total, self.done + amount)
        if label is not None:
            self.label = label
        self._draw()

    def set_label(self, label: str) -> None:
        self.label = label
        self._draw(force=not self.tty)

    def log(self, message: str) -> None:
        """Print a message above the bar."""
        if self.tty:
            sys.stderr.write("\r\033[K")
        sys.stderr.write(message + "\n")
        self._draw(force=True)

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        frac = self.done / self.total
        elapsed = now - self.t0
        filled = int(frac * self.width)
        eta = f" eta {_fmt(elapsed / frac - elapsed)}" if 0.02 < frac < 1 else ""
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {frac * 100:5.1f}% "
                f"{_fmt(elapsed)}{eta}  {self.label}")
        if self.tty:
            sys.stderr.write("\r\033[K" + line[:200])
            sys.stderr.flush()
        elif force or now - self._last_line > 5:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()
            self._last_line = now

    def close(self) -> None:
        self.done = self.total
        self._draw(force=True)
        if self.tty:
            sys.stderr.write("\n")
