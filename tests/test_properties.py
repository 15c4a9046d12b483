"""Property-based tests: arbitrary bytes and text never raise out of the reader or any stage."""
import dataclasses
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webrefine.filters.document import Document
from webrefine.filters.stage import GlobalStage, apply_stage
from webrefine.pipeline.config import STAGES, ReadConfig, stage_class
from webrefine.pipeline.stats.tally import Tally
from webrefine.pipeline.io.warc import decode_html, read_warc
from tests import warcgen

# Every per-document stage of the stage table, in-process (no extraction helpers).
PER_DOC = []
for name in STAGES:
    cls = stage_class(name)
    if issubclass(cls, GlobalStage):
        continue
    inline = "isolation" in {f.name for f in dataclasses.fields(cls)}
    stage = cls(isolation="inline") if inline else cls()
    stage.setup()
    PER_DOC.append(stage)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=3000) | st.from_regex(
    r"((([A-Z0-9 .…#•\-]{0,40}|[a-z ]{0,80})\n{1,3}){0,30})", fullmatch=True)


def check_read(data: bytes) -> None:
    tally = Tally()
    docs = list(read_warc(lambda: io.BytesIO(data), "fuzz", ReadConfig(), tally))
    c = tally.counts
    # Every response is accounted for, whatever the bytes were.
    dropped = sum(v for k, v in c.items() if k.startswith("stage.read.dropped."))
    errors = sum(v for k, v in c.items() if k.startswith("errors."))
    assert c["input.responses"] == len(docs) + dropped + errors


@SETTINGS
@given(st.binary(max_size=4000))
def test_reader_survives_arbitrary_bytes(data):
    check_read(data)


@SETTINGS
@given(st.binary(max_size=2000), st.sampled_from([b"WARC/1.1\r\n", b"\x1f\x8b\x08", b"HTTP/1.1 200 OK\r\n"]),
       st.integers(min_value=0, max_value=3000))
def test_reader_survives_damaged_warc(noise, marker, cut):
    good = warcgen.gz(warcgen.page(warcgen.ARTICLE, url="https://a/1"), warcgen.page(warcgen.ARTICLE, url="https://a/2"))
    check_read(good[:cut] + marker + noise + good[cut:])
    check_read(warcgen.page(noise, url="https://a/3") + noise)


@SETTINGS
@given(st.binary(max_size=3000), st.one_of(st.none(), st.text(max_size=20)))
def test_decoding_never_raises(payload, charset):
    text, codec = decode_html(payload, charset)
    assert isinstance(text, str) and codec


@SETTINGS
@given(texts, st.text(max_size=200))
def test_every_stage_survives_arbitrary_text(text, url):
    doc = Document(id="x", url=url, text=text, html=text)
    for stage in PER_DOC:
        out, verdict = apply_stage(stage, doc)
        assert verdict.keep == (out is not None)
        assert verdict.keep or verdict.reason in stage.reasons
        assert set(verdict.signals) <= set(stage.signal_names)
        assert all(isinstance(v, float) or isinstance(v, int) for v in verdict.signals.values())
        if stage.decides_by_rules:
            failed = stage.failing(verdict.signals)
            assert verdict.reason == (failed[0] if failed else None)
