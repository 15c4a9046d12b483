"""Every use of Beam's private API, in one place; tests/pipeline/beam/test_private_api.py pins
the behaviour relied on, so a Beam upgrade that changes it fails there, loudly.

- ``parquetio._ParquetSink``: the public ``WriteToParquet`` cannot close a shard at a size;
  its sink can (``max_bytes_per_shard`` of Beam's file sink, given the bytes written so far
  through ``byte_counter``), so documents/ shards are about ``output.shard_mb`` each.
- ``parquetio._RowDictionariesToArrowTable``: rows → Arrow tables of a bounded size, the
  step ``WriteToParquet`` itself puts before its sink.
- ``fn_runner.FnApiRunner``: the engine behind the DirectRunner for batch jobs, started
  directly (``direct_runner``).
- ``RunnerResult.monitoring_infos()`` and the ``ptransform_execution_time:total_msecs`` system
  metric: the seconds the runner's state sampler attributes to each step (``step_seconds``);
  the FnApiRunner reports them, other runners' results may not.
"""
from __future__ import annotations

import inspect

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io import parquetio
from apache_beam.io.filesystems import FileSystems


class _CountingFile:
    """A write-only file that counts bytes, so the sink can close a shard at a size."""

    def __init__(self, raw: Any) -> None:
        self.raw, self.bytes_written = raw, 0

    def write(self, data: bytes) -> int:
        self.bytes_written += len(data)
        self.raw.write(data)
        return len(data)

    def tell(self) -> int:
        return self.bytes_written

    def flush(self) -> None:
        self.raw.flush()

    def close(self) -> None:
        self.raw.close()

    @property
    def closed(self) -> bool:
        return self.raw.closed

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


# Beam 2.63 added this argument (streaming writes); the Flink path runs Beam 2.62 (README "Flink").
_SINK_EXTRA = ({"triggering_frequency": None}
               if "triggering_frequency" in inspect.signature(parquetio._ParquetSink.__init__).parameters else {})


class _SizedParquetSink(parquetio._ParquetSink):  # the public WriteToParquet cannot size shards
    def open(self, temp_path: str) -> Any:
        self.byte_counter = self._file_handle = _CountingFile(
            FileSystems.create(temp_path, self.mime_type, self.compression_type))
        return pq.ParquetWriter(self._file_handle, self._schema, compression=self._codec)


def sized_parquet_sink(prefix: str, schema: pa.Schema, codec: str, num_shards: int, max_bytes: int):
    """A Parquet file sink writing ``<prefix>-SSSSS-of-NNNNN.parquet`` that starts a new shard
    once ``max_bytes`` were written to the current one (``num_shards`` 0: as many as needed)."""
    sink = _SizedParquetSink(
        file_path_prefix=prefix, schema=schema, codec=codec,
        use_deprecated_int96_timestamps=False, use_compliant_nested_type=False,
        file_name_suffix=".parquet", num_shards=num_shards,
        shard_name_template="-SSSSS-of-NNNNN", mime_type="application/x-parquet",
        **_SINK_EXTRA,
    )
    sink.max_bytes_per_shard = max_bytes
    return sink


def rows_to_arrow_tables(schema: pa.Schema, row_group_bytes: int):
    """A DoFn: row dicts → Arrow tables of about ``row_group_bytes`` (at most 1000 rows)."""
    return parquetio._RowDictionariesToArrowTable(schema, row_group_bytes, 1000)


def direct_runner(options):
    """The engine behind Beam's DirectRunner for a batch job, without the detour before it.

    Since Beam 2.6x the DirectRunner first tries Prism: it downloads a Go binary from GitHub
    on first use and runs the job there. Offline that fails after a DNS lookup, costs time
    and leaves a /tmp/beam-temp* directory per run; online it puts the job on an
    engine this project does not test. Either way it then falls back to the FnApiRunner,
    which we start directly, as the DirectRunner does (with the options as provision info).
    ``--runner PrismRunner`` still selects Prism on purpose.
    """
    from apache_beam.portability.api import beam_provision_api_pb2
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.runners.portability.portable_runner import JobServiceHandle

    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    info = beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)
    return fn_runner.FnApiRunner(provision_info=fn_runner.ExtendedProvisionInfo(info))


EXECUTION_MSECS = "beam:metric:ptransform_execution_time:total_msecs:v1"


def step_seconds(result) -> dict[str, float]:
    """Seconds per step label (``Stages/Dedup[exact_dedup]/...``) as the runner sampled them,
    summed over workers; empty when the runner's result does not report them."""
    from apache_beam.metrics import monitoring_infos

    try:
        infos = list(result.monitoring_infos())
    except Exception:  # noqa: BLE001 - not reported by this runner
        return {}
    out: dict[str, float] = {}
    for info in infos:
        if info.urn == EXECUTION_MSECS and "PTRANSFORM" in info.labels:
            label = info.labels["PTRANSFORM"]
            out[label] = out.get(label, 0.0) + monitoring_infos.extract_counter_value(info) / 1000
    return out
