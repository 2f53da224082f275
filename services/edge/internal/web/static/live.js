// camstream pages: live tiles and camera states.
//
// All live tiles of a page share ONE multiplexed MJPEG stream (the page's
// data-stream URL): browsers open at most six HTTP/1.1 connections per host,
// so one <img> stream per tile would stall beyond six cameras. Each part of
// the stream names its camera in X-Camera-Id; the newest frame of each camera
// is shown, and a tile still decoding a frame skips to the newest one.
"use strict";

(function () {
  const main = document.querySelector("main");
  if (!main) return;

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ---- Live tiles ---------------------------------------------------------

  const tiles = new Map();
  for (const img of document.querySelectorAll("img[data-camera]")) {
    tiles.set(img.dataset.camera, {
      img,
      card: img.closest("[data-card]"),
      rate: document.querySelector(`[data-rate="${CSS.escape(img.dataset.camera)}"]`),
      busy: false,
      pending: null,
      frames: 0,
      last: 0,
    });
  }

  function show(tile, jpeg) {
    tile.frames++;
    tile.last = performance.now();
    if (tile.busy) {
      tile.pending = jpeg;
      return;
    }
    tile.busy = true;
    const url = URL.createObjectURL(new Blob([jpeg], { type: "image/jpeg" }));
    const done = () => {
      URL.revokeObjectURL(url);
      tile.busy = false;
      const next = tile.pending;
      tile.pending = null;
      if (next) show(tile, next);
    };
    tile.img.onload = done;
    tile.img.onerror = done;
    tile.img.src = url;
  }

  const CRLFCRLF = [13, 10, 13, 10];

  function indexOf(buf, pattern, from) {
    outer: for (let i = Math.max(from, 0); i <= buf.length - pattern.length; i++) {
      for (let j = 0; j < pattern.length; j++) {
        if (buf[i + j] !== pattern[j]) continue outer;
      }
      return i;
    }
    return -1;
  }

  // Parts reads multipart/x-mixed-replace parts by their Content-Length.
  class Parts {
    constructor(onPart) {
      this.onPart = onPart;
      this.buf = new Uint8Array(0);
      this.scanned = 0;
      this.headers = null;
      this.decoder = new TextDecoder();
    }

    push(chunk) {
      const buf = new Uint8Array(this.buf.length + chunk.length);
      buf.set(this.buf);
      buf.set(chunk, this.buf.length);
      this.buf = buf;
      for (;;) {
        if (!this.headers) {
          const end = indexOf(this.buf, CRLFCRLF, this.scanned - 3);
          if (end < 0) {
            this.scanned = this.buf.length;
            if (this.buf.length > 65536) throw new Error("part headers too long");
            return;
          }
          this.headers = new Map();
          // The block starts with the boundary line (and the previous
          // part's line break); only "Name: value" lines are headers.
          for (const line of this.decoder.decode(this.buf.subarray(0, end)).split("\r\n")) {
            const colon = line.indexOf(":");
            if (colon > 0) this.headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
          }
          this.buf = this.buf.subarray(end + 4);
          this.scanned = 0;
        }
        const length = parseInt(this.headers.get("content-length"), 10);
        if (!(length >= 0)) throw new Error("part without Content-Length");
        if (this.buf.length < length) return;
        this.onPart(this.headers, this.buf.slice(0, length));
        this.buf = this.buf.subarray(length);
        this.headers = null;
      }
    }
  }

  let controller = null;
  let removed = false; // the camera page's camera was removed: stop streaming

  // ---- Picture sizes ------------------------------------------------------

  // Tiles ask for the ladder width (the sizes capture encodes) that covers
  // the widest tile in device pixels, so a phone's grid pulls small
  // pictures; the camera page shows the full size.
  const LADDER = [160, 320, 480, 640, 960, 1280, 1920];
  let width = 0; // the width the open stream asked for; 0 = full size
  let lastCameras = null; // the cameras of the last poll of their states

  function wantedWidth() {
    if (main.querySelector("article.camera[data-card]")) return 0;
    let css = 0;
    for (const tile of tiles.values()) {
      const box = tile.card || tile.img;
      css = Math.max(css, box.getBoundingClientRect().width);
    }
    if (!css) return 0;
    const px = css * (window.devicePixelRatio || 1);
    return LADDER.find((w) => w >= px) || 0;
  }

  function sizedURL(url) {
    width = wantedWidth();
    if (lastCameras) showStates(lastCameras); // the tiles' source may change with the width
    if (!width) return url;
    return `${url}${url.includes("?") ? "&" : "?"}width=${width}`;
  }

  // A resize that changes the width needed opens the stream again at it.
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => {
      if (controller && wantedWidth() !== width) controller.abort();
    }, 300);
  });

  async function streamOnce(url) {
    controller = new AbortController();
    const resp = await fetch(url, { cache: "no-store", signal: controller.signal });
    if (!resp.ok) throw Object.assign(new Error(`HTTP ${resp.status}`), { status: resp.status });
    const parts = new Parts((headers, jpeg) => {
      const tile = tiles.get(headers.get("x-camera-id"));
      if (tile) show(tile, jpeg);
    });
    const reader = resp.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      parts.push(value);
    }
  }

  async function streamForever(url) {
    let delay = 500;
    while (!removed) {
      if (document.hidden) {
        await new Promise((resolve) => document.addEventListener("visibilitychange", resolve, { once: true }));
        continue;
      }
      const started = performance.now();
      try {
        await streamOnce(sizedURL(url));
      } catch (err) {
        if (err.status === 401 || err.status === 404) return; // reloading the page is the fix
      }
      if (performance.now() - started > 10000) delay = 500;
      await sleep(delay);
      delay = Math.min(delay * 2, 10000);
    }
  }

  if (main.dataset.stream && tiles.size > 0 && window.fetch && window.ReadableStream) {
    // Hidden tabs stop streaming and start again when shown.
    document.addEventListener("visibilitychange", () => {
      if (document.hidden && controller) controller.abort();
    });
    streamForever(main.dataset.stream);
    setInterval(() => {
      const now = performance.now();
      for (const tile of tiles.values()) {
        tile.card?.classList.toggle("stale", now - tile.last > 3000);
        if (tile.rate) tile.rate.textContent = tile.frames ? `${tile.frames} fps` : "";
        tile.frames = 0;
      }
    }, 1000);
  }

  // ---- Camera states ------------------------------------------------------

  function stateName(state) {
    const name = String(state || "").replace("CAMERA_STATE_", "").toLowerCase();
    return !name || name === "unspecified" ? "offline" : name;
  }

  // subText is pages.go's subText: the sub-stream's state and size.
  function subText(sub) {
    if (!sub) return "";
    const size = sub.width ? ` ${sub.width}×${sub.height}` : "";
    return `sub-stream ${stateName(sub.state)}${size}`;
  }

  // tileState is the state of the picture this page's tiles show of cam,
  // and a title saying where it comes from. Tiles at a width the
  // sub-stream makes (capture makes it from the sub-stream while that
  // streams, or is starting to) show the sub-stream's state when the main
  // stream does not stream: an on-demand camera watched only in small
  // tiles keeps its main stream idle while its picture moves. Otherwise,
  // and on the camera page (full size), the main stream's state.
  function tileState(cam) {
    const main = stateName(cam.state);
    const sub = cam.subStream;
    if (!sub || !width || main === "streaming" || (cam.width && width >= cam.width)) return { state: main, title: main };
    const state = stateName(sub.state);
    const fits = !sub.width || width <= sub.width;
    if (fits && (state === "streaming" || state === "starting")) {
      return { state, title: `${state} (from the ${subText(sub)}; main stream ${main})` };
    }
    return { state: main, title: main };
  }

  function setField(card, field, text, title) {
    const el = card.querySelector(`[data-field="${field}"]`);
    if (!el) return;
    if (field === "state") {
      el.className = `state ${text}`;
      if (el.textContent) el.textContent = text;
      el.title = title || text;
      return;
    }
    el.textContent = text;
    if (field === "error" || field === "sub") el.hidden = !text;
  }

  // Cameras come and go when capture's camera file changes. A list or grid
  // page showing other cameras than the edge lists is rendered again; the
  // camera page of a removed camera says so and stops streaming.
  const single = main.querySelector("article.camera[data-card]");

  function followCameraSet(cameras) {
    const listed = new Set(cameras.map((cam) => cam.id));
    if (single) {
      if (!removed && !listed.has(single.dataset.card)) {
        removed = true;
        if (controller) controller.abort();
        setField(single, "state", "removed");
        setField(single, "fps", "");
        setField(single, "error", "This camera was removed from the camera file.");
        single.classList.add("removed");
      }
      return;
    }
    const shown = [...main.querySelectorAll("[data-card]")].map((el) => el.dataset.card);
    if (shown.length !== listed.size || shown.some((id) => !listed.has(id))) location.reload();
  }

  function showStates(cameras) {
    for (const cam of cameras) {
      const card = document.querySelector(`[data-card="${CSS.escape(cam.id)}"]`);
      if (!card) continue;
      const state = stateName(cam.state);
      const shown = tileState(cam);
      setField(card, "state", shown.state, shown.title);
      setField(card, "fps", state === "streaming" ? `${Number(cam.fps || 0).toFixed(1)} fps` : "");
      setField(card, "size", cam.width ? `${cam.width}×${cam.height}` : "");
      setField(card, "passthrough", cam.passthrough ? "passthrough" : "");
      setField(card, "error", cam.lastError || "");
      setField(card, "sub", subText(cam.subStream));
    }
  }

  // The first poll is at once: the state a tile shows depends on the width
  // it is fed at, which only the page knows. It leaves the camera set alone
  // (the page was just rendered from it), so a page never reloads faster
  // than every poll.
  async function pollStates(url) {
    for (let first = true; ; first = false) {
      if (!first) await sleep(2000);
      if (document.hidden) continue;
      try {
        const resp = await fetch(url, { cache: "no-store" });
        if (!resp.ok) continue;
        const { cameras = [] } = await resp.json();
        if (!first) followCameraSet(cameras);
        if (removed) return;
        lastCameras = cameras;
        showStates(cameras);
      } catch (err) {
        // The edge is restarting; the next poll will tell.
      }
    }
  }

  if (main.dataset.api) pollStates(main.dataset.api);
})();
