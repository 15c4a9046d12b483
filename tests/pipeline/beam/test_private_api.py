"""The private Beam API webrefine relies on (pipeline/beam/private_api.py), pinned: a Beam
upgrade that changes any of it fails here rather than somewhere in a run."""
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from webrefine.pipeline.beam.private_api import direct_runner, step_seconds

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
