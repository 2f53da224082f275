// camstream status page: every camera's state and figures, and a chart of
// its last five minutes (source fps, viewers on this edge, capture→viewer
// latency), refreshed every second from /api/status. Charts by uPlot.
"use strict";

(function () {
  const main = document.querySelector("main");
  if (!main || !main.dataset.api) return;
  const api = main.dataset.api;
  const list = document.querySelector("[data-cameras]");
  const captures = document.querySelector("[data-captures]");
  const edge = document.querySelector("[data-field=edge]");
  const fg = getComputedStyle(document.body).color;
  const DOWN = new Set(["reconnecting", "failed", "offline"]);
  const cards = new Map();

  const el = (tag, props, ...kids) => {
    const e = document.createElement(tag);
    Object.assign(e, props || {});
    for (const k of kids) e.append(k);
    return e;
  };

  const fixed = (v, d) => (v === null || v === undefined ? "–" : v.toFixed(d));
  function rate(b) {
    if (b === null || b === undefined) return "–";
    if (b >= 1e6) return (b / 1e6).toFixed(1) + " MB/s";
    if (b >= 1e3) return (b / 1e3).toFixed(0) + " kB/s";
    return b.toFixed(0) + " B/s";
  }

  // subStream is a camera's sub_source stream: state, size and error.
  function subStream(c) {
    const s = c.sub_stream;
    if (!s) return "none";
    let t = s.state + (s.width ? " " + s.width + "×" + s.height : "");
    if (s.last_error && s.state !== "streaming" && s.state !== "idle") t += ": " + s.last_error;
    return t;
  }

  const FIGURES = [
    ["fps", "source fps", (c) => (c.state === "streaming" ? fixed(c.fps, 1) : "–")],
    ["viewers", "viewers here", (c) => fixed(c.viewers, 0)],
    ["bytes", "sent", (c) => rate(c.bytes_per_second)],
    ["p50", "latency p50", (c) => (c.latency_p50_ms === null ? "–" : fixed(c.latency_p50_ms, 1) + " ms")],
    ["p99", "latency p99", (c) => (c.latency_p99_ms === null ? "–" : fixed(c.latency_p99_ms, 1) + " ms")],
    ["reconnects", "reconnects", (c) => String(c.reconnects)],
    ["size", "size", (c) => (c.width ? c.width + "×" + c.height + (c.passthrough ? " passthrough" : "") : "–")],
    ["sizes", "smaller sizes", (c) => (c.sizes && c.sizes.length ? c.sizes.map((z) => z.width + " px (" + z.subscribers + ")").join(", ") : "none")],
    ["sub", "sub-stream", subStream],
  ];

  function chartOptions(width) {
    const axis = { stroke: fg, grid: { stroke: "rgba(128,128,128,.2)" }, ticks: { stroke: "rgba(128,128,128,.3)" } };
    return {
      width: width,
      height: 180,
      legend: { live: false },
      scales: {
        x: { time: true },
        y: { range: (u, min, max) => [0, Math.max(max || 0, 1) * 1.1] },
        ms: { range: (u, min, max) => [0, Math.max(max || 0, 1) * 1.1] },
      },
      series: [
        {},
        { label: "fps", stroke: "#2563eb", width: 2, scale: "y" },
        { label: "viewers", stroke: "#16a34a", width: 2, scale: "y" },
        { label: "p50 ms", stroke: "#d97706", width: 1.5, scale: "ms" },
        { label: "p99 ms", stroke: "#dc2626", width: 1.5, scale: "ms" },
      ],
      axes: [
        Object.assign({}, axis),
        Object.assign({ scale: "y" }, axis),
        Object.assign({ scale: "ms", side: 1, label: "ms" }, axis, { grid: { show: false } }),
      ],
    };
  }

  function seriesOf(cam) {
    const h = cam.history || { t: [], fps: [], viewers: [], latency_p50_ms: [], latency_p99_ms: [] };
    return [h.t, h.fps, h.viewers, h.latency_p50_ms, h.latency_p99_ms];
  }

  function newCard(cam) {
    const state = el("span", { className: "state" });
    const down = el("span", { className: "down-label", textContent: "DOWN", hidden: true });
    const name = el("a", { href: cam.id ? linkTo("/cameras/" + encodeURIComponent(cam.id)) : "#" });
    const figures = el("dl", { className: "figures" });
    const values = {};
    for (const [key, label] of FIGURES) {
      values[key] = el("dd", { textContent: "–" });
      figures.append(el("div", {}, el("dt", { textContent: label }), values[key]));
    }
    const error = el("p", { className: "error", hidden: true });
    const chartBox = el("div", { className: "chart" });
    const li = el("li", { className: "status-card" }, el("h2", {}, name, state, down), figures, error, chartBox);
    li.dataset.camera = cam.id;
    list.append(li);
    const chart = new uPlot(chartOptions(chartBox.clientWidth || 400), seriesOf(cam), chartBox);
    return { li, name, state, down, values, error, chartBox, chart };
  }

  // linkTo puts a path under the edge's base path (the API's address
  // shows it) and carries the page's token (if any) on to it.
  function linkTo(path) {
    const u = new URL(api, location.href);
    const base = u.pathname.replace(/\/api\/status$/, "");
    const token = u.searchParams.get("token");
    return base + path + (token ? "?token=" + encodeURIComponent(token) : "");
  }

  function update(card, cam) {
    card.name.textContent = cam.name || cam.id;
    card.state.className = "state " + cam.state;
    card.state.textContent = cam.state;
    const isDown = DOWN.has(cam.state);
    card.li.classList.toggle("down", isDown);
    card.li.dataset.state = cam.state;
    card.down.hidden = !isDown;
    for (const [key, , value] of FIGURES) card.values[key].textContent = value(cam);
    card.values.sub.parentElement.hidden = !cam.sub_stream; // only cameras with a sub_source
    card.error.hidden = !cam.last_error;
    card.error.textContent = cam.last_error || "";
    card.chart.setData(seriesOf(cam));
  }

  function render(st) {
    const max = st.edge.max_viewers ? " of at most " + st.edge.max_viewers : "";
    edge.textContent = "This edge: " + st.edge.viewers + " open streams" + max + ", updated " + new Date(st.time).toLocaleTimeString() + ".";
    captures.replaceChildren(
      ...st.captures.map((c) =>
        el("tr", {}, el("td", { textContent: c.address }), el("td", {}, el("span", { className: "state " + (c.state === "up" ? "streaming" : "failed"), textContent: c.state })), el("td", { textContent: String(c.cameras) })),
      ),
    );
    const seen = new Set();
    for (const cam of st.cameras) {
      seen.add(cam.id);
      let card = cards.get(cam.id);
      if (!card) {
        card = newCard(cam);
        cards.set(cam.id, card);
      }
      update(card, cam);
    }
    for (const [id, card] of cards) {
      if (!seen.has(id)) {
        card.chart.destroy();
        card.li.remove();
        cards.delete(id);
      }
    }
  }

  async function poll() {
    for (;;) {
      try {
        const r = await fetch(api, { cache: "no-store" });
        if (r.ok) render(await r.json());
        else edge.textContent = "This edge answers " + r.status + " for its status.";
      } catch (e) {
        edge.textContent = "This edge does not answer.";
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const card of cards.values()) card.chart.setSize({ width: card.chartBox.clientWidth, height: 180 });
    }, 200);
  });

  poll();
})();
