"""Beam wiring of the dedup stages (logic in dedup/; see dedup/groups.py for clustering).

``dedup_transform(stage)`` maps a config object to a PTransform taking a PCollection
of Documents to ``{"kept", "rejected", "tallies"}``. Every GroupByKey result is
iterated at most twice and never collected into a list, so a key shared by millions of
documents (a licence text, a template) needs no more memory than a small one. Counts
are pipeline data (one Tally per bundle) and Beam Metrics counters, both exact.
"""
from __future__ import annotations

import hashlib
import importlib
from collections import Counter

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import GlobalWindows

from webrefine.dedup import groups
from webrefine.dedup.exact import ExactDedup
from webrefine.dedup.minhash import MinhashDedup
from webrefine.dedup.select import rank, split_group
from webrefine.dedup.substring import ExactSubstringDedup
from webrefine.dedup.urls import UrlDedup
from webrefine.filters.document import Document, Rejection
from webrefine.filters.stage import GlobalStage
from webrefine.pipeline.stats.tally import Tally

REJECTED, TALLY = "rejected", "tally"


def dedup_transform(stage: GlobalStage) -> beam.PTransform:
    if isinstance(stage, ExactDedup):
        return _KeepBestPerKey(stage, _text_key)
    if isinstance(stage, UrlDedup):
        return _KeepBestPerKey(stage, _url_key)
    if isinstance(stage, MinhashDedup):
        return _MinhashDedupTransform(stage)
    if isinstance(stage, ExactSubstringDedup):  # its module imports this one: imported here
        return importlib.import_module("webrefine.pipeline.beam.substring_transforms").ExactSubstringDedupTransform(stage)
    raise TypeError(f"not a dedup stage: {type(stage).__name__}")


def _text_key(stage: ExactDedup, doc: Document) -> bytes:
    return stage.key(doc.text)


def _url_key(stage: UrlDedup, doc: Document) -> str:
    return stage.key(doc.url)


class _Counting(beam.DoFn):
    """Counts into ``self.counts`` (stage extras) and ``self.tally``; emits one Tally
    per bundle on the TALLY output and mirrors the stage.* counts into Beam Metrics."""

    def __init__(self, stage: GlobalStage) -> None:
        self.stage = stage

    def start_bundle(self) -> None:
        self.tally, self.counts = Tally(), Counter()

    def flow(self, what: str, n: int = 1) -> None:  # what: "in" | "out" | "dropped.<reason>"
        self.tally.count(f"stage.{self.stage.name}.{what}", n)

    def finish_bundle(self):
        name = self.stage.name
        for key, n in self.counts.items():
            self.tally.count(f"{name}.{key}", n)
        prefix = f"stage.{name}."
        for key, n in self.tally.counts.items():
            if key.startswith(prefix):
                Metrics.counter(name, key[len(prefix):]).inc(n)
        if self.tally:
            yield TaggedOutput(TALLY, GlobalWindows.windowed_value(self.tally))


class _RouteByKey(_Counting):
    """(key, doc) for documents that have a key; the rest pass through untouched."""

    def __init__(self, stage: GlobalStage, key_fn) -> None:
        super().__init__(stage)
        self.key_fn = key_fn

    def process(self, doc: Document):
        key = self.key_fn(self.stage, doc)
        if key:
            yield key, doc
        else:  # only url_dedup has keyless documents (no URL): nothing to compare
            self.flow("in")
            self.flow("out")
            self.counts["no_url"] += 1
            yield TaggedOutput("keyless", doc)


class _KeepBest(_Counting):
    """One group → its survivor (main output) and a Rejection for every other member."""

    def process(self, kv):
        _, docs = kv
        stage = self.stage
        survivor, size, losers = split_group(docs, stage.survivor)
        reason = stage.reasons[0]
        for doc in losers:
            yield TaggedOutput(REJECTED, Rejection(stage.name, reason, doc, {"group_size": float(size)}))
        self.flow("in", size)
        self.flow("out")
        if size > 1:
            self.flow(f"dropped.{reason}", size - 1)
            self.counts["duplicate_groups"] += 1
        self.counts["unique_keys"] += 1
        yield survivor


class _KeepBestPerKey(beam.PTransform):
    """exact_dedup / url_dedup: GroupByKey on the stage's key, keep the best per key."""

    def __init__(self, stage: GlobalStage, key_fn) -> None:
        super().__init__(label=None)
        self.stage, self.key_fn = stage, key_fn

    def expand(self, docs):
        keyed = docs | "Key" >> beam.ParDo(_RouteByKey(self.stage, self.key_fn)).with_outputs(
            "keyless", TALLY, main="keyed")
        best = (keyed.keyed  # (key, Document)
                | "GroupByKey" >> beam.GroupByKey()
                | "KeepBest" >> beam.ParDo(_KeepBest(self.stage)).with_outputs(REJECTED, TALLY, main="kept"))
        return {
            "kept": (best.kept, keyed.keyless) | "Kept" >> beam.Flatten(),
            "rejected": best[REJECTED],
            "tallies": (keyed[TALLY], best[TALLY]) | "Tallies" >> beam.Flatten(),
        }


# --- minhash_dedup --------------------------------------------------------------------

def node_digest(r: tuple) -> bytes:
    """12-byte node id used in band buckets (collision odds ~n²/2⁹⁷: none at crawl scale)."""
    text = f"{r[0]}\x00{r[1]}\x00{r[2]}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=12).digest()


class _Sign(_Counting):
    """Document → band entries (key, node), its node header, and (rank, doc) for the join.
    Documents with fewer than ``ngram`` words cannot be signed and pass through (docs/rules.md, Deduplication:
    exact_dedup, which runs first, still removes their copies)."""

    def setup(self) -> None:
        self.hasher = self.stage.hasher()

    def process(self, doc: Document):
        self.flow("in")
        hashes = self.hasher.shingle_hashes(doc.text)
        if hashes.size == 0:
            self.counts["too_short"] += 1
            self.flow("out")
            yield doc
            return
        self.counts["signed"] += 1
        r = rank(doc, self.stage.survivor)
        node = node_digest(r)
        for key in self.hasher.band_keys(self.hasher.signature(hashes)):
            yield TaggedOutput("bands", (key, node))
        yield TaggedOutput("nodes", (node, (groups.HEADER, r, hashes.tobytes() if self.stage.verify else None)))
        yield TaggedOutput("docs", (r, (groups.DOC, doc)))


class _StarEdges(_Counting):
    def process(self, kv):
        yield from groups.star_edges(kv[1], self.counts)


class _VerifyAtHub(_Counting):
    def process(self, kv):
        s = self.stage
        yield from groups.verify_at_hub(kv[1], s.verify, s.threshold, self.counts)


class _CountUnconverged(_Counting):
    def process(self, kv):
        self.counts["graph_nodes"] += 1
        if kv[1][1]:
            self.counts["cc_unconverged"] += 1
        return ()


class _ApplyDecisions(_Counting):
    def process(self, kv):
        name, reason = self.stage.name, self.stage.reasons[0]
        for doc, decision in groups.join_decision(kv[1]):
            kept, size = (True, 1) if decision is None else decision[:2]
            if not kept:
                self.flow(f"dropped.{reason}")
                yield TaggedOutput(REJECTED, Rejection(name, reason, doc, {"cluster_size": float(size)}))
                continue
            self.flow("out")
            self.tally.observe(f"{name}.cluster_size", size)
            if size > 1:
                self.counts["clusters"] += 1
                self.tally.top(f"{name}.largest_clusters", key=doc.id, score=size,
                               item={"size": size, "url": doc.url, "id": doc.id})
            yield doc.replace(signals={**doc.signals, f"{name}.cluster_size": float(size)})


class _MinLabel(beam.CombineFn):
    """Minimum label heard by a node, and whether it beat the node's own (see groups.py)."""

    def create_accumulator(self):
        return groups.min_create()

    def add_input(self, acc, msg):
        return groups.min_add(acc, msg)

    def merge_accumulators(self, accs):
        return groups.min_merge(accs)

    def extract_output(self, acc):
        return groups.min_extract(acc)


def _both_ways(edge):
    u, v = edge
    return [(u, (groups.NEIGHBOUR, v)), (v, (groups.NEIGHBOUR, u))]


class _MinhashDedupTransform(beam.PTransform):
    def __init__(self, stage: MinhashDedup) -> None:
        super().__init__(label=None)
        self.stage = stage

    def expand(self, docs):
        s = self.stage
        # Document → bands: (band key, node digest) × b; nodes: (digest, (N, rank, shingles));
        # docs: (rank, (D, doc)); unsigned: too-short documents, kept as they are.
        signed = docs | "Sign" >> beam.ParDo(_Sign(s)).with_outputs("bands", "nodes", "docs", TALLY, main="unsigned")
        # (band key, [digests]) → star edges (hub digest, member digest) per shared bucket
        cand = (signed.bands
                | "GroupBands" >> beam.GroupByKey()
                | "StarEdges" >> beam.ParDo(_StarEdges(s)).with_outputs(TALLY, main="edges"))
        edges = cand.edges | "DistinctEdges" >> beam.Distinct()  # a pair shares many bands
        hubs = (edges | "Hubs" >> beam.Map(lambda e: e[0]) | "DistinctHubs" >> beam.Distinct()
                | "HubMarks" >> beam.Map(lambda h: (h, (groups.HUB,))))
        leaves = edges | "Leaves" >> beam.Map(lambda e: (e[1], (groups.LEAF, e[0])))
        # digest → [header, hub mark, leaf edges] → leaf records (hub, (L, rank, shingles)) and
        # hub headers; then at each hub: Jaccard(hub, leaf) → verified edges (hub rank, leaf rank)
        routed = ((signed.nodes, hubs, leaves) | "NodeRecords" >> beam.Flatten()
                  | "GroupByNode" >> beam.GroupByKey()
                  | "RouteToHub" >> beam.FlatMap(lambda kv, verify=s.verify: groups.route_to_hub(kv[0], kv[1], verify)))
        verified = (routed | "GroupByHub" >> beam.GroupByKey()
                    | "VerifyAtHub" >> beam.ParDo(_VerifyAtHub(s)).with_outputs(TALLY, main="edges"))
        # connected components: labels (rank → (min rank heard, changed)), unrolled rounds
        labels = (verified.edges | "Round1" >> beam.FlatMap(groups.first_messages)
                  | "Min1" >> beam.CombinePerKey(_MinLabel()))
        adjacency = verified.edges | "Adjacency" >> beam.FlatMap(_both_ways)
        for k in range(2, s.max_rounds + 1):
            labels = ((labels | f"Labels{k}" >> beam.Map(lambda kv: (kv[0], (groups.LABEL, kv[1][0]))), adjacency)
                      | f"Join{k}" >> beam.Flatten() | f"GroupByNode{k}" >> beam.GroupByKey()
                      | f"Propagate{k}" >> beam.FlatMapTuple(groups.propagate)
                      | f"Min{k}" >> beam.CombinePerKey(_MinLabel()))
        # (rank, (label, changed in the last round)) → decisions keyed by rank → documents
        unconverged = labels | "CountUnconverged" >> beam.ParDo(_CountUnconverged(s)).with_outputs(TALLY)
        decisions = (labels | "ByLabel" >> beam.Map(lambda kv: (kv[1][0], kv[0]))
                     | "GroupByLabel" >> beam.GroupByKey()
                     | "Decide" >> beam.FlatMapTuple(groups.cluster_decisions)
                     | "TagDecision" >> beam.Map(lambda kv: (kv[0], (groups.DECISION, kv[1]))))
        final = ((signed.docs, decisions) | "DocsAndDecisions" >> beam.Flatten()
                 | "GroupByRank" >> beam.GroupByKey()
                 | "Apply" >> beam.ParDo(_ApplyDecisions(s)).with_outputs(REJECTED, TALLY, main="kept"))
        return {
            "kept": (signed.unsigned, final.kept) | "Kept" >> beam.Flatten(),
            "rejected": final[REJECTED],
            "tallies": (signed[TALLY], cand[TALLY], verified[TALLY], unconverged[TALLY], final[TALLY])
            | "Tallies" >> beam.Flatten(),
        }
