// The console's live parts, dependency-free: the Sample Payload panel (re-rendered from the engine's
// preview on every change), the Exclude Attributes chips, tabs, the Test tab and the journal tail.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const $ = (sel) => document.querySelector(sel);
  const post = (url, body, json) => fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: Object.assign({"X-CSRF-Token": csrf}, json ? {"Content-Type": "application/json"} : {}),
    body: json ? JSON.stringify(body) : body,
  }).then((r) => r.json());
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };

  const form = $("#dest-form");
  if (form) {
    let timer = null, seq = 0;
    const refresh = () => { clearTimeout(timer); timer = setTimeout(preview, 200); };
    const samples = $("#samples");
    function preview() {
      const mine = ++seq;
      samples.setAttribute("aria-busy", "true");
      post("/api/preview", new URLSearchParams(new FormData(form))).then((data) => {
        if (mine !== seq) return;
        samples.replaceChildren();
        samples.removeAttribute("aria-busy");
        if (data.error) { samples.append(el("p", "error", data.error)); samples.dataset.state = "error"; return; }
        (data.requests || []).forEach((r, i) => {
          const head = el("div", "hint", `request ${i + 1}: ${r.records} record(s), source line(s) ${r.lines.join(", ")}${r.note ? " — " + r.note : ""}`);
          const headers = Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`).join("\n");
          const pre = el("pre", "sample", `${r.method} ${r.url}\n${headers}\n\n${r.body}`);
          pre.addEventListener("click", () => pre.classList.toggle("open"));
          samples.append(head, pre);
        });
        (data.rejected || []).forEach((x) => samples.append(el("p", "error", `line ${x.line} would be rejected: ${x.problems.join("; ")}`)));
        if (!(data.requests || []).length && !(data.rejected || []).length) samples.append(el("p", "hint", "No request to show: the source has no valid record."));
        const kept = data.responses || {};
        if (kept.enabled) samples.append(el("p", "hint responses-note", `each response kept in ${name()}.responses: status, body and header(s) ${(kept.headers || []).join(", ") || "(none)"}${kept.webhook_url ? ", forwarded to " + kept.webhook_url : ""}`));
        setAttributes(data.attributes || []);
        samples.dataset.state = "ready";
        samples.dataset.seq = String(mine);
      }).catch((e) => { samples.replaceChildren(el("p", "error", "preview failed: " + e)); });
    }
    const name = () => ($("#name").value || "preview").trim();
    function setAttributes(names) {
      const add = $("#exclude-add"), list = $("#attributes");
      const chosen = new Set([...document.querySelectorAll("#chips .chip")].map((c) => c.dataset.value));
      add.replaceChildren(el("option", "", "add an attribute…"));
      add.firstChild.value = "";
      list.replaceChildren();
      names.forEach((n) => { if (!chosen.has(n)) { const o = el("option", "", n); o.value = n; add.append(o); } const d = el("option"); d.value = n; list.append(d); });
    }
    function chip(name) {
      const c = el("span", "chip", name); c.dataset.value = name;
      const hidden = el("input"); hidden.type = "hidden"; hidden.name = "exclude"; hidden.value = name;
      const x = el("button", "chip-x", "×"); x.type = "button"; x.setAttribute("aria-label", "remove " + name);
      c.append(hidden, x); return c;
    }
    $("#exclude-add").addEventListener("change", (e) => { const v = e.target.value; if (v) { $("#chips").append(chip(v)); refresh(); } });
    $("#chips").addEventListener("click", (e) => { if (e.target.classList.contains("chip-x")) { e.target.parentElement.remove(); refresh(); } });
    document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => {
      document.querySelectorAll(".tab").forEach((o) => o.classList.toggle("on", o === t));
      $("#mode").value = t.dataset.mode;
      $("#template-panel").hidden = t.dataset.mode !== "template";
      $("#manual-panel").hidden = t.dataset.mode === "template";
      refresh();
    }));
    const grouping = () => {
      const g = $("#grouping").value;
      document.querySelectorAll(".by_attribute").forEach((x) => { x.hidden = g !== "by_attribute"; });
      document.querySelectorAll(".max_bytes").forEach((x) => { x.hidden = g !== "max_bytes"; });
    };
    $("#batching").addEventListener("change", () => { $("#batching-panel").hidden = !$("#batching").checked; });
    $("#grouping").addEventListener("change", grouping);
    grouping();
    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    preview();

    document.querySelectorAll(".ptab").forEach((t) => t.addEventListener("click", () => {
      document.querySelectorAll(".ptab").forEach((o) => { o.classList.toggle("on", o === t); $("#" + o.dataset.panel).hidden = o !== t; });
      if (t.dataset.panel === "test-panel") loadSample();
    }));
    const payload = $("#test-payload"), send = $("#send-test");
    let original = "";
    // a saved destination tests its saved settings; before Done, the form's current ones (nothing saved)
    const saved = () => send.dataset.name;
    const withForm = (extra) => { const f = new URLSearchParams(new FormData(form)); Object.entries(extra).forEach(([k, v]) => f.set(k, v)); return f; };
    function loadSample(force) {
      if (!send || (payload.dataset.loaded && !force)) return;
      $("#test-result").dataset.state = "loading";
      const got = saved()
        ? fetch(`/api/destinations/${saved()}/sample`, {credentials: "same-origin"}).then((r) => r.json())
        : post("/api/sample", withForm({}));
      got.then((d) => {
        if (d.error) { $("#test-result").textContent = d.error; $("#test-result").dataset.state = "error"; return; }
        original = JSON.stringify(d.sample, null, 2); payload.value = original; payload.dataset.loaded = "1";
        $("#test-result").textContent = ""; $("#test-result").dataset.state = "loaded";
      });
    }
    if (send) {
      $("#load-sample").addEventListener("click", () => loadSample(true));
      send.addEventListener("click", () => {
        $("#test-result").textContent = "sending…";
        $("#test-result").dataset.state = "sending";
        const sent = saved()
          ? post(`/api/destinations/${saved()}/test`, {payload: payload.value, original: original}, true)
          : post("/api/test", withForm({test_payload: payload.value, test_original: original}));
        sent.then((d) => {
          $("#test-result").textContent = d.error ? d.error : JSON.stringify(d, null, 2);
          $("#test-result").dataset.state = d.error ? "error" : "done";
        });
      });
    }
  }

  // Pull now: the pull runs in the background; poll its job until done, then refresh the row counts.
  const progress = $("#pull-progress");
  if (progress && progress.dataset.state === "running") {
    const tick = () => fetch(`/api/pulls/${progress.dataset.job}`, {credentials: "same-origin"}).then((r) => r.json()).then((d) => {
      if (d.error && !d.state) { progress.textContent = d.error; progress.dataset.state = "failed"; return; }
      progress.textContent = d.line;
      progress.dataset.records = String(d.records);
      if (d.state === "running") { setTimeout(tick, 300); return; }
      progress.classList.add(d.state === "done" ? "message" : "error");
      fetch(location.pathname + location.search, {credentials: "same-origin"}).then((r) => r.text()).then((html) => {
        const fresh = new DOMParser().parseFromString(html, "text/html").querySelector("#streams");
        if (fresh) $("#streams").replaceWith(fresh);
        progress.dataset.state = d.state;  // set last: the row counts on the page are the new ones
      });
    }).catch((e) => { progress.textContent = "progress unavailable: " + e; setTimeout(tick, 1000); });
    tick();
  }

  const journal = $("#journal");
  if (journal && journal.dataset.live) setInterval(() => {
    fetch("/api/sandbox/journal", {credentials: "same-origin"}).then((r) => r.json()).then((d) => {
      if (d.entries) journal.textContent = d.entries.map((e) => `${e.status ?? ""} ${e.method ?? ""} ${e.api ?? ""} ${e.path ?? e.url ?? ""}`).join("\n");
    });
  }, 1500);
})();
