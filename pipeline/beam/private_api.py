"""Every use of Beam's private API, in one place; tests/pipeline/beam/test_private_api.py pins
the behaviour relied on, so a Beam upgrade that changes it fails there, loudly.

- ``fn_runner.FnApiRunner``: the engine behind the DirectRunner for batch jobs, started
  directly (``direct_runner``).
- ``worker_handlers.DATA_BUFFER_TIME_LIMIT_MS``: set to 0 before that runner starts, so that
  its data plane never flushes on a timer (``no_timed_flush``; the bug it avoids is below).
- ``statesampler.StateSampler``'s default sampling period: 20 ms instead of 200 in the
  process that runs the local runner's in-process worker (``short_state_sampling``).
- ``RunnerResult.monitoring_infos()`` and the ``ptransform_execution_time:total_msecs`` system
  metric: the seconds the runner's state sampler attributes to each step (``step_seconds``);
  the FnApiRunner reports them, other runners' results may not.
"""
from __future__ import annotations


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

    no_timed_flush()
    short_state_sampling()
    encoded = JobServiceHandle.encode_pipeline_options(options.get_all_options())
    info = beam_provision_api_pb2.ProvisionInfo(pipeline_options=encoded)
    return fn_runner.FnApiRunner(provision_info=fn_runner.ExtendedProvisionInfo(info))


def no_timed_flush() -> None:
    """Turns off the local runner's timed flushing of the data it sends to its workers.

    Beam (2.77) gives each of those output streams a thread that flushes it every second
    (``TimeBasedBufferingClosableOutputStream``): it takes the buffer, hands it to the send
    queue, then clears the buffer, while the runner's own thread keeps writing the bundle's
    input into it unlocked. A write that lands during a slow hand-over (a full send queue:
    16 workers' inputs of tens of MB) is cleared unsent, and the worker processes the
    bundle without it: no error, elements gone. Seen at 1M documents on the 16-core lent
    machine (7.6-14% of minhash_dedup's candidate marks), and reproduced on 2 cores with a
    900k-element join (README, Deduplication at scale). A batch job gains nothing from the
    timer: without it every stream is flushed by size and at close, on the writing thread.
    """
    from apache_beam.runners.portability.fn_api_runner import worker_handlers

    worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 0


STATE_SAMPLING_MS = 20


def short_state_sampling() -> None:
    """Beam's state sampler (the time it attributes to each step, ``step_seconds``) samples
    from a thread that sleeps up to its period, 200 ms, between samples; ending a bundle joins
    that thread, so the end of every long bundle waits up to 200 ms with nothing to do (about
    140 ms at the end of a cc-sample run on 2 cores, py-spy). A 20 ms period ends it sooner and
    samples more finely, for about 50 wake-ups a second of a thread that holds no GIL while it
    sleeps. Only the default of samplers made later in this process changes (the in-process
    worker's, one per bundle): Beam's own worker processes keep theirs."""
    from apache_beam.runners.worker import statesampler

    init = statesampler.StateSampler.__init__
    if init.__defaults__ == (statesampler.DEFAULT_SAMPLING_PERIOD_MS,):
        init.__defaults__ = (STATE_SAMPLING_MS,)


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
