"""Beam wiring of the dedup stages (logic in dedup/; see dedup/groups.py for clustering).

``dedup_transform(stage, work)`` maps a config object to a PTransform taking a PCollection of
DocRefs (dedup/refs.py: the texts stay in the work area ``work``) to ``{"kept", "rejected",
"tallies"}``: the kept DocRefs and a Rejection per dropped one (its ``doc`` a DocRef, turned back
into the document by pipeline/beam/resolve.py). No document text is ever shuffled: MinHash
reads the texts it signs and verifies from the work area, a chunk of a file at a time. Every GroupByKey result is
iterated at most twice and never collected into a list, so a key shared by millions of
documents (a licence text, a template) needs no more memory than a small one. Counts
are pipeline data (one Tally per bundle) and Beam Metrics counters, both exact.
"""
from __future__ import annotations

import importlib
import uuid
from collections import Counter
from typing import Iterator

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import GlobalWindows

from webrefine.dedup import earlier, groups, lsh, tables
from webrefine.dedup.exact import ExactDedup
from webrefine.dedup.minhash import MinhashDedup
from webrefine.dedup.select import full_key, rank, split_group
from webrefine.dedup.substring import ExactSubstringDedup
from webrefine.dedup.refs import DocRef, chunk
from webrefine.dedup.urls import UrlDedup
from webrefine.filters.document import Rejection
from webrefine.filters.stage import GlobalStage
from webrefine.pipeline.beam import dedup_index
from webrefine.pipeline.beam.per_file import documents_at
from webrefine.pipeline.stats.tally import Tally

REJECTED, TALLY = "rejected", "tally"


REF_STAGES = (ExactDedup, UrlDedup, MinhashDedup)  # the stages that compare DocRefs, not Documents


def dedup_transform(stage: GlobalStage, work: str = "", earlier_entries=None, runs: tuple = ()) -> beam.PTransform:
    """``work``: the work area holding the texts (pipeline/beam/per_file.py); ``earlier_entries``:
    this stage's entries of the --dedup-against runs ``runs`` (dedup_index.py ReadEarlier), or None.
    exact_substring_dedup rewrites texts, so it takes and gives Documents."""
    if isinstance(stage, ExactDedup):
        return _KeepBestPerKey(stage, _text_key, earlier_entries, runs)
    if isinstance(stage, UrlDedup):
        return _KeepBestPerKey(stage, _url_key, earlier_entries, runs)
    if isinstance(stage, MinhashDedup):
        return _MinhashDedupTransform(stage, work, earlier_entries, runs)
    if isinstance(stage, ExactSubstringDedup):  # its module imports this one: imported here
        return importlib.import_module("webrefine.pipeline.beam.substring_transforms").ExactSubstringDedupTransform(stage)
    raise TypeError(f"not a dedup stage: {type(stage).__name__}")


def _text_key(stage: ExactDedup, ref: DocRef) -> bytes:
    return ref.text_key  # stage.key(text), made where the text was read (per_file.py)


def _url_key(stage: UrlDedup, ref: DocRef) -> str:
    return stage.key(ref.url)


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

    def process(self, doc: DocRef):
        key = self.key_fn(self.stage, doc)
        if key:
            yield key, doc
        else:  # only url_dedup has keyless documents (no URL): nothing to compare
            self.flow("in")
            self.flow("out")
            self.counts["no_url"] += 1
            yield TaggedOutput("keyless", doc)


class _KeepBest(_Counting):
    """One group → its survivor (main output) and a Rejection for every other member. A group
    holding an earlier run's entry (dedup/earlier.py) has no survivor: all its documents go."""

    def __init__(self, stage: GlobalStage, runs: tuple = ()) -> None:
        super().__init__(stage)
        self.runs = runs

    def process(self, kv):
        _, docs = kv
        stage = self.stage
        if not self.runs:
            survivor, size, losers = split_group(docs, stage.survivor)
            match = None
        else:
            match, survivor, size, losers = earlier.split_with_earlier(docs, lambda d: full_key(d, stage.survivor))
            if size == 0:  # only earlier documents: nothing of this run
                return
        reason = stage.reasons[0]
        matched = None
        if match is not None:
            run = self.runs[match.run]
            matched = (run.path, match.id)
            self.counts[f"matched_earlier.{run.run_id}"] += size
        for doc in losers:
            yield TaggedOutput(REJECTED, Rejection(stage.name, reason, doc, {"group_size": float(size)}, matched))
        self.flow("in", size)
        kept = 1 if survivor is not None else 0
        if size > kept:
            self.flow(f"dropped.{reason}", size - kept)
            self.counts["duplicate_groups"] += 1
        if survivor is not None:
            self.flow("out")
            self.counts["unique_keys"] += 1
            yield survivor


class _KeepBestPerKey(beam.PTransform):
    """exact_dedup / url_dedup: GroupByKey on the stage's key, keep the best per key."""

    def __init__(self, stage: GlobalStage, key_fn, earlier_entries=None, runs: tuple = ()) -> None:
        super().__init__(label=None)
        self.stage, self.key_fn = stage, key_fn
        self.earlier_entries, self.runs = earlier_entries, tuple(runs)

    def expand(self, docs):
        keyed = docs | "Key" >> beam.ParDo(_RouteByKey(self.stage, self.key_fn)).with_outputs(
            "keyless", TALLY, main="keyed")
        entries = keyed.keyed  # (key, DocRef)
        if self.earlier_entries is not None:  # (key, EarlierDoc): earlier runs' kept documents, same shuffle
            entries = (entries, self.earlier_entries) | "WithEarlier" >> beam.Flatten()
        best = (entries
                | "GroupByKey" >> beam.GroupByKey()
                | "KeepBest" >> beam.ParDo(_KeepBest(self.stage, self.runs)).with_outputs(
                    REJECTED, TALLY, main="kept"))
        return {
            "kept": (best.kept, keyed.keyless) | "Kept" >> beam.Flatten(),
            "rejected": best[REJECTED],
            "tallies": (keyed[TALLY], best[TALLY]) | "Tallies" >> beam.Flatten(),
        }


# --- minhash_dedup --------------------------------------------------------------------
# References are grouped by work-area chunk to be signed (each chunk's texts read once).
# Band entries are packed (dedup/lsh.py) and written to the work area, a file per batch of a
# worker (``_write_bands``); only (band group, file, byte range) is shuffled, so the band keys
# (450 x 16 bytes a document with the refinedweb preset) never sit in a runner's memory. Each reference is shuffled by node id to meet the marks of the
# candidate edges: one in no edge (most) leaves there as unique; the candidates' chunks are
# read again for their shingles (verification), and they meet their decision in a second join.
# No side inputs: Beam's local multi-process runner lost bundles of side-input stages
# at 300k documents (bench/dedup_scale.py; README, Deduplication at scale).

def _refs_by_row(refs) -> dict[int, list[DocRef]]:
    by_row: dict[int, list[DocRef]] = {}
    for ref in refs:
        by_row.setdefault(ref.row, []).append(ref)
    return by_row


def _texts(work: str, key: tuple[str, int], by_row: dict) -> Iterator[tuple[int, str]]:
    """(row, text) of the rows of ``by_row`` in the work-area chunk ``key``; fails loudly
    when the chunk lacks one (a damaged work area must not become silently lost documents)."""
    file, offset = key
    seen = 0
    for row, doc in documents_at(work, file, offset, by_row):
        seen += 1
        yield row, doc.text
    if seen != len(by_row):
        raise RuntimeError(f"the work area's results for {file} lack {len(by_row) - seen} of the rows the "
                           "dedup stages refer to: the work area is damaged; run again with --overwrite")


class _Sign(_Counting):
    """(chunk, [DocRef]) → packed band batches (band group, bytes) and (node id, (D, ref)).
    Documents with fewer than ``ngram`` words cannot be signed and pass through (docs/rules.md, Deduplication:
    exact_dedup, which runs first, still removes their copies)."""

    def __init__(self, stage: GlobalStage, work: str) -> None:
        super().__init__(stage)
        self.work = work

    def setup(self) -> None:
        self.hasher = self.stage.hasher()

    def start_bundle(self) -> None:
        super().start_bundle()
        self.batcher = lsh.BandBatcher(self.stage.band_groups)

    def _bands(self, batches):
        if batches:
            yield from (TaggedOutput("bands", r) for r in _write_bands(self.work, self.stage.name, batches))

    def process(self, kv):
        by_row = _refs_by_row(kv[1])
        salt = np.int64(self.stage.band_salt(kv[0][0]))  # scope: parts (a chunk is one file's)
        for row, text in _texts(self.work, kv[0], by_row):
            hashes = self.hasher.shingle_hashes(text)
            keys = self.hasher.band_key_array(self.hasher.signature(hashes)) if hashes.size else None
            if keys is not None and salt:
                keys = keys ^ salt
            for ref in by_row[row]:
                self.flow("in")
                if keys is None:
                    self.counts["too_short"] += 1
                    self.flow("out")
                    yield ref
                    continue
                self.counts["signed"] += 1
                node, _ = tables.node_id(rank(ref, self.stage.survivor))
                yield from self._bands(self.batcher.add(keys, node))
                yield TaggedOutput("docs", (node, (groups.DOC, ref)))

    def finish_bundle(self):
        for out in self._bands(self.batcher.flush()):
            yield TaggedOutput(out.tag, GlobalWindows.windowed_value(out.value))
        yield from super().finish_bundle()


def _write_bands(work: str, stage: str, batches: list[tuple[int, bytes]]) -> list[tuple[int, tuple[str, int, int]]]:
    """One batch's packed band entries (band group, bytes) → a new file in the work area, and
    (band group, (file, start, length)) for each. A retried bundle writes another file; the
    one its failed attempt wrote is never referred to (the work area goes when the run ends)."""
    path = FileSystems.join(work, f"bands-{stage}-{uuid.uuid4().hex}.bin")
    ranges, at = [], 0
    with FileSystems.create(path, mime_type="application/octet-stream",
                            compression_type=CompressionTypes.UNCOMPRESSED) as fh:
        for group, blob in batches:
            fh.write(blob)
            ranges.append((group, (path, at, len(blob))))
            at += len(blob)
    return ranges


def _read_bands(values) -> Iterator[bytes]:
    """A band group's values → packed entries: earlier runs' (bytes), this run's (file ranges)."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    for v in values:
        if isinstance(v, bytes):
            yield v
        else:
            ranges.setdefault(v[0], []).append(v[1:])
    for path, spans in ranges.items():
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as fh:
            for start, length in sorted(spans):
                fh.seek(start)
                blob = fh.read(length)
                if len(blob) != length:
                    raise RuntimeError(f"{path}: {len(blob)} of {length} bytes at {start}: the work area is damaged")
                yield blob


class _Buckets(_Counting):
    """(band group, [packed entries or their file ranges]) → the group's distinct star edges
    (hub, leaf) as marks."""

    def process(self, kv):
        edges = lsh.bucket_edges(tables.unpack_all(_read_bands(kv[1])), self.counts)
        self.counts["marks_sent"] += 2 * len(edges)
        yield from groups.edge_marks(edges.tolist())


class _Keeping(_Counting):
    """Emits a kept document with its cluster size (signal, histogram, largest clusters)."""

    def keep(self, ref: DocRef, size: int) -> DocRef:
        name = self.stage.name
        self.flow("out")
        self.tally.observe(f"{name}.cluster_size", size)
        if size > 1:
            self.counts["clusters"] += 1
            self.tally.top(f"{name}.largest_clusters", key=ref.id, score=size,
                           item={"size": size, "url": ref.url, "id": ref.id})
        return ref.with_signal(f"{name}.cluster_size", float(size))


class _AtNode(_Keeping):
    """At a node id: documents in no candidate edge are kept (unique); the others go on to
    their decision, and ask for (rank, shingles) to be shipped to their hubs for verification
    (``_ToHubs``, by work-area chunk)."""

    def process(self, kv):
        node, values = kv
        docs, is_hub, hubs = groups.node_view(values, self.counts)
        if not docs:
            if is_hub and earlier.is_earlier_node(node):  # an earlier run's document, a candidate: fetch it
                run, shard, row = earlier.locate(node)
                self.counts["records_sent"] += 1  # FetchEarlier's hub record
                yield TaggedOutput("fetch", ((run, shard), (row, node)))
            return
        if not is_hub and not hubs:
            for doc in docs:
                yield self.keep(doc, 1)
            return
        for doc in docs:
            yield TaggedOutput("candidates", (node, (groups.DOC, doc)))
        ref = min(docs, key=lambda d: (rank(d, self.stage.survivor), d.tie))  # one record per node
        request = (ref.row, node, rank(ref, self.stage.survivor), is_hub, hubs)
        self.counts["records_sent"] += int(is_hub) + len(hubs)
        if self.stage.verify:
            self.counts["shingle_requests_sent"] += 1
            yield TaggedOutput("shingles", (chunk(ref), request))
        else:
            yield from (TaggedOutput("records", r) for r in groups.to_hubs(node, request[2], None, is_hub, hubs))


class _ToHubs(_Counting):
    """(chunk, [(row, node, rank, is_hub, hubs)]) → the candidates' records at their hubs, with
    the shingles of their texts read from the work area."""

    def __init__(self, stage: MinhashDedup, work: str) -> None:
        super().__init__(stage)
        self.work = work

    def setup(self) -> None:
        self.hasher = self.stage.hasher()

    def process(self, kv):
        by_row: dict[int, list[tuple]] = {}
        for request in kv[1]:
            self.counts["shingle_requests_received"] += 1
            by_row.setdefault(request[0], []).append(request)
        for row, text in _texts(self.work, kv[0], by_row):
            shingles = self.hasher.shingle_hashes(text).tobytes()
            for _, node, r, is_hub, hubs in by_row[row]:
                yield from groups.to_hubs(node, r, shingles, is_hub, hubs)


class _VerifyAtHub(_Counting):
    def process(self, kv):
        s = self.stage
        yield from groups.verify_at_hub(kv[1], s.verify, s.threshold, self.counts)


class _CountUnconverged(_Counting):
    def process(self, kv):
        self.counts["graph_nodes"] += 1
        if self.stage.max_rounds >= 2:  # the last round's labels (see _label_messages)
            self.counts["cc_nodes_received"] += 1
        if kv[1][1]:
            self.counts["cc_unconverged"] += 1
        return ()


class _DecisionAtNode(_Counting):
    """(rank, (kept, size, label)) → (node id, (C, rank, kept, size, matched)) for this run's
    documents; matched: the earlier run's rank that won the cluster (dedup/earlier.py), or None."""

    def process(self, kv):
        r, (kept, size, label) = kv
        if earlier.is_earlier_rank(r):  # an earlier run's document: never emitted, never counted
            return
        self.counts["decisions_sent"] += 1
        yield tables.node_id(r)[0], (groups.DECISION, r, kept, size, label if earlier.is_earlier_rank(label) else None)


class _ApplyDecisions(_Keeping):
    def __init__(self, stage: GlobalStage, runs: tuple = ()) -> None:
        super().__init__(stage)
        self.runs = runs

    def process(self, kv):
        name, reason, rule = self.stage.name, self.stage.reasons[0], self.stage.survivor
        docs = [v[1] for v in kv[1] if v[0] == groups.DOC]
        self.counts["decisions_received"] += sum(1 for v in kv[1] if v[0] == groups.DECISION)
        for doc, decision in groups.join_decision(lambda d: rank(d, rule), docs, kv[1]):
            kept, size, label = (True, 1, None) if decision is None else decision
            if not kept:
                self.flow(f"dropped.{reason}")
                matched = None
                if label is not None:  # the cluster holds an earlier run's document
                    run_index, doc_id = earlier.rank_match(label)
                    run = self.runs[run_index]
                    matched = (run.path, doc_id)
                    self.counts[f"matched_earlier.{run.run_id}"] += 1
                yield TaggedOutput(REJECTED, Rejection(name, reason, doc, {"cluster_size": float(size)}, matched))
            else:
                yield self.keep(doc, size)


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


class _Tracked(_Counting):
    """A step of the clustering that counts what it sends (``sends``, ``weight`` each) and the
    grouped values it receives (``receives``); both ends meet in pipeline/stats/build.py
    lost_messages, so a runner that loses part of a round fails the run."""

    def __init__(self, stage: MinhashDedup, fn, sends: tuple = (), receives: str = "", weight: int = 1) -> None:
        super().__init__(stage)
        self.fn, self.sends, self.receives, self.weight = fn, sends, receives, weight

    def process(self, element):
        if self.receives:
            self.counts[f"{self.receives}_received"] += sum(1 for _ in element[1])
        for out in self.fn(element):
            for what in self.sends:
                self.counts[f"{what}_sent"] += self.weight
            yield out


class _LabelMessages(_Counting):
    """Round k's start: a node's label from round k - 1 as a message to itself. Counts the nodes
    that enter round k (``cc_nodes_sent``) and, from round 3 on, those round k - 1 gave back."""

    def __init__(self, stage: MinhashDedup, k: int) -> None:
        super().__init__(stage)
        self.k = k

    def process(self, kv):
        self.counts["cc_messages_sent"] += 1
        self.counts["cc_nodes_sent"] += 1
        if self.k >= 3:
            self.counts["cc_nodes_received"] += 1
        yield kv[0], (groups.LABEL, kv[1][0])


def _propagate(kv):
    return groups.propagate(*kv)


def _by_label(kv):
    yield kv[1][0], kv[0]


def _decide(kv):
    return groups.cluster_decisions(*kv)


class _MinhashDedupTransform(beam.PTransform):
    def __init__(self, stage: MinhashDedup, work: str, earlier_bands=None, runs: tuple = ()) -> None:
        super().__init__(label=None)
        self.stage, self.work, self.earlier_bands, self.runs = stage, work, earlier_bands, tuple(runs)

    def expand(self, refs):
        s = self.stage
        # (chunk, [DocRef]) → bands: (band group, packed (key, node id) rows) per worker batch;
        # docs: (node id, (D, ref)); unsigned: too-short documents, kept as they are.
        signed = (refs | "ByChunk" >> beam.Map(lambda ref: (chunk(ref), ref))
                  | "GroupByChunk" >> beam.GroupByKey()
                  | "Sign" >> beam.ParDo(_Sign(s, self.work)).with_outputs("bands", "docs", TALLY, main="unsigned"))
        bands = signed.bands
        if self.earlier_bands is not None:  # earlier runs' band keys, negative node ids (dedup/earlier.py)
            bands = (bands, self.earlier_bands) | "WithEarlier" >> beam.Flatten()
        # (band group, [batches]) → star edges per shared bucket → marks (hub: None; leaf: its hub's node id)
        cand = (bands
                | "GroupBands" >> beam.GroupByKey()
                | "Buckets" >> beam.ParDo(_Buckets(s)).with_outputs(TALLY, main="marks"))
        # node id → [documents, marks]: unique documents are kept; candidates ship records to hubs
        at_node = ((signed.docs, cand.marks) | "DocsAndMarks" >> beam.Flatten()
                   | "GroupByNode" >> beam.GroupByKey()
                   | "AtNode" >> beam.ParDo(_AtNode(s)).with_outputs("candidates", "shingles", "records", "fetch",
                                                                        TALLY, main="unique"))
        read = (at_node.shingles | "ShinglesByChunk" >> beam.GroupByKey()
                | "ToHubs" >> beam.ParDo(_ToHubs(s, self.work)).with_outputs(TALLY, main="records"))
        records = (at_node.records, read.records) | "Records" >> beam.Flatten()
        if self.earlier_bands is not None:  # hub records of the earlier documents that are candidates
            fetched = (at_node.fetch | "GroupByShard" >> beam.GroupByKey()
                       | "FetchEarlier" >> beam.ParDo(dedup_index.FetchEarlier(s, self.runs)))
            records = (records, fetched) | "WithEarlierHubs" >> beam.Flatten()
        # at each hub: Jaccard(hub, leaf) → verified edges (hub rank, leaf rank)
        verified = (records | "GroupByHub" >> beam.GroupByKey()
                    | "VerifyAtHub" >> beam.ParDo(_VerifyAtHub(s)).with_outputs(TALLY, main="edges"))
        # connected components: labels (rank → (min rank heard, changed)), unrolled rounds
        # Each round's messages, nodes and each cluster's members are counted at both ends (_Tracked).
        labels = (verified.edges | "Round1" >> beam.FlatMap(groups.first_messages)
                  | "Min1" >> beam.CombinePerKey(_MinLabel()))
        cc = []  # the clustering steps' tallies
        adjacency = verified.edges | "Adjacency" >> beam.ParDo(_Tracked(
            s, _both_ways, sends=("cc_messages",), weight=max(s.max_rounds - 1, 0))).with_outputs(TALLY, main="adj")
        cc.append(adjacency[TALLY])
        for k in range(2, s.max_rounds + 1):
            own = labels | f"Labels{k}" >> beam.ParDo(_LabelMessages(s, k)).with_outputs(TALLY, main="own")
            sent = ((own.own, adjacency.adj) | f"Join{k}" >> beam.Flatten() | f"GroupByNode{k}" >> beam.GroupByKey()
                    | f"Propagate{k}" >> beam.ParDo(_Tracked(s, _propagate, receives="cc_messages")).with_outputs(
                        TALLY, main="messages"))
            cc += [own[TALLY], sent[TALLY]]
            labels = sent.messages | f"Min{k}" >> beam.CombinePerKey(_MinLabel())
        # (rank, (label, changed in the last round)) → decisions at node ids → candidate documents
        unconverged = labels | "CountUnconverged" >> beam.ParDo(_CountUnconverged(s)).with_outputs(TALLY)
        by_label = labels | "ByLabel" >> beam.ParDo(_Tracked(s, _by_label, sends=("cc_members",))).with_outputs(
            TALLY, main="members")
        decided = (by_label.members | "GroupByLabel" >> beam.GroupByKey()
                   | "Decide" >> beam.ParDo(_Tracked(s, _decide, receives="cc_members")).with_outputs(
                       TALLY, main="decided"))
        cc += [by_label[TALLY], decided[TALLY]]
        decisions = decided.decided | "DecisionAtNode" >> beam.ParDo(_DecisionAtNode(s)).with_outputs(
            TALLY, main="decisions")
        final = ((at_node.candidates, decisions.decisions) | "CandidatesAndDecisions" >> beam.Flatten()
                 | "GroupCandidates" >> beam.GroupByKey()
                 | "Apply" >> beam.ParDo(_ApplyDecisions(s, self.runs)).with_outputs(REJECTED, TALLY, main="kept"))
        return {
            "kept": (signed.unsigned, at_node.unique, final.kept) | "Kept" >> beam.Flatten(),
            "rejected": final[REJECTED],
            "tallies": (signed[TALLY], cand[TALLY], at_node[TALLY], read[TALLY], verified[TALLY], unconverged[TALLY],
                        *cc, decisions[TALLY], final[TALLY]) | "Tallies" >> beam.Flatten(),
        }
