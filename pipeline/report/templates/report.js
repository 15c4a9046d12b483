// webrefine report: what-if sliders (recomputed from the embedded histograms) and sample toggles.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("wr-data").textContent);
  function fmt(n) { return Number(n).toLocaleString("en-US"); }
  function pct(x) { return (100 * x).toFixed(x >= 0.001 || x === 0 ? 1 : 2) + "%"; }
  function fails(r, v, t) {
    if (r.zero_exempt && v === 0) { return false; }
    if (r.direction === "min") { return v < t; }
    if (r.direction === "min_le") { return v <= t; }
    if (r.direction === "max") { return v > t; }
    return v >= t;
  }
  function removed(r, counts, t) {
    var s = 0;
    for (var i = 0; i < r.values.length; i++) { if (fails(r, r.values[i], t)) { s += counts[i]; } }
    return s;
  }
  function nice(v) { return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4))); }
  document.querySelectorAll(".whatif").forEach(function (card) {
    var r = data.rules[card.dataset.key];
    if (!r) { return; }
    var cands = Array.from(new Set(r.values.concat([r.threshold]))).sort(function (a, b) { return a - b; });
    var i0 = cands.indexOf(r.threshold);
    var slider = card.querySelector("input[type=range]");
    var out = card.querySelector(".readout");
    var probe = card.querySelector("line.probe");
    slider.min = 0; slider.max = cands.length - 1; slider.step = 1; slider.value = i0;
    function update() {
      var t = cands[Number(slider.value)];
      var d = removed(r, r.docs, t);
      var text = (Number(slider.value) === i0 ? "configured " : "what-if ") + r.op + " " + nice(t) +
        ": removes <b>" + fmt(d) + "</b> documents (" + pct(r.total_docs ? d / r.total_docs : 0) + ")";
      out.dataset.threshold = t; out.dataset.docs = d; out.dataset.js = "1";
      if (r.chars.length) {
        var c = removed(r, r.chars, t);
        out.dataset.chars = c;
        text += " · <b>" + fmt(c) + "</b> chars (" + pct(r.total_chars ? c / r.total_chars : 0) + ")";
      }
      out.innerHTML = text;
      var f = r.log ? Math.log10(1 + Math.max(t, 0)) : t;
      var x = r.geom.left + (f - r.geom.f0) / (r.geom.f1 - r.geom.f0) * r.geom.pw;
      probe.setAttribute("x1", x.toFixed(1)); probe.setAttribute("x2", x.toFixed(1));
      card.classList.toggle("moved", Number(slider.value) !== i0);
    }
    slider.addEventListener("input", update);
    card.querySelector("button.reset").addEventListener("click", function () { slider.value = i0; update(); });
    update();
  });
  document.querySelectorAll("button[data-toggle]").forEach(function (btn) {
    btn.addEventListener("click", function () {
      var open = btn.dataset.open !== "1";
      document.querySelectorAll(btn.dataset.toggle).forEach(function (d) { d.open = open; });
      btn.dataset.open = open ? "1" : "0";
      btn.textContent = open ? "Collapse all" : "Expand all";
    });
  });
  document.documentElement.dataset.ready = "1";
})();
