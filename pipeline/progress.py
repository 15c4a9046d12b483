"""Live progress for local runs: workers tick counters into small files, the driver sums them.

Works for every local mode (in-process, multi_processing workers, the portable runner's
loopback workers) because it needs only a shared directory, not the runner's metrics,
which some local runners report only at the end. Progress is approximate (a retried
bundle counts twice); stats.json is exact.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from typing import TextIO

_lock = threading.Lock()
_counts: Counter = Counter()
_last_flush = 0.0
FLUSH_EVERY_S = 1.0


def tick(directory: str, key: str, n: int = 1) -> None:
    global _last_flush
    _counts[key] += n
    now = time.monotonic()
    if now - _last_flush >= FLUSH_EVERY_S:
        _last_flush = now
        flush(directory)


def flush(directory: str) -> None:
    with _lock:
        data = json.dumps(dict(_counts))
    path = os.path.join(directory, f"{os.getpid()}.json")
    try:
        with open(path + ".tmp", "w") as fh:
            fh.write(data)
        os.replace(path + ".tmp", path)
    except OSError:
        pass  # progress is best effort


def read_totals(directory: str) -> Counter:
    total: Counter = Counter()
    try:
        names = os.listdir(directory)
    except OSError:
        return total
    for name in names:
        if name.endswith(".json"):
            try:
                with open(os.path.join(directory, name)) as fh:
                    total.update(json.load(fh))
            except (OSError, ValueError):
                continue
    return total


class ProgressPrinter:
    """A driver-side thread printing one status line per second while the pipeline runs."""

    def __init__(self, directory: str, stream: TextIO = sys.stderr, every_s: float = 1.0) -> None:
        self.directory, self.stream, self.every_s = directory, stream, every_s
        self.start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.tty = stream.isatty()

    def __enter__(self) -> "ProgressPrinter":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._print(final=True)

    def line(self) -> str:
        totals = read_totals(self.directory)
        elapsed = time.monotonic() - self.start
        read = totals.get("responses", 0)
        rate = read / elapsed if elapsed > 0 else 0.0
        mins, secs = divmod(int(elapsed), 60)
        return (f"[webrefine] {read:,} responses read · {totals.get('documents', 0):,} documents out"
                f" · {rate:,.1f} responses/s · {mins}:{secs:02d} elapsed")

    def _print(self, final: bool = False) -> None:
        end = "\n" if final or not self.tty else ""
        prefix = "\r" if self.tty else ""
        print(prefix + self.line(), end=end, file=self.stream, flush=True)

    def _run(self) -> None:
        interval = self.every_s if self.tty else max(self.every_s, 10.0)
        while not self._stop.wait(interval):
            self._print()
