"""trafilatura with and without ``extract.speedup`` (filters/extract/speedup.py) on the
same pages: CPU time per page and whether every page's text is identical.

Both variants run in this process, alternating, ``--rounds`` times each (median of the CPU
time of this process, so other processes disturb it less), with the stage's options
(``favor_precision=True``, ``include_comments=False``, ``deduplicate=False``).

    python bench/bench_extract.py                          # the cc-sample WARCs
    python bench/bench_extract.py --rounds 5 --pages 300 'path/*.warc.gz'
"""
from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pattern", nargs="?", default=DEFAULT)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=None, help="first N pages only")
    args = parser.parse_args()

    import trafilatura

    from webrefine.filters.extract import speedup as extract_speedup
    from webrefine.filters.extract import Extract

    pages = load_pages(args.pattern, args.pages)
    if not pages:
        sys.exit(f"no HTML pages in {args.pattern}")
    options = Extract().make_engine().options()
    times: dict[str, list[float]] = {"trafilatura": [], "trafilatura + speedup": []}
    texts: dict[str, list[str | None]] = {}
    for _ in range(args.rounds):
        for label in times:
            if "speedup" in label:
                extract_speedup.install()
            else:
                extract_speedup.uninstall()
            start = time.process_time()
            out = [trafilatura.extract(page, **options) for page in pages]
            times[label].append(time.process_time() - start)
            texts.setdefault(label, out)
    extract_speedup.uninstall()
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
    print(f"  identical text on {same}/{len(pages)} pages ({sum(1 for t in plain if t)} non-empty)")
    if same != len(pages):
        sys.exit("the speed-up changed the output")


if __name__ == "__main__":
    main()
