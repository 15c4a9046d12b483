"""The Parquet shard writer (pipeline/beam/shards.py): sizes, fixed counts, empty input, no
row lost or doubled, nothing temporary left, and no side input anywhere in a run's graph."""
from __future__ import annotations

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from webrefine.pipeline.beam.private_api import direct_runner
from webrefine.pipeline.beam.shards import TEMP_PREFIX, WriteParquetShards, finalize

SCHEMA = pa.schema([("id", pa.string()), ("text", pa.string())])


def _rows(n):
    return [{"id": f"{i:05d}", "text": f"row {i} " + "x" * (i % 97)} for i in range(n)]


def _write(tmp_path, rows, shard_mb=64, num_shards=0, options=()):
    with beam.Pipeline(runner=direct_runner(PipelineOptions(list(options)))) as p:
        _ = p | beam.Create(rows) | WriteParquetShards(str(tmp_path / "part"), SCHEMA, "zstd", shard_mb, num_shards)
    assert not list(tmp_path.glob(TEMP_PREFIX + "*")), "the temporary folder is left behind"
    shards = sorted(tmp_path.glob("part-*-of-*.parquet"))
    n = len(shards)
    assert [s.name for s in shards] == [f"part-{i:05d}-of-{n:05d}.parquet" for i in range(n)]
    return shards, sorted((r for s in shards for r in pq.read_table(s).to_pylist()), key=lambda r: r["id"])


def test_every_row_is_written_once(tmp_path):
    rows = _rows(2500)
    shards, got = _write(tmp_path, rows)
    assert got == rows and len(shards) == 1


def test_a_file_is_closed_once_it_reaches_the_size(tmp_path, monkeypatch):
    monkeypatch.setattr("webrefine.pipeline.beam.shards.ROWS_PER_GROUP", 100)
    rows = _rows(1000)
    shards, got = _write(tmp_path, rows, shard_mb=0)  # 0 MB: every row group closes its file
    assert got == rows and len(shards) == 10


def test_a_fixed_shard_count_is_honoured(tmp_path):
    rows = _rows(300)
    shards, got = _write(tmp_path, rows, num_shards=3)
    assert got == rows and len(shards) == 3 and all(pq.read_table(s).num_rows for s in shards)


def test_no_rows_give_one_empty_shard_with_the_schema(tmp_path):
    shards, got = _write(tmp_path, [])
    assert got == [] and len(shards) == 1 and pq.read_table(shards[0]).schema.equals(SCHEMA)


def test_many_workers_lose_nothing(tmp_path):
    rows = _rows(5000)
    _, got = _write(tmp_path, rows, options=["--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    assert got == rows


def test_a_finalize_run_again_keeps_the_shards(tmp_path):
    folder = tmp_path / (TEMP_PREFIX + "x")
    folder.mkdir()
    paths = []
    for i in range(2):
        path = folder / f"{i}.parquet"
        pq.write_table(pa.Table.from_pylist(_rows(3), schema=SCHEMA), path)
        paths.append(str(path))
    prefix = str(tmp_path / "part")
    assert finalize(paths, prefix, str(folder), SCHEMA, "zstd") == 2
    assert finalize(paths, prefix, str(folder), SCHEMA, "zstd") == 2  # retried: nothing changes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-00000-of-00002.parquet", "part-00001-of-00002.parquet"]
    assert all(pq.read_table(tmp_path / n).num_rows == 3 for n in ("part-00000-of-00002.parquet",
                                                                     "part-00001-of-00002.parquet"))


@pytest.mark.parametrize("preset", ["refinedweb", "dedup", "fineweb"])
def test_no_step_of_a_runs_graph_reads_a_side_input(tmp_path, preset):
    """Beam's multi-process local runner lost main-input elements of steps waiting for a side
    input (README, Deduplication at scale): a run's graph has none."""
    from webrefine.pipeline.beam.graph import RunPlan, build
    from webrefine.pipeline.config import load_config

    config = load_config(preset)
    plan = RunPlan(inputs=(str(tmp_path / "x.warc.gz"),), input_format="warc", output=str(tmp_path / "out"),
                   config=config, header={})
    p = beam.Pipeline(runner=direct_runner(PipelineOptions([])))
    build(p, plan)
    proto = p.to_runner_api()
    readers = [t.unique_name for t in proto.components.transforms.values()
               if t.spec.payload and _side_inputs(t)]
    assert readers == []


def _side_inputs(transform) -> bool:
    from apache_beam.portability import common_urns
    from apache_beam.portability.api import beam_runner_api_pb2

    if transform.spec.urn != common_urns.primitives.PAR_DO.urn:
        return False
    payload = beam_runner_api_pb2.ParDoPayload.FromString(transform.spec.payload)
    return bool(payload.side_inputs)
