"""The private Beam API webrefine relies on (pipeline/beam/private_api.py), pinned: a Beam
upgrade that changes any of it fails here rather than somewhere in a run."""
import time

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io import iobase
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import GlobalWindow

from webrefine.pipeline.beam.private_api import direct_runner, rows_to_arrow_tables, sized_parquet_sink, step_seconds

SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string())])


def _rows(n):
    return [{"id": f"{i:05d}", "text": f"row {i} " + "x" * (i % 97)} for i in range(n)]


def test_sized_sink_closes_shards_at_the_size_and_keeps_every_row(tmp_path):
    rows = _rows(3000)
    with beam.Pipeline(runner=direct_runner(PipelineOptions([]))) as p:
        (p | beam.Create(rows)
           | beam.ParDo(rows_to_arrow_tables(SCHEMA, 8 * 1024))
           | iobase.Write(sized_parquet_sink(str(tmp_path / "part"), SCHEMA, "zstd", 0, max_bytes=1)))
    shards = sorted(tmp_path.glob("part-*-of-*.parquet"))
    # Tables of 1000 rows; with a 1-byte limit every table closes its shard.
    assert len(shards) == 3, "max_bytes_per_shard no longer closes shards"
    total = shards[0].name.rsplit("-of-", 1)[1].split(".")[0]
    assert all(s.name.endswith(f"-of-{total}.parquet") for s in shards) and int(total) == len(shards)
    got = sorted((r for s in shards for r in pq.read_table(s).to_pylist()), key=lambda r: r["id"])
    assert got == rows


def test_fixed_shard_count_is_honoured(tmp_path):
    with beam.Pipeline(runner=direct_runner(PipelineOptions([]))) as p:
        (p | beam.Create(_rows(50))
           | beam.ParDo(rows_to_arrow_tables(SCHEMA, 1 << 20))
           | iobase.Write(sized_parquet_sink(str(tmp_path / "part"), SCHEMA, "zstd", 1, max_bytes=1 << 30)))
    assert [s.name for s in tmp_path.glob("part-*")] == ["part-00000-of-00001.parquet"]


def test_rows_become_arrow_tables_with_the_schema():
    fn = rows_to_arrow_tables(SCHEMA, 1 << 20)
    fn.start_bundle()
    out = [t for row in _rows(3) for t in fn.process(row, GlobalWindow())] + list(fn.finish_bundle())
    tables = [getattr(t, "value", t) for t in out]
    assert len(tables) == 1 and isinstance(tables[0], pa.Table) and tables[0].schema.equals(SCHEMA)
    assert tables[0].to_pylist() == _rows(3)


def test_direct_runner_runs_a_batch_job_with_the_options():
    runner = direct_runner(PipelineOptions(["--direct_num_workers=1"]))
    assert type(runner).__name__ == "FnApiRunner"
    with beam.Pipeline(runner=runner, options=PipelineOptions([])) as p:
        assert_that(p | beam.Create([1, 2, 3]) | beam.Map(lambda x: x * 2), equal_to([2, 4, 6]))


def test_the_direct_runner_reports_each_steps_time():
    def busy(x):
        deadline = time.process_time() + 0.05
        while time.process_time() < deadline:
            pass
        return x

    p = beam.Pipeline(runner=direct_runner(PipelineOptions([])))
    _ = p | beam.Create(range(10)) | "Stage" >> (beam.Map(busy) | "Idle" >> beam.Map(lambda x: x))
    result = p.run()
    result.wait_until_finish()
    seconds = step_seconds(result)
    assert seconds["Stage/Map(busy)"] >= 0.2, seconds  # 10 × 50 ms, sampled
    assert seconds["Stage/Idle"] < seconds["Stage/Map(busy)"]
