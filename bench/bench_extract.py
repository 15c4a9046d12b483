"""trafilatura with and without ``extract.speedup`` (filters/extract/speedup.py) on the
same pages: CPU time per page and whether every page's text is identical.

Both variants run in this process, alternating, ``--rounds`` times each (median of the CPU
time of this process, so other processes disturb it less), with the stage's options
(``favor_precision=True``, ``include_comments=False``, ``deduplicate=False``).

    python bench/bench_extract.py                          # the cc-sample WARCs
    python bench/bench_extract.py --rounds 5 --pages 300 'path/*.warc.gz'
    python bench/bench_extract.py --against main          # also the speed-up as it is in main

``--against REV`` adds a third variant, alternating with the other two: the speed-ups of git
revision REV (its ``filters/extract/speedup.py``, loaded on its own: a REV whose speedup.py
imports other modules of the package is not supported), so a change to the speed-ups is
measured against the code before it in the same rounds.
"""
from __future__ import annotations

import argparse
import glob
import os
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time


DEFAULT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "cc-sample", "*.warc.gz")


def load_pages(pattern: str, limit: int | None) -> list[str]:
    from webrefine.pipeline.config import ReadConfig
    from webrefine.pipeline.stats.tally import Tally
    from webrefine.pipeline.io.warc import read_warc

    pages = []
    for path in sorted(glob.glob(pattern)):
        for doc in read_warc(lambda: open(path, "rb"), path, ReadConfig(), Tally()):
            if doc.html:
                pages.append(doc.html)
    return pages[:limit] if limit else pages


def speedup_at(rev: str):
    """``filters/extract/speedup.py`` of git revision ``rev``, as a module of its own."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source = subprocess.run(["git", "show", f"{rev}:filters/extract/speedup.py"], cwd=root, check=True,
                            capture_output=True, text=True).stdout
    path = os.path.join(tempfile.mkdtemp(), "speedup_at_rev.py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location("speedup_at_rev", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pattern", nargs="?", default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=None, help="first N pages only")
    parser.add_argument("--against", metavar="REV", help="also the speed-ups of this git revision")
    args = parser.parse_args()

    import trafilatura

    from webrefine.filters.extract import speedup as extract_speedup
    from webrefine.filters.extract import Extract

    pages = load_pages(args.pattern, args.pages)
    if not pages:
        sys.exit(f"no HTML pages in {args.pattern}")
    options = Extract().make_engine().options()
    variants = {"trafilatura": None, "trafilatura + speedup": extract_speedup}
    if args.against:
        variants[f"+ speedup of {args.against}"] = speedup_at(args.against)
    times: dict[str, list[float]] = {label: [] for label in variants}
    texts: dict[str, list[str | None]] = {}
    for _ in range(args.rounds):
        for label, module in variants.items():
            for other in variants.values():
                if other is not None:
                    other.uninstall()
            if module is not None:
                module.install()
            start = time.process_time()
            out = [trafilatura.extract(page, **options) for page in pages]
            times[label].append(time.process_time() - start)
            texts.setdefault(label, out)
    for module in variants.values():
        if module is not None:
            module.uninstall()
    plain, fast = texts["trafilatura"], texts["trafilatura + speedup"]
    same = sum(a == b for a, b in zip(plain, fast))
    print(f"{len(pages)} pages, median CPU time of {args.rounds} rounds, trafilatura {trafilatura.__version__}")
    base = statistics.median(times["trafilatura"])
    for label, ts in times.items():
        med = statistics.median(ts)
        print(f"  {label:24s} {med:7.2f} s  {med / len(pages) * 1000:6.2f} ms/page  {base / med:5.3f}x")
    # each round runs both back to back: the ratio within a round is steadier on a shared machine
    ratios = [a / b for a, b in zip(times["trafilatura"], times["trafilatura + speedup"])]
    print(f"  per-round ratios {' '.join(f'{r:.3f}' for r in ratios)}, median {statistics.median(ratios):.3f}x")
    if args.against:
        label = f"+ speedup of {args.against}"
        gains = [(a - b) / len(pages) * 1000 for a, b in zip(times[label], times["trafilatura + speedup"])]
        print(f"  against {args.against}, per round: {' '.join(f'{g:.2f}' for g in gains)} ms/page less, "
              f"median {statistics.median(gains):.2f} ms/page; identical text on "
              f"{sum(a == b for a, b in zip(texts[label], fast))}/{len(pages)} pages")
    print(f"  identical text on {same}/{len(pages)} pages ({sum(1 for t in plain if t)} non-empty)")
    if same != len(pages):
        sys.exit("the speed-up changed the output")


if __name__ == "__main__":
    main()
