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
from collections import Counter, deque
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


def file_done(directory: str, path: str) -> None:
    """A whole input file was read (and, fused with the reading, filtered)."""
    tick(directory, "files")
    if "://" not in path:
        try:
            tick(directory, "bytes", os.path.getsize(path))
        except OSError:
            pass


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


def _clock(seconds: float) -> str:
    mins, secs = divmod(int(seconds), 60)
    hours, mins = divmod(mins, 60)
    return f"{hours}:{mins:02d}:{secs:02d}" if hours else f"{mins}:{secs:02d}"


class ProgressPrinter:
    """A driver-side thread printing one status line per second while the pipeline runs:
    the phase, files and bytes done of the total, records read, a rate over the last
    RATE_WINDOW_S seconds (not the whole run, which sags) and an ETA from it."""

    RATE_WINDOW_S = 20.0

    def __init__(self, directory: str, stream: TextIO = sys.stderr, every_s: float = 1.0, files_total: int = 0,
                 bytes_total: int = 0, unit: str = "responses") -> None:
        self.directory, self.stream, self.every_s = directory, stream, every_s
        self.files_total, self.bytes_total, self.unit = files_total, bytes_total, unit
        self.start = time.monotonic()
        self._history: deque = deque()  # (time, records, bytes)
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

    def line(self, now: float | None = None, final: bool = False) -> str:
        totals = read_totals(self.directory)
        now = time.monotonic() if now is None else now
        elapsed = now - self.start
        records, files, done_bytes = totals.get("responses", 0), totals.get("files", 0), totals.get("bytes", 0)
        self._history.append((now, records, done_bytes))
        while len(self._history) > 2 and now - self._history[0][0] > self.RATE_WINDOW_S:
            self._history.popleft()
        t0, r0, b0 = self._history[0]
        span = now - t0
        rate = (records - r0) / span if span > 0 and not final else (records / elapsed if elapsed > 0 else 0.0)
        reading = not final and (not self.files_total or files < self.files_total)
        phase = "done" if final else "reading and filtering" if reading else "deduplicating and writing"
        parts = [f"[webrefine] {phase}"]
        if self.files_total:
            resumed = totals.get("resumed", 0)  # done by an interrupted run, not read again
            parts.append(f"{files:,}/{self.files_total:,} files" + (f" ({resumed:,} resumed)" if resumed else ""))
        if self.bytes_total:
            share = done_bytes / self.bytes_total
            parts.append(f"{done_bytes / 1e6:,.1f}/{self.bytes_total / 1e6:,.1f} MB ({share:.0%})")
            byte_rate = (done_bytes - b0) / span if span > 0 else 0.0
            if reading and byte_rate > 0:
                parts.append(f"ETA {_clock((self.bytes_total - done_bytes) / byte_rate)}")
        parts.append(f"{records:,} {self.unit} read · {rate:,.1f} {self.unit}/s")
        parts.append(f"{totals.get('documents', 0):,} documents out")
        parts.append(f"{_clock(elapsed)} elapsed")
        return " · ".join(parts)

    def _print(self, final: bool = False) -> None:
        end = "\n" if final or not self.tty else ""
        prefix = "\r\x1b[K" if self.tty else ""
        print(prefix + self.line(final=final), end=end, file=self.stream, flush=True)

    def _run(self) -> None:
        interval = self.every_s if self.tty else max(self.every_s, 10.0)
        while not self._stop.wait(interval):
            self._print()
