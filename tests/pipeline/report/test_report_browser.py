"""report.html of a real run, opened in headless Chromium: the numbers it shows are stats.json's.

Needs Debian's ``chromium`` (/usr/bin/chromium; .ci/run installs it). Without it this test
fails in CI (CI=true), on purpose: a report nobody opened in a browser is not tested. On a
developer's machine without chromium it is skipped with that reason, so the README's test
command passes on a fresh machine. The screenshot is kept
under the pytest tmp dir and copied to $WEBREFINE_ARTIFACTS when that is set.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from webrefine.pipeline.report import whatif
from webrefine.pipeline.cli import EXIT_OK, main

CHROMIUM = os.environ.get("WEBREFINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        message = (f"Chromium not found at {CHROMIUM}: install Debian's chromium (apt-get install -y chromium; "
                   ".ci/run does) or set WEBREFINE_CHROMIUM. The report must be checked in a real browser.")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=90, check=True)


class Elements(HTMLParser):
    """Every element's attributes and its text (elements with a data-* attribute or class)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict] = []
        self.open: list[dict] = []

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, **{k: v or "" for k, v in attrs}, "text": ""}
        self.found.append(el)
        if tag not in ("br", "input", "meta", "line", "rect", "polyline", "hr", "img"):
            self.open.append(el)

    def handle_endtag(self, tag):
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i]["tag"] == tag:
                del self.open[i:]
                break

    def handle_data(self, data):
        for el in self.open:
            el["text"] += data

    def all(self, **match) -> list[dict]:
        return [e for e in self.found if all(e.get(k) == v for k, v in match.items())]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    assert main(["run", "--output", str(out), "--no-progress"]) == EXIT_OK  # bundled sample, refinedweb
    return out, json.loads((out / "stats.json").read_text())


@pytest.fixture(scope="module")
def dom(run, tmp_path_factory):
    out, _ = run
    page = chromium(tmp_path_factory.mktemp("dom"), "--dump-dom", (out / "report.html").as_uri())
    parsed = Elements()
    parsed.feed(page.stdout)
    return parsed


def test_every_run_writes_its_report(run):
    out, stats = run
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and stats["config_hash"] in page


def test_script_ran(dom):
    assert dom.all(tag="html")[0].get("data-ready") == "1"


def test_stage_counts_in_the_browser_equal_stats_json(run, dom):
    _, stats = run
    for st in stats["stages"]:
        row = dom.all(tag="tr", **{"data-stage": st["name"], "class": "stage"})
        assert len(row) == 1, st["name"]
        dropped = sum(st["dropped"].values())
        assert (row[0]["data-in"], row[0]["data-out"], row[0]["data-dropped"]) == \
               (str(st["in"]), str(st["out"]), str(dropped)), st["name"]
        cells = [e["text"] for e in _children(dom, row[0]) if e.get("class", "").startswith("n c-")]
        assert cells == [f"{st['in']:,}", f"{st['out']:,}", f"{dropped:,}"], st["name"]
        for reason, n in st["dropped"].items():
            rrow = dom.all(tag="tr", **{"data-reason": reason, "class": "reason"})
            assert len(rrow) == 1 and rrow[0]["data-count"] == str(n), reason
            assert f"{n:,}" in rrow[0]["text"] and reason in rrow[0]["text"]
    kept = [e for e in dom.found if e.get("data-card") == "kept"][0]
    assert f"{stats['output']['documents']:,}" in kept["text"]


def _children(dom: Elements, parent: dict) -> list[dict]:
    i = next(j for j, el in enumerate(dom.found) if el is parent)
    out = []
    for el in dom.found[i + 1:]:
        if el["tag"] == "tr":
            break
        out.append(el)
    return out


def test_whatif_readouts_computed_in_the_browser_equal_python(run, dom):
    _, stats = run
    readouts = [e for e in dom.found if e.get("class") == "readout"]
    cards = [e for e in dom.found if "whatif" in e.get("class", "").split()]
    assert cards and len(readouts) == len(cards)
    for card, readout in zip(cards, readouts):
        rule = next(r for r in whatif.rules_for(card["data-stage"]) if r.key == card["data-key"])
        w = whatif.curve(stats, rule, whatif.stage_params(stats, rule.stage))
        assert readout.get("data-js") == "1", rule.key
        assert int(readout["data-docs"]) == w["removed_docs"] == int(card["data-removed-docs"]), rule.key
        assert int(readout["data-chars"]) == w["removed_chars"], rule.key
        assert f"{w['removed_docs']:,}" in readout["text"]


def test_samples_are_shown_per_reason(run, dom):
    _, stats = run
    for name, items in stats["samples"].items():
        block = dom.all(tag="details", **{"data-sample": name})
        assert len(block) == 1 and block[0]["data-shown"] == str(len(items)), name
    assert len([e for e in dom.found if e["tag"] == "div" and e.get("class") == "doc"]) == \
           sum(len(v) for v in stats["samples"].values())


def test_screenshot(run, tmp_path_factory):
    out, _ = run
    tmp = tmp_path_factory.mktemp("shot")
    png = tmp / "report.png"
    chromium(tmp, f"--screenshot={png}", "--window-size=1400,2000", (out / "report.html").as_uri())
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    artifacts = os.environ.get("WEBREFINE_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(png, os.path.join(artifacts, "report.png"))
