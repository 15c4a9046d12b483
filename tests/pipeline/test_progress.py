"""The live progress line: totals, a recent rate (not the whole run's), an ETA, the phase."""
import io
import json

from webrefine.pipeline.progress import ProgressPrinter


def worker_counts(directory, **counts):
    (directory / "123.json").write_text(json.dumps(counts))


def test_progress_shows_totals_recent_rate_eta_and_phase(tmp_path):
    printer = ProgressPrinter(str(tmp_path), stream=io.StringIO(), files_total=4, bytes_total=400_000_000,
                              unit="rows")
    t0 = printer.start
    worker_counts(tmp_path, responses=100, files=0, bytes=0)
    printer.line(now=t0 + 100)  # a slow start: 1 row/s over the first 100 s
    worker_counts(tmp_path, responses=1100, files=1, bytes=100_000_000)
    line = printer.line(now=t0 + 110)
    assert "reading and filtering" in line and "1/4 files" in line and "100.0/400.0 MB (25%)" in line
    assert "1,100 rows read · 100.0 rows/s" in line  # the last 10 s, not 1100 / 110
    assert "ETA 0:30" in line  # 300 MB left at 10 MB/s
    assert "responses" not in line
    worker_counts(tmp_path, responses=4000, files=4, bytes=400_000_000, documents=0)
    line = printer.line(now=t0 + 140)
    assert "deduplicating and writing" in line and "4/4 files" in line and "ETA" not in line


def test_progress_without_known_totals_still_reports_records(tmp_path):
    printer = ProgressPrinter(str(tmp_path), stream=io.StringIO())
    worker_counts(tmp_path, responses=50, documents=7)
    line = printer.line(now=printer.start + 10)
    assert "50 responses read" in line and "7 documents out" in line and "files" not in line


def test_the_last_line_says_done_with_the_whole_run_rate(tmp_path):
    printer = ProgressPrinter(str(tmp_path), stream=io.StringIO(), files_total=1)
    worker_counts(tmp_path, responses=60, files=1, documents=25)
    line = printer.line(now=printer.start + 10, final=True)
    assert line.startswith("[webrefine] done") and "6.0 responses/s" in line and "25 documents out" in line


def test_files_resumed_from_an_interrupted_run_are_shown(tmp_path):
    printer = ProgressPrinter(str(tmp_path), stream=io.StringIO(), files_total=8)
    worker_counts(tmp_path, responses=60, files=5, resumed=3)
    assert "5/8 files (3 resumed)" in printer.line(now=printer.start + 5)
