// The LANCE audit page: plain JavaScript, no build step, no network beyond this server.
// Every piece of data is written with textContent (never as HTML), so a prompt cannot run code here;
// the page's Content-Security-Policy allows only this file as script anyway.
"use strict";

(() => {
  const KEY_STORE = "lance-audit-key";
  // Works behind a path prefix too: /prefix/ui -> /prefix/v1/...
  const BASE = location.pathname.replace(/\/ui\/?$/, "");
  const SVG = "http://www.w3.org/2000/svg";
  const PALETTE = [
    "#e6794a", "#f2b134", "#d95f9a", "#7b6fd6", "#4a9fe6", "#3bb3a5", "#c9a227", "#e05555",
    "#8e6c4a", "#a05ad6", "#5a8f29", "#d6784a", "#4a6fe6", "#b8528a", "#6a9ab0", "#9e9e2e",
  ];
  const SAFE_COLOUR = "#8fcf93";
  const $ = (id) => document.getElementById(id);

  let categories = []; // [{id, name, directive}] from the server's taxonomy

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  function colourOf(id) {
    if (id === "safe") return SAFE_COLOUR;
    const i = categories.findIndex((c) => c.id === id);
    return PALETTE[(i < 0 ? 0 : i - 1 + PALETTE.length) % PALETTE.length];
  }

  function nameOf(id) {
    const c = categories.find((c) => c.id === id);
    return c && c.id !== "safe" ? `${id} ${c.name}` : id;
  }

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    node.append(...children);
    return node;
  }

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // --- talking to the server -------------------------------------------------------------

  async function api(path, options = {}) {
    const headers = { "Content-Type": "application/json" };
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) headers.Authorization = `Bearer ${key}`;
    const resp = await fetch(BASE + path, { ...options, headers });
    let body = null;
    try {
      body = await resp.json();
    } catch (_) {
      body = null;
    }
    if (resp.status === 401) {
      showAuth(key ? "The server refused this key." : "This server needs an API key to show any data.");
      throw new ApiError(401, "an API key is needed");
    }
    if (!resp.ok) {
      const msg = body && body.error && body.error.message ? body.error.message : resp.statusText;
      throw new ApiError(resp.status, `${resp.status}: ${msg}`);
    }
    $("auth").hidden = true;
    return body;
  }

  function showAuth(message) {
    $("auth").hidden = false;
    $("auth-msg").textContent = message;
    $("recent").tBodies[0].replaceChildren();
    $("recent-note").textContent = "";
  }

  // --- input -----------------------------------------------------------------------------

  /** One turn per line that starts with "user:", "assistant:" or "system:"; other lines continue the turn. */
  function parseConversation(text) {
    const turns = [];
    for (const line of text.split("\n")) {
      const m = /^\s*(user|assistant|system)\s*:\s?(.*)$/i.exec(line);
      if (m) turns.push({ role: m[1].toLowerCase(), content: m[2] });
      else if (turns.length) turns[turns.length - 1].content += `\n${line}`;
      else if (line.trim()) throw new Error("a conversation starts with a line 'user: ...' (or 'assistant:', 'system:')");
    }
    if (!turns.some((t) => t.role === "user" && t.content.trim())) {
      throw new Error("the conversation needs a non-empty 'user:' turn");
    }
    return turns;
  }

  function messagesFromForm() {
    const text = $("prompt").value;
    if (!text.trim()) throw new Error("type a prompt first");
    return $("conversation").checked ? parseConversation(text) : [{ role: "user", content: text }];
  }

  // --- the risk distribution as bars ---------------------------------------------------------

  function renderChart(before, after) {
    const ids = categories.map((c) => c.id).filter((id) => id in before);
    for (const id of Object.keys(before)) if (!ids.includes(id)) ids.push(id);
    const labelW = 250, barW = 520, valueW = 130, rowH = after ? 28 : 21, top = 22;
    const width = labelW + barW + valueW, height = top + ids.length * rowH + 6;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "risk distribution" });
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      const x = labelW + t * barW;
      chart.append(svg("line", { x1: x, x2: x, y1: top - 4, y2: height - 4, stroke: "#e3e6e9" }));
      chart.append(svg("text", { x, y: 13, "text-anchor": "middle", class: "tick" }, t.toFixed(2)));
    }
    ids.forEach((id, i) => {
      const y = top + i * rowH;
      const p = before[id] || 0;
      const row = svg("g", { class: "row", "data-category": id });
      row.append(svg("text", { x: labelW - 8, y: y + 11, "text-anchor": "end", class: "label" }, nameOf(id)));
      const bar = svg("rect", {
        class: "bar before", "data-category": id, x: labelW, y: y + 1, width: Math.max(0, p * barW), height: 12,
        fill: colourOf(id), rx: 2,
      });
      bar.append(svg("title", {}, `${nameOf(id)}: ${p.toFixed(3)}`));
      row.append(bar);
      let value = p.toFixed(3);
      if (after) {
        const pa = after[id] || 0;
        const abar = svg("rect", {
          class: "bar after", "data-category": id, x: labelW, y: y + 14, width: Math.max(0, pa * barW), height: 8,
          fill: colourOf(id), rx: 2,
        });
        abar.append(svg("title", {}, `${nameOf(id)} after the rewrite: ${pa.toFixed(3)}`));
        row.append(abar);
        value += ` → ${pa.toFixed(3)}`;
      }
      row.append(svg("text", { x: labelW + barW + 8, y: y + 11, class: "value" }, value));
      chart.append(row);
    });
    $("chart").replaceChildren(chart);
  }

  // --- the gradient's spans, highlighted -----------------------------------------------------

  /** Highlight ``gradient``'s spans in ``text``; offsets are code points, as Python counts them. */
  function renderHighlight(container, text, gradient) {
    container.replaceChildren();
    const chars = Array.from(text);
    const marks = [];
    if (gradient) {
      for (const cat of gradient.categories) {
        for (const s of cat.spans) marks.push({ start: s.start, end: s.end, score: s.score, cat });
      }
    }
    const cuts = new Set([0, chars.length]);
    for (const m of marks) {
      cuts.add(Math.min(Math.max(m.start, 0), chars.length));
      cuts.add(Math.min(Math.max(m.end, 0), chars.length));
    }
    const points = [...cuts].sort((a, b) => a - b);
    for (let i = 0; i + 1 < points.length; i++) {
      const a = points[i], b = points[i + 1];
      const piece = chars.slice(a, b).join("");
      const cover = marks.filter((m) => m.start <= a && m.end >= b);
      if (!cover.length) {
        container.append(piece);
        continue;
      }
      const mark = el("mark", { tabindex: "0", "data-categories": cover.map((m) => m.cat.id).join(" ") }, piece);
      mark.style.background = colourOf(cover[0].cat.id);
      if (cover.length > 1) mark.style.boxShadow = `inset 0 -4px 0 ${colourOf(cover[1].cat.id)}`;
      mark.dataset.tip = cover
        .map((m) => `${m.cat.id} ${m.cat.name} (span score ${m.score.toFixed(2)})\n${m.cat.directive}`)
        .join("\n\n");
      container.append(mark);
    }
  }

  function renderLegend(gradient) {
    const items = (gradient ? gradient.categories : []).map((c) =>
      el(
        "li",
        { "data-category": c.id },
        el("span", { class: "swatch" }),
        el("b", { text: `${c.id} ${c.name}` }),
        ` — weight ${c.weight.toFixed(2)}; ${c.spans.length} span(s). `,
        el("span", { class: "dim", text: c.directive }),
      ),
    );
    items.forEach((li) => (li.firstChild.style.background = colourOf(li.dataset.category)));
    if (!items.length) items.push(el("li", { class: "dim", text: "No gradient: the prompt was not refined." }));
    $("legend").replaceChildren(...items);
  }

  function showTip(event) {
    const mark = event.target.closest ? event.target.closest("mark[data-tip]") : null;
    const tip = $("tip");
    if (!mark) return;
    tip.textContent = mark.dataset.tip;
    const r = mark.getBoundingClientRect();
    tip.style.left = `${window.scrollX + r.left}px`;
    tip.style.top = `${window.scrollY + r.bottom + 6}px`;
    tip.hidden = false;
  }

  function hideTip(event) {
    if (event.target.closest && event.target.closest("mark[data-tip]")) $("tip").hidden = true;
  }

  // --- the rewrite beside the original: a word diff ------------------------------------------

  /** Word-level diff (longest common subsequence of words). Returns both sides as [text, changed] tokens,
   * whitespace kept as unchanged tokens so each side reads exactly as its text. */
  function wordDiff(a, b) {
    const ta = a.match(/\s+|\S+/g) || [], tb = b.match(/\s+|\S+/g) || [];
    const wa = ta.map((t, i) => [t, i]).filter(([t]) => /\S/.test(t));
    const wb = tb.map((t, i) => [t, i]).filter(([t]) => /\S/.test(t));
    const n = wa.length, m = wb.length;
    const keepA = new Set(), keepB = new Set();
    if (n * m <= 4_000_000) {
      const dp = new Uint32Array((n + 1) * (m + 1));
      const at = (i, j) => i * (m + 1) + j;
      for (let i = n - 1; i >= 0; i--) {
        for (let j = m - 1; j >= 0; j--) {
          dp[at(i, j)] = wa[i][0] === wb[j][0] ? dp[at(i + 1, j + 1)] + 1 : Math.max(dp[at(i + 1, j)], dp[at(i, j + 1)]);
        }
      }
      let i = 0, j = 0;
      while (i < n && j < m) {
        if (wa[i][0] === wb[j][0]) {
          keepA.add(wa[i][1]);
          keepB.add(wb[j][1]);
          i++;
          j++;
        } else if (dp[at(i + 1, j)] >= dp[at(i, j + 1)]) i++;
        else j++;
      }
    }
    const side = (tokens, keep) => tokens.map((t, i) => [t, /\S/.test(t) && !keep.has(i)]);
    return { before: side(ta, keepA), after: side(tb, keepB) };
  }

  function renderDiffSide(container, tokens, tag) {
    container.replaceChildren(...tokens.map(([t, changed]) => (changed ? el(tag, {}, t) : document.createTextNode(t))));
  }

  /** The target answered a rewrite (on the pass route ``refined_prompt`` is the prompt itself). */
  function isRewrite(r) {
    return r.route === "neutralize" && typeof r.refined_prompt === "string";
  }

  function renderRewrite(r) {
    if (isRewrite(r)) {
      const d = wordDiff(r.prompt, r.refined_prompt);
      renderDiffSide($("original"), d.before, "del");
      renderDiffSide($("refined"), d.after, "ins");
    } else {
      $("original").textContent = r.prompt;
      const why = r.route === "refuse" ? "refused: the target was not asked" : "not rewritten: the target got the prompt as is";
      $("refined").replaceChildren(el("span", { class: "dim", text: `(${why})` }));
    }
  }

  // --- facts, calls, answer ------------------------------------------------------------------

  function renderFacts(body) {
    const r = body.result;
    const u = r.usage || {};
    const pairs = [
      ["route", el("span", { class: `route route-${r.route}`, id: "fact-route", text: r.route })],
      ["reason", r.reason || "—"],
      ["LLM calls", el("span", { id: "fact-calls", text: String(r.llm_calls) })],
      ["tokens", el("span", {
        id: "fact-tokens",
        text: `${u.prompt_tokens} prompt + ${u.completion_tokens} completion = ${u.prompt_tokens + u.completion_tokens}`,
      })],
      ["latency", `${r.latency_s.toFixed(2)} s in the pipeline, ${body.latency_s.toFixed(2)} s in the server`],
      ["p(safe)", `${(r.distribution_before.probs.safe || 0).toFixed(3)} before` +
        (r.distribution_after && isRewrite(r) ? `, ${(r.distribution_after.probs.safe || 0).toFixed(3)} after` : "")],
    ];
    if (r.postcheck_refusal) pairs.push(["post-check", "the first answer was a template refusal"]);
    if (r.distribution_before.truncated) pairs.push(["note", "the prompt was cut to the encoder's limit"]);
    if (r.errors && r.errors.length) pairs.push(["errors", r.errors.join("; ")]);
    $("facts").replaceChildren(...pairs.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
  }

  function renderCalls(calls) {
    const fmt = (x) => (typeof x === "number" ? x.toFixed(2) : "");
    $("calls").tBodies[0].replaceChildren(
      ...calls.map((c, i) =>
        el(
          "tr",
          {},
          el("td", { class: "num", text: String(i + 1) }),
          el("td", { text: c.role }),
          el("td", { text: c.model }),
          el("td", { class: "num", text: String(c.prompt_tokens) }),
          el("td", { class: "num", text: String(c.completion_tokens) }),
          el("td", { class: "num", text: `${fmt(c.latency_s)} s` }),
          el("td", { text: c.error || "" }),
        ),
      ),
    );
  }

  function renderResult(body) {
    categories = body.categories;
    const r = body.result;
    $("model").textContent = body.model;
    renderFacts(body);
    const refined = isRewrite(r) && r.distribution_after;
    $("after-note").textContent = refined ? " (thick bars) and of the rewrite the target answered (thin bars)" : "";
    renderChart(r.distribution_before.probs, refined ? r.distribution_after.probs : null);
    const gradient = r.gradients && r.gradients.length ? r.gradients[0] : null;
    renderHighlight($("highlighted"), gradient ? gradient.prompt : r.prompt, gradient);
    renderLegend(gradient);
    renderRewrite(r);
    $("answer").textContent = r.response;
    renderCalls(r.calls || []);
    $("result").hidden = false;
  }

  // --- recent requests -----------------------------------------------------------------------

  async function refreshRecent() {
    const body = await api("/v1/lance/recent?limit=50");
    if (!categories.length) categories = body.categories;
    const cols = ["time", "endpoint", "status", "route", "top", "categories", "risk", "latency", "LLM time", "calls",
      "tokens"];
    if (body.log_prompts) cols.push("prompt");
    $("recent").tHead.rows[0].replaceChildren(...cols.map((c) => el("th", { text: c })));
    const num = (x, d = 2) => (typeof x === "number" ? x.toFixed(d) : "");
    const rows = body.data.map((r) => {
      const cats = el("td", { class: "cats" });
      for (const [id, p] of r.categories) {
        const sw = el("span", { class: "swatch" });
        sw.style.background = colourOf(id);
        cats.append(el("span", { "data-category": id }, sw, `${id} ${p.toFixed(2)} `));
      }
      const cells = [
        el("td", { text: new Date(r.time * 1000).toLocaleTimeString() }),
        el("td", { text: r.endpoint }),
        el("td", { class: "num", text: String(r.status) }),
        el("td", {}, r.route ? el("span", { class: `route route-${r.route}`, text: r.route }) : (r.error || "")),
        el("td", { text: r.top ? `${r.top} ${num(r.top_mass)}` : "" }),
        cats,
        el("td", { class: "num", text: num(r.risk) }),
        el("td", { class: "num", text: `${num(r.latency_s)} s` }),
        el("td", { class: "num", text: r.llm_s === null ? "" : `${num(r.llm_s)} s` }),
        el("td", { class: "num", text: String(r.llm_calls) }),
        el("td", { class: "num", text: String(r.total_tokens) }),
      ];
      if (body.log_prompts) cells.push(el("td", { class: "prompt-cell", text: r.prompt || "" }));
      return el("tr", { "data-route": r.route || "" }, ...cells);
    });
    $("recent").tBodies[0].replaceChildren(...rows);
    $("recent-note").textContent =
      `${body.data.length} shown; the server keeps the last ${body.capacity} requests in memory only. ` +
      (body.log_prompts ? "Prompt text is shown (server.log_prompts is on)." :
        "Prompt text is not kept (server.log_prompts is off).");
  }

  // --- wiring --------------------------------------------------------------------------------

  async function onAudit(event) {
    event.preventDefault();
    const status = $("status");
    status.className = "";
    let messages;
    try {
      messages = messagesFromForm();
    } catch (err) {
      status.className = "error";
      status.textContent = err.message;
      return;
    }
    $("submit").disabled = true;
    status.textContent = "auditing… (the whole pipeline runs on the server)";
    try {
      const body = await api("/v1/lance/audit", { method: "POST", body: JSON.stringify({ messages }) });
      window.LanceAudit.last = body;
      renderResult(body);
      status.textContent = `done: ${body.result.route}`;
      await refreshRecent();
    } catch (err) {
      status.className = "error";
      status.textContent = err.message;
    } finally {
      $("submit").disabled = false;
    }
  }

  function onKey(event) {
    event.preventDefault();
    const key = $("key").value.trim();
    if (key) sessionStorage.setItem(KEY_STORE, key);
    $("key").value = "";
    refreshRecent().catch(() => {});
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("audit-form").addEventListener("submit", onAudit);
    $("key-form").addEventListener("submit", onKey);
    $("forget-key").addEventListener("click", () => {
      sessionStorage.removeItem(KEY_STORE);
      showAuth("Key forgotten.");
    });
    $("refresh").addEventListener("click", () => refreshRecent().catch(() => {}));
    for (const kind of ["mouseover", "focusin"]) $("highlighted").addEventListener(kind, showTip);
    for (const kind of ["mouseout", "focusout"]) $("highlighted").addEventListener(kind, hideTip);
    fetch(`${BASE}/health`).then((r) => r.json()).then((h) => ($("model").textContent = h.model)).catch(() => {});
    refreshRecent().then(() => (window.LanceAudit.ready = true), () => (window.LanceAudit.ready = true));
  });

  window.LanceAudit = { wordDiff, parseConversation, renderHighlight, last: null, ready: false };
})();
