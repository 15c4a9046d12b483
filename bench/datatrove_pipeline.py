"""The peer: Hugging Face datatrove running the same stages as our refinedweb filters.

WarcReader → URLFilter → Trafilatura → LanguageFilter(en) → GopherRepetitionFilter →
GopherQualityFilter → ParquetWriter, 4 tasks (one per file) over WORKERS processes.
usage: HF_HOME=DIR/hf_home DIR/dtvenv/bin/python bench/datatrove_pipeline.py WORKERS DATA_DIR OUT_DIR
Prints one line: SECONDS <wall time of the executor>.
"""
import sys
import time


def main() -> None:
    workers, data, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (
        GopherQualityFilter, GopherRepetitionFilter, LanguageFilter, URLFilter,
    )
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import ParquetWriter

    steps = [
        WarcReader(data, glob_pattern="*.warc.gz"),
        URLFilter(),
        Trafilatura(favour_precision=True),
        LanguageFilter(languages=["en"]),
        GopherRepetitionFilter(),
        GopherQualityFilter(),
        ParquetWriter(f"{out}/output"),
    ]
    executor = LocalPipelineExecutor(pipeline=steps, tasks=4, workers=workers, logging_dir=f"{out}/logs")
    start = time.perf_counter()
    executor.run()
    print(f"SECONDS {time.perf_counter() - start:.3f}")


if __name__ == "__main__":  # datatrove starts workers with forkserver: keep the guard
    main()
