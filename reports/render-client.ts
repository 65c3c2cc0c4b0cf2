// The page's script, inlined as text (plain ES2020, no modules: it must run from file:// and
// from a CI artifact with nothing else around). It reads the facts embedded by
// render-data.ts and does three things: filters (search, verdict, kernel, arch, variant,
// family; state in the URL hash as #?q=..&v=..), folds the heatmap's testcase groups, and
// shows a clicked cell's detail. Everything it writes into the page goes through textContent
// or attributes, never innerHTML, so kernel text cannot become markup.
export const CLIENT_JS = String.raw`
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("cowlab-data").textContent);
  var cases = data.cases, jobs = data.jobs;
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  var KEYS = ["q", "v", "k", "a", "var", "f"];
  var state = { q: "", v: null, k: "", a: "", var: "", f: "" };

  function el(tag, attrs) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "text") e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) if (arguments[i] != null) e.appendChild(typeof arguments[i] === "string" ? document.createTextNode(arguments[i]) : arguments[i]);
    return e;
  }
  function badge(label, text) { return el("span", { "class": "badge v-" + label, text: text || label }); }

  // ---- state <-> URL hash (#?q=...&v=fail,crash&k=6.12) ----
  function readHash() {
    var h = location.hash;
    if (h.indexOf("#?") !== 0) return false;
    var p = new URLSearchParams(h.slice(2));
    state = { q: p.get("q") || "", v: p.has("v") ? p.get("v").split(",").filter(Boolean) : null, k: p.get("k") || "", a: p.get("a") || "", var: p.get("var") || "", f: p.get("f") || "" };
    return true;
  }
  function writeHash() {
    var p = new URLSearchParams();
    KEYS.forEach(function (k) {
      if (k === "v") { if (state.v) p.set("v", state.v.join(",")); }
      else if (state[k]) p.set(k, state[k]);
    });
    var s = p.toString();
    history.replaceState(null, "", s ? "#?" + s : location.pathname + location.search);
  }
  function syncControls() {
    $("#f-q").value = state.q;
    ["k", "a", "var", "f"].forEach(function (k) { var s = $("#f-" + k); if (s) s.value = state[k]; });
    $$("#f-v input").forEach(function (c) { c.checked = !state.v || state.v.indexOf(c.value) >= 0; });
  }

  // ---- matching ----
  function jobVisible(j) {
    var job = jobs[j];
    if (!job) return true;
    return (!state.k || job.kernel === state.k) && (!state.a || job.arch === state.a) && (!state.var || job.variant === state.var);
  }
  function matches(i) {
    var c = cases[i];
    if (!c || !jobVisible(c.j)) return false;
    if (state.f && c.f !== state.f) return false;
    if (state.v && state.v.indexOf(c.v) < 0) return false;
    if (state.q) {
      var q = state.q.toLowerCase();
      var hay = (jobs[c.j] ? jobs[c.j].job : "") + " " + c.t + "/" + c.c + " " + c.r + " " + (c.x || "");
      if (hay.toLowerCase().indexOf(q) < 0) return false;
    }
    return true;
  }

  function apply() {
    var shown = 0, total = 0;
    var visibleJobs = jobs.map(function (_, j) { return jobVisible(j); });
    $$("#heatmap [data-j]").forEach(function (e) { e.hidden = !visibleJobs[+e.getAttribute("data-j")]; });
    $$("#heatmap tbody.grp").forEach(function (g) {
      var rows = 0;
      $$("tr.row", g).forEach(function (tr) {
        var any = false;
        $$("td.c[data-i]", tr).forEach(function (td) {
          var m = matches(+td.getAttribute("data-i"));
          td.classList.toggle("dim", !m);
          if (m) any = true;
        });
        tr.hidden = !any;
        total++;
        if (any) { rows++; shown++; }
      });
      g.hidden = rows === 0;
      var gm = $(".gm", g);
      var all = $$("tr.row", g).length;
      gm.textContent = rows === all ? all + (all === 1 ? " case" : " cases") : rows + " of " + all + " cases match";
    });
    $$("[data-fi]").forEach(function (e) { e.hidden = !matches(+e.getAttribute("data-fi")); });
    var s = $("#shown");
    if (s) s.textContent = "(" + shown + " of " + total + " rows)";
  }

  function update() { writeHash(); apply(); }

  // ---- the detail panel of one result ----
  function link(href, text) { return el("a", { href: href, text: text }); }
  function showDetail(i) {
    var c = cases[i], p = $("#detail");
    if (!c) return;
    $$("td.c.sel").forEach(function (e) { e.classList.remove("sel"); });
    var cell = $('#heatmap td.c[data-i="' + i + '"]');
    if (cell) cell.classList.add("sel");
    var body = $("#detail-body");
    body.textContent = "";
    var job = jobs[c.j] ? jobs[c.j].job : "";
    body.appendChild(el("h3", null, badge(c.v), " " + job + " · " + c.t + " / " + c.c));
    var facts = [c.ms == null ? "no duration" : "median " + c.ms + " ms", (c.a ? c.a.length : 1) + " attempt(s)", "family " + c.f];
    body.appendChild(el("p", { "class": "meta", text: facts.join(" · ") }));
    if (c.r) body.appendChild(el("pre", { "class": "reason", text: c.r }));
    if (c.x) body.appendChild(el("p", null, el("b", { text: "known issue: " }), c.x));
    var links = el("p", { "class": "links" });
    if (c.h) links.appendChild(link(c.h, "console line"));
    if (c.b) { if (links.childNodes.length) links.appendChild(document.createTextNode(" · ")); links.appendChild(link(c.b, "replay bundle")); }
    if (links.childNodes.length) body.appendChild(links);
    if (c.bc) body.appendChild(el("p", null, "make its replay bundle: ", el("code", { "class": "cmd", text: c.bc })));
    if (c.a) {
      var t = el("table", { "class": "tbl attempts" }, el("tr", null, el("th", { text: "#" }), el("th", { text: "status" }), el("th", { text: "ms" }), el("th", { text: "guest" }), el("th", { text: "reason" }), el("th", { text: "console" })));
      c.a.forEach(function (a, n) {
        t.appendChild(el("tr", null, el("td", { text: String(n + 1) }), el("td", null, badge(a.v)), el("td", { "class": "num", text: a.ms == null ? "–" : String(a.ms) }), el("td", { text: String(a.g) }),
          el("td", { text: (a.k ? "kernel: " + a.k + "\n" : "") + a.r }), el("td", null, a.h ? link(a.h, a.k ? "report" : "line") : null)));
      });
      body.appendChild(t);
    }
    if (c.o) body.appendChild(el("pre", { "class": "obs", text: c.o.join("\n") }));
    p.hidden = false;
    p.setAttribute("data-i", String(i));
  }

  // ---- wiring ----
  var timer;
  $("#f-q").addEventListener("input", function (e) { clearTimeout(timer); timer = setTimeout(function () { state.q = e.target.value.trim(); update(); }, 120); });
  ["k", "a", "var", "f"].forEach(function (k) { var s = $("#f-" + k); if (s) s.addEventListener("change", function () { state[k] = s.value; update(); }); });
  $$("#f-v input").forEach(function (c) {
    c.addEventListener("change", function () {
      var on = $$("#f-v input").filter(function (x) { return x.checked; }).map(function (x) { return x.value; });
      state.v = on.length === $$("#f-v input").length ? null : on;
      update();
    });
  });
  $("#f-reset").addEventListener("click", function () { state = { q: "", v: null, k: "", a: "", var: "", f: "" }; syncControls(); update(); });
  $$("button.vchip").forEach(function (b) {
    b.addEventListener("click", function () { state.v = [b.getAttribute("data-only")]; syncControls(); update(); document.getElementById("matrix").scrollIntoView(); });
  });
  $$("button.tog").forEach(function (b) {
    b.addEventListener("click", function () {
      var g = b.closest("tbody");
      g.classList.toggle("closed");
      b.setAttribute("aria-expanded", String(!g.classList.contains("closed")));
    });
  });
  $("#heatmap").addEventListener("click", function (e) {
    var td = e.target.closest("td.c[data-i]");
    if (td) showDetail(+td.getAttribute("data-i"));
  });
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-open]");
    if (b) { e.preventDefault(); showDetail(+b.getAttribute("data-open")); }
  });
  $("#detail .close").addEventListener("click", function () { $("#detail").hidden = true; $$("td.c.sel").forEach(function (e) { e.classList.remove("sel"); }); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") $("#detail").hidden = true; });
  // Section links scroll without replacing the hash, so a filtered view keeps its state.
  $$("nav.sections a").forEach(function (a) {
    a.addEventListener("click", function (e) {
      var t = document.getElementById(a.getAttribute("href").slice(1));
      if (t) { e.preventDefault(); t.scrollIntoView(); }
    });
  });
  window.addEventListener("hashchange", function () { if (readHash()) { syncControls(); apply(); } });

  readHash();
  syncControls();
  apply();
  document.body.setAttribute("data-ready", "1");
})();
`;
