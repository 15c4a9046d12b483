"""Which installed distributions a command really imports, across every process it starts.

    python bench/import_set.py PYTHON ARGS...       e.g.
    python bench/import_set.py /tmp/webrefine-peer/ourvenv/bin/python -m webrefine run --input ... --config ...

Runs the command with a sitecustomize on PYTHONPATH that records sys.modules in every Python
process (at exit, at os._exit as forked workers end, and every 0.3 s, as Beam's SDK workers are
killed), then maps each module's file to the distribution whose RECORD lists it (by hash where two
claim a file: fasttext-predict and fasttext-numpy2-wheel both ship `fasttext`). Prints
`name==version` per line on stdout (the command's own output goes to stderr): what bench/peer_kit.sh must ship, less what the target machine has.
Imports only: data files a package opens are not seen, so run the real thing once from the kit.
"""
import base64
import csv
import glob
import hashlib
import os
import subprocess
import sys
import tempfile

RECORDER = r'''
import atexit, os, sys, threading, time
_D = os.environ.get("IMPORT_SET_DIR")
def _dump():
    try:
        p = os.path.join(_D, f"{os.getpid()}.txt")
        with open(p + ".tmp", "w") as fh:
            fh.write("\n".join(sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())})))
        os.replace(p + ".tmp", p)
    except Exception:
        pass
def _loop():
    while True:
        time.sleep(0.3)
        _dump()
def _start():
    threading.Thread(target=_loop, daemon=True).start()
if _D:
    atexit.register(_dump)
    _exit = os._exit
    def _recorded_exit(code):
        _dump()
        _exit(code)
    os._exit = _recorded_exit
    os.register_at_fork(after_in_child=_start)
    _start()
'''


def _record_hash(path: str) -> str:
    digest = hashlib.sha256(open(path, "rb").read()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _owners(site: str) -> dict[str, list[tuple[str, str]]]:
    """file path -> [(distribution==version, RECORD hash)] for one site-packages folder."""
    out: dict[str, list[tuple[str, str]]] = {}
    for record in glob.glob(os.path.join(site, "*.dist-info", "RECORD")):
        name, _, version = os.path.basename(os.path.dirname(record))[: -len(".dist-info")].partition("-")
        for row in csv.reader(open(record, encoding="utf-8")):
            if row:
                path = os.path.normpath(os.path.join(site, row[0]))
                out.setdefault(path, []).append((f"{name}=={version}", row[1] if len(row) > 1 else ""))
    return out


def distributions(files: set[str]) -> set[str]:
    sites: dict[str, dict] = {}
    found = set()
    for f in files:
        # the module's site folder: the nearest parent holding *.dist-info folders
        d = os.path.dirname(f)
        while d != os.path.dirname(d) and not glob.glob(os.path.join(d, "*.dist-info")):
            d = os.path.dirname(d)
        if d == os.path.dirname(d):
            continue  # the standard library, or a script outside any site folder
        owners = sites.setdefault(d, _owners(d)).get(f, [])
        if len(owners) > 1:
            h = _record_hash(f)
            owners = [o for o in owners if o[1] == h] or owners
        found.update(o[0] for o in owners)
    return found


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        rec, where = os.path.join(tmp, "rec"), os.path.join(tmp, "site")
        os.makedirs(rec)
        os.makedirs(where)
        with open(os.path.join(where, "sitecustomize.py"), "w") as fh:
            fh.write(RECORDER)
        env = dict(os.environ, IMPORT_SET_DIR=rec,
                   PYTHONPATH=os.pathsep.join(p for p in (where, os.environ.get("PYTHONPATH")) if p))
        rc = subprocess.run(sys.argv[1:], env=env, stdout=sys.stderr).returncode  # stdout: the list only
        files = set()
        for f in glob.glob(os.path.join(rec, "*.txt")):
            files.update(os.path.normpath(line) for line in open(f).read().splitlines() if line)
        print(f"{len(glob.glob(os.path.join(rec, '*.txt')))} processes recorded; command exit status {rc}",
              file=sys.stderr)
    for d in sorted(distributions(files), key=str.lower):
        print(d)
    return rc


if __name__ == "__main__":
    sys.exit(main())
