"""The private Beam API webrefine relies on (pipeline/beam/private_api.py), pinned: a Beam
upgrade that changes any of it fails here rather than somewhere in a run."""
import inspect
import threading
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from webrefine.pipeline.beam.private_api import (STATE_SAMPLING_MS, direct_runner, no_timed_flush,
                                                 step_seconds)


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


def test_beams_timed_flush_loses_a_write_made_during_a_flush():
    """Why no_timed_flush exists: the stream's timer thread takes the buffer, hands it over,
    then clears it; what the writer added meanwhile is cleared unsent. When a Beam upgrade
    fixes this, this test fails and no_timed_flush can go."""
    from apache_beam.runners.worker.data_plane import ClosableOutputStream

    sent, flushing, written = [], threading.Event(), threading.Event()

    def slow_hand_over(data):  # a full send queue
        if data:
            flushing.set()
            written.wait(5)
        sent.append(data)

    out = ClosableOutputStream.create(sent.append, slow_hand_over, 20)  # a 20 ms timer
    out.write(b"a" * 1000)
    assert flushing.wait(5)
    out.write(b"b" * 1000)  # lands while the timer's flush hands "a" over
    written.set()
    time.sleep(0.1)
    out.close()
    assert b"".join(sent) == b"a" * 1000  # "b" is gone


def test_the_runner_flushes_by_size_only_once_no_timed_flush_ran():
    from apache_beam.runners.portability.fn_api_runner import worker_handlers
    from apache_beam.runners.worker.data_plane import ClosableOutputStream, TimeBasedBufferingClosableOutputStream

    direct_runner(PipelineOptions([]))  # calls no_timed_flush
    no_timed_flush()
    assert worker_handlers.DATA_BUFFER_TIME_LIMIT_MS == 0
    # The runner's data servicer reads the module's value when the server starts.
    assert "BeamFnDataServicer(\n        DATA_BUFFER_TIME_LIMIT_MS)" in inspect.getsource(worker_handlers.GrpcServer)
    out = ClosableOutputStream.create(None, None, worker_handlers.DATA_BUFFER_TIME_LIMIT_MS)
    assert not isinstance(out, TimeBasedBufferingClosableOutputStream)


def test_the_local_runners_bundles_sample_their_state_every_20_ms():
    """short_state_sampling relies on BundleProcessor making its sampler with the default period,
    and on the sampler waking at most that often (so ending a bundle waits at most that long)."""
    from apache_beam.runners.worker import bundle_processor, statesampler
    from apache_beam.utils.counters import CounterFactory

    assert statesampler.DEFAULT_SAMPLING_PERIOD_MS == 200
    call = inspect.getsource(bundle_processor.BundleProcessor.__init__)
    assert "statesampler.StateSampler(" in call and "sampling_period_ms" not in call
    direct_runner(PipelineOptions([]))  # calls short_state_sampling
    assert statesampler.StateSampler("x", CounterFactory()).sampling_period_ms == STATE_SAMPLING_MS == 20
