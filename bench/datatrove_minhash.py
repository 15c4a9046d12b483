"""The peer for dedup: datatrove's MinHash dedup (signature, buckets, cluster, filter; 14 × 8).

usage: DIR/dtvenv/bin/python bench/datatrove_minhash.py WORKERS INPUT_DIR OUT_DIR
INPUT_DIR holds Parquet files with `id` and `text` (e.g. bench/synth_corpus.py's corpus, split into
several files: datatrove runs one task per file). Runs the four steps one after the other with
LocalPipelineExecutor (tasks = files for the signature and filter steps, one per bucket for the
buckets step) and prints: SECONDS <wall time of the four steps> KEPT <documents written>.
"""
import glob
import os
import sys
import time


def main() -> None:
    workers, data, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter
    from datatrove.utils.hashing import HashConfig

    files = len(glob.glob(os.path.join(data, "*.parquet")))
    config = MinhashConfig(num_buckets=14, hashes_per_bucket=8, hash_config=HashConfig(precision=64))
    read = lambda: ParquetReader(data, glob_pattern="*.parquet", text_key="text", id_key="id")  # noqa: E731
    steps = [
        LocalPipelineExecutor(pipeline=[read(), MinhashDedupSignature(f"{out}/sigs", config=config)],
                              tasks=files, workers=workers, logging_dir=f"{out}/logs/sigs"),
        LocalPipelineExecutor(pipeline=[MinhashDedupBuckets(f"{out}/sigs", f"{out}/buckets", config=config)],
                              tasks=config.num_buckets, workers=workers, logging_dir=f"{out}/logs/buckets"),
        LocalPipelineExecutor(pipeline=[MinhashDedupCluster(f"{out}/buckets", f"{out}/remove_ids", config=config)],
                              tasks=1, workers=1, logging_dir=f"{out}/logs/cluster"),
        LocalPipelineExecutor(pipeline=[read(), MinhashDedupFilter(f"{out}/remove_ids"), ParquetWriter(f"{out}/output")],
                              tasks=files, workers=workers, logging_dir=f"{out}/logs/filter"),
    ]
    start = time.perf_counter()
    for step in steps:
        step.run()
    secs = time.perf_counter() - start
    import pyarrow.parquet as pq
    kept = sum(pq.read_metadata(f).num_rows for f in glob.glob(f"{out}/output/*.parquet"))
    print(f"SECONDS {secs:.3f} KEPT {kept}")


if __name__ == "__main__":  # datatrove starts workers with forkserver: keep the guard
    main()
