"""Where the cores sit idle in a run: the CPU used by a command and by its child processes
(the extraction helpers), in slices of the run's wall time.

    python bench/cpu_timeline.py [--slice 0.5] -- webrefine run --input 'DIR/*.warc.gz' --output OUT ...

The process tree is sampled from /proc every 50 ms (Linux): only the tree's own files are read
(each process's stat, and the children of each of its threads, ``/proc/PID/task/TID/children``),
so the sampler itself costs little; its own CPU is printed at the end (on 2 cores, what it uses
is taken from the run). Each line is one slice: the cores
the command's own process used (the driver: imports, graph, the Beam worker) and the cores its
descendants used (the helpers). On N idle cores, a slice summing well under N is time a core
had nothing to do: the start-up (helpers waiting for the first page) and the tail (the last
pages, then writing). On a machine shared with other work, the sums are capped by what the
others leave. The last lines give the compute phase: from the first to the last slice in which
the descendants worked, the share of the cores the tree used; and, where the run may use every
core of the machine, the same span as /proc/stat counts it: the share of the machine's cores
that sat idle (what the run left unused, whatever the sampler and other processes took) and
what the hypervisor took (steal).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")


def processes() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds) of every process."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    return out


def children_readable(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}/task/{pid}/children")


def child_pids(pid: int) -> list[int]:
    """The child processes of every thread of ``pid`` (none once it ended)."""
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as fh:
                    out.extend(int(c) for c in fh.read().split())
            except OSError:
                continue
    except OSError:
        pass
    return out


def cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine() -> tuple[float, float, float]:
    """Seconds the machine's cores were idle (idle + iowait), stolen by the hypervisor, and
    in total, since boot (/proc/stat's first line; every core, not only this run's)."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    fields += [0] * (8 - len(fields))
    return (fields[3] + fields[4]) / TICKS, fields[7] / TICKS, sum(fields[:8]) / TICKS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slice", type=float, default=0.5, help="seconds per line")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command")
    start = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    tree, cpu = {proc.pid}, {}  # CPU seconds last seen per process of the tree (also once ended)
    samples, machines = [], [machine()]  # machines[i]: /proc/stat before samples[i]'s sleep ends
    walk = children_readable(proc.pid)
    while proc.poll() is None:
        if walk:
            found, todo = set(), [proc.pid]
            while todo:
                pid = todo.pop()
                if pid not in found:
                    found.add(pid)
                    todo.extend(child_pids(pid))
            tree |= found
            for pid in found:
                seen = cpu_seconds(pid)
                if seen is not None:
                    cpu[pid] = seen
        else:  # no children files: scan every process (costs more)
            table = processes()
            grown = True
            while grown:
                grown = False
                for pid, (parent, _) in table.items():
                    if parent in tree and pid not in tree:
                        tree.add(pid)
                        grown = True
            for pid in tree:
                if pid in table:
                    cpu[pid] = table[pid][1]
        samples.append((time.monotonic() - start, cpu.get(proc.pid, 0.0), sum(v for p, v in cpu.items() if p != proc.pid)))
        machines.append(machine())
        time.sleep(0.05)
    wall = time.monotonic() - start
    edge, before = args.slice, (0.0, 0.0)
    for t, own, children in samples:
        if t >= edge:
            print(f"{edge - args.slice:6.1f}-{edge:5.1f} s  command {(own - before[0]) / args.slice:4.2f} cores  "
                  f"children {(children - before[1]) / args.slice:4.2f} cores")
            before, edge = (own, children), edge + args.slice
    own, children = samples[-1][1:] if samples else (0.0, 0.0)
    last = samples[-1][0] if samples else 0.0
    if last - (edge - args.slice) > 0.05:  # the last, shorter slice: the run's tail
        span = last - (edge - args.slice)
        print(f"{edge - args.slice:6.1f}-{last:5.1f} s  command {(own - before[0]) / span:4.2f} cores  "
              f"children {(children - before[1]) / span:4.2f} cores")
    print(f"wall {wall:.2f} s, exit {proc.returncode}; CPU seen: command {own:.1f} s, children {children:.1f} s")
    points = [(0.0, 0.0, 0.0)] + samples  # (seconds, command CPU, descendants' CPU), cumulative
    working = [i for i in range(1, len(points)) if points[i][2] > points[i - 1][2]]
    if working:
        (t0, o0, c0), (t1, o1, c1) = points[working[0] - 1], points[working[-1]]
        cores = len(os.sched_getaffinity(0))
        print(f"compute phase (descendants working) {t0:.2f}-{t1:.2f} s: the tree used "
              f"{(o1 + c1 - o0 - c0) / (t1 - t0) / cores * 100:.1f}% of {cores} cores")
        # The same span seen from the machine: its cores' idle time is what the run left
        # unused (what the tree did not use is idle, the sampler, other work, or steal).
        (i0, s0, a0), (i1, s1, a1) = machines[working[0] - 1], machines[working[-1]]
        if a1 > a0 and cores == os.cpu_count():
            print(f"  the machine's {cores} cores over that span: {(i1 - i0) / (a1 - a0) * 100:.1f}% idle, "
                  f"{(s1 - s0) / (a1 - a0) * 100:.1f}% stolen by the hypervisor; busy "
                  f"{(1 - (i1 - i0) / (a1 - a0)) * 100:.1f}%")
    mine = resource.getrusage(resource.RUSAGE_SELF)
    print(f"the sampler itself: {mine.ru_utime + mine.ru_stime:.2f} CPU-s ({(mine.ru_utime + mine.ru_stime) / wall * 100:.1f}% of a core)")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
