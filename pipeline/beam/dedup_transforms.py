"""Beam wiring of the dedup stages (logic in dedup/; see dedup/groups.py for clustering).

``dedup_transform(stage)`` maps a config object to a PTransform taking a PCollection
of Documents to ``{"kept", "rejected", "tallies"}``. Every GroupByKey result is
iterated at most twice and never collected into a list, so a key shared by millions of
documents (a licence text, a template) needs no more memory than a small one. Counts
are pipeline data (one Tally per bundle) and Beam Metrics counters, both exact.
"""
from __future__ import annotations

from collections import Counter

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import GlobalWindows

from webrefine.dedup import groups, lsh, tables
from webrefine.dedup.exact import ExactDedup
from webrefine.dedup.minhash import MinhashDedup
from webrefine.dedup.select import TWIN, group_rows, member, rank, split_group
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
    """(key, member) for documents that have a key (select.member: ~100 B, not the document),
    and the document itself on "docs"; the rest pass through untouched."""

    def __init__(self, stage: GlobalStage, key_fn) -> None:
        super().__init__(stage)
        self.key_fn = key_fn

    def process(self, doc: Document):
        key = self.key_fn(self.stage, doc)
        if key:
            yield key, member(doc, self.stage.survivor)
            yield TaggedOutput("docs", doc)
        else:  # only url_dedup has keyless documents (no URL): nothing to compare
            self.flow("in")
            self.flow("out")
            self.counts["no_url"] += 1
            yield TaggedOutput("keyless", doc)


class _DecideGroup(_Counting):
    """One group of members → its decision rows (none for a group of one); counts the flow."""

    def process(self, kv):
        size, rows = group_rows(kv[1])
        self.flow("in", size)
        self.flow("out")
        if size > 1:
            self.flow(f"dropped.{self.stage.reasons[0]}", size - 1)
            self.counts["duplicate_groups"] += 1
        self.counts["unique_keys"] += 1
        yield from rows


class _ApplyGroupDecisions(beam.DoFn):
    """Each keyed document looks itself up in the decision table: no row → kept (alone in its
    group); +size → kept; -size → rejected; TWIN → several identical documents hold the
    survivor's identity: they meet by identity ("twins") to keep one."""

    def __init__(self, stage: GlobalStage) -> None:
        self.stage = stage

    def start_bundle(self) -> None:
        self._blob, self._table = None, None

    def process(self, doc: Document, table: bytes):
        if table is not self._blob:
            self._blob, self._table = table, tables.unpack(table, 3)
        _, nid, check = member(doc, self.stage.survivor)
        code = tables.find(self._table, nid, check)
        if code is None or (code > 0 and not code & TWIN):
            yield doc
        elif code < 0:
            yield TaggedOutput(REJECTED, Rejection(self.stage.name, self.stage.reasons[0], doc,
                                                   {"group_size": float(-code)}))
        else:
            yield TaggedOutput("twins", ((nid, check), doc))


class _KeepOneTwin(beam.DoFn):
    """Identical documents holding the survivor's identity: keep one, reject the others."""

    def __init__(self, stage: GlobalStage) -> None:
        self.stage = stage

    def process(self, kv, table: bytes):
        size = tables.find(tables.unpack(table, 3), *kv[0]) & ~TWIN
        survivor, _, losers = split_group(kv[1], self.stage.survivor)
        for doc in losers:
            yield TaggedOutput(REJECTED, Rejection(self.stage.name, self.stage.reasons[0], doc,
                                                   {"group_size": float(size)}))
        yield survivor


class _KeepBestPerKey(beam.PTransform):
    """exact_dedup / url_dedup: GroupByKey on the stage's key over compact members, one table
    of decisions (documents in duplicate groups only), and each document looks itself up:
    documents are never shuffled, except identical copies of a survivor (twins)."""

    def __init__(self, stage: GlobalStage, key_fn) -> None:
        super().__init__(label=None)
        self.stage, self.key_fn = stage, key_fn

    def expand(self, docs):
        keyed = docs | "Key" >> beam.ParDo(_RouteByKey(self.stage, self.key_fn)).with_outputs(
            "docs", "keyless", TALLY, main="keyed")
        decided = (keyed.keyed  # (key, member)
                   | "GroupByKey" >> beam.GroupByKey()
                   | "Decide" >> beam.ParDo(_DecideGroup(self.stage)).with_outputs(TALLY, main="rows"))
        table = beam.pvalue.AsSingleton(decided.rows | "DecisionTable" >> beam.CombineGlobally(_RowTable(3)))
        best = keyed.docs | "KeepBest" >> beam.ParDo(_ApplyGroupDecisions(self.stage), table).with_outputs(
            REJECTED, "twins", main="kept")
        twins = (best.twins | "GroupTwins" >> beam.GroupByKey()
                 | "KeepOneTwin" >> beam.ParDo(_KeepOneTwin(self.stage), table).with_outputs(REJECTED, main="kept"))
        return {
            "kept": (best.kept, twins.kept, keyed.keyless) | "Kept" >> beam.Flatten(),
            "rejected": (best[REJECTED], twins[REJECTED]) | "Rejected" >> beam.Flatten(),
            "tallies": (keyed[TALLY], decided[TALLY]) | "Tallies" >> beam.Flatten(),
        }


# --- minhash_dedup --------------------------------------------------------------------
# Only the few documents that share a band bucket with another one are ever shuffled
# one by one; every other document passes from Sign to Apply with no shuffle at all.
# Sign packs band entries into batches per band group (dedup/lsh.py); the candidate
# nodes and the final decisions are compact numpy tables read as side inputs, 8 B and
# 24 B per document in a cluster.

class _Sign(_Counting):
    """Document → packed band batches (band group, bytes), and the document itself on "docs".
    Documents with fewer than ``ngram`` words cannot be signed and pass through (docs/rules.md, Deduplication:
    exact_dedup, which runs first, still removes their copies)."""

    def setup(self) -> None:
        self.hasher = self.stage.hasher()

    def start_bundle(self) -> None:
        super().start_bundle()
        self.batcher = lsh.BandBatcher(self.stage.band_groups)

    def process(self, doc: Document):
        self.flow("in")
        hashes = self.hasher.shingle_hashes(doc.text)
        if hashes.size == 0:
            self.counts["too_short"] += 1
            self.flow("out")
            yield doc
            return
        self.counts["signed"] += 1
        node, _ = tables.node_id(rank(doc, self.stage.survivor))
        for batch in self.batcher.add(self.hasher.band_key_array(self.hasher.signature(hashes)), node):
            yield TaggedOutput("bands", batch)
        yield TaggedOutput("docs", doc)

    def finish_bundle(self):
        for batch in self.batcher.flush():
            yield TaggedOutput("bands", GlobalWindows.windowed_value(batch))
        yield from super().finish_bundle()


class _Buckets(_Counting):
    """(band group, [packed batches]) → the group's distinct star edges (hub, leaf), packed."""

    def process(self, kv):
        edges = lsh.bucket_edges(tables.unpack_all(kv[1]), self.counts)
        if len(edges):
            yield tables.pack(edges)


class _RowTable(beam.CombineFn):
    """Rows (int tuples, or packed arrays of rows) → one packed array of distinct rows, sorted."""

    def __init__(self, width: int) -> None:
        self.width = width

    def create_accumulator(self):
        return []

    def add_input(self, acc, row):
        acc.append(tables.unpack(row, self.width) if isinstance(row, bytes) else row)
        return acc

    def merge_accumulators(self, accs):
        return [tables.sorted_rows(np.concatenate([self._rows(a) for a in accs]))]

    def extract_output(self, acc):
        return tables.pack(tables.sorted_rows(self._rows(acc)))

    def _rows(self, acc: list) -> np.ndarray:
        arrays = [x for x in acc if isinstance(x, np.ndarray)]
        arrays.append(np.asarray([x for x in acc if not isinstance(x, np.ndarray)], dtype=np.int64)
                      .reshape(-1, self.width))
        return np.concatenate(arrays)


class _NodeRecords(beam.DoFn):
    """Documents in a candidate edge (few) → their records at their hubs' keys (groups.to_hubs);
    every other document sends nothing."""

    def __init__(self, stage: MinhashDedup) -> None:
        self.stage = stage

    def setup(self) -> None:
        self.hasher = self.stage.hasher()
        self._edges, self._index = None, None

    def process(self, doc: Document, edges: bytes):
        if edges is not self._edges:  # the same side input value for the whole bundle
            self._edges, self._index = edges, lsh.EdgeIndex(tables.unpack(edges))
        r = rank(doc, self.stage.survivor)
        node, _ = tables.node_id(r)
        is_hub, hubs = self._index.is_hub(node), self._index.hubs_of(node)
        if is_hub or hubs:
            shingles = self.hasher.shingle_hashes(doc.text).tobytes() if self.stage.verify else None
            yield from groups.to_hubs(node, r, shingles, is_hub, hubs)


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
    def start_bundle(self) -> None:
        super().start_bundle()
        self._blob, self._table = None, None

    def process(self, doc: Document, table: bytes):
        if table is not self._blob:
            self._blob, self._table = table, tables.unpack(table, 3)
        name, reason = self.stage.name, self.stage.reasons[0]
        found = lsh.lookup(self._table, rank(doc, self.stage.survivor))
        kept, size = (True, 1) if found is None else found
        if size == 0:  # a node-id collision: never a drop (dedup/lsh.py)
            self.counts["node_collisions"] += 1
            size = 1
        if not kept:
            self.flow(f"dropped.{reason}")
            yield TaggedOutput(REJECTED, Rejection(name, reason, doc, {"cluster_size": float(size)}))
            return
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
        # Document → bands: (band group, packed (key, node id) rows) per worker batch;
        # docs: the signed documents; unsigned: too-short documents, kept as they are.
        signed = docs | "Sign" >> beam.ParDo(_Sign(s)).with_outputs("bands", "docs", TALLY, main="unsigned")
        # (band group, [batches]) → star edges per shared bucket → one table of distinct (hub id, leaf id)
        cand = (signed.bands
                | "GroupBands" >> beam.GroupByKey()
                | "Buckets" >> beam.ParDo(_Buckets(s)).with_outputs(TALLY, main="edges"))
        edges = beam.pvalue.AsSingleton(cand.edges | "EdgeTable" >> beam.CombineGlobally(_RowTable(2)))
        # documents in an edge → (hub id, header or leaf record) → at each hub: Jaccard(hub, leaf)
        # → verified edges (hub rank, leaf rank)
        verified = (signed.docs | "ToHubs" >> beam.ParDo(_NodeRecords(s), edges)
                    | "GroupByHub" >> beam.GroupByKey()
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
        # (rank, (label, changed in the last round)) → decisions → one table, read by every document
        unconverged = labels | "CountUnconverged" >> beam.ParDo(_CountUnconverged(s)).with_outputs(TALLY)
        table = (labels | "ByLabel" >> beam.Map(lambda kv: (kv[1][0], kv[0]))
                 | "GroupByLabel" >> beam.GroupByKey()
                 | "Decide" >> beam.FlatMapTuple(groups.cluster_decisions)
                 | "DecisionRows" >> beam.MapTuple(lsh.decision_row)
                 | "DecisionTable" >> beam.CombineGlobally(_RowTable(3)))
        final = signed.docs | "Apply" >> beam.ParDo(_ApplyDecisions(s), beam.pvalue.AsSingleton(table)).with_outputs(
            REJECTED, TALLY, main="kept")
        return {
            "kept": (signed.unsigned, final.kept) | "Kept" >> beam.Flatten(),
            "rejected": final[REJECTED],
            "tallies": (signed[TALLY], cand[TALLY], verified[TALLY], unconverged[TALLY], final[TALLY])
            | "Tallies" >> beam.Flatten(),
        }
