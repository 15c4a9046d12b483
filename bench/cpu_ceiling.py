"""The machine's own parallel ceiling: N processes running the same CPU-bound Python work.

    python bench/cpu_ceiling.py 1 4 8 16

Each process extracts the same pages with trafilatura in a loop (the pipeline's dominant
cost) for a fixed amount of work; the speed-up at N processes is what any pipeline could
reach on this machine (hyperthreads, shared caches and clock limits included).
"""
import glob
import multiprocessing as mp
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pages(n=40):
    from fastwarc.warc import ArchiveIterator, WarcRecordType
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "pipeline", "data", "*.warc.gz"))):
        for r in ArchiveIterator(open(path, "rb"), record_types=WarcRecordType.response):
            out.append(r.reader.read().decode("utf-8", "replace"))
    return out[:n]


def work(html_pages):
    import trafilatura
    start = time.perf_counter()
    for html in html_pages:
        trafilatura.extract(html, favor_precision=True, include_comments=False, deduplicate=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    html = pages()
    work(html[:3])
    base = None
    for n in map(int, sys.argv[1:] or ["1", "2"]):
        with mp.get_context("fork").Pool(n) as pool:
            start = time.perf_counter()
            pool.map(work, [html] * n)
            wall = time.perf_counter() - start
        rate = n * len(html) / wall
        base = base or rate / n
        print(f"{n:3d} processes: {rate:7.1f} pages/s, speed-up {rate / base:5.2f}, efficiency {rate / (n * base):.2f}",
              flush=True)
