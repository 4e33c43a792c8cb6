// Live decoder: runs a VAE decoder in the browser with ONNX Runtime Web (WebAssembly, 1 thread)
// and redraws the decoded image on every slider / pad move, at most once per animation frame.
// Talks to Streamlit with the plain components-v1 postMessage protocol (no build step).

import { ClassifierPanel } from "./probs.js";

const ORT_URL = new URL("./ort/ort.wasm.bundle.min.mjs", import.meta.url).href;
// The .wasm is committed gzipped: served as application/gzip, Streamlit's gzip middleware leaves it
// alone (it would otherwise re-compress 14 MB on every page load) and the browser inflates it here.
const WASM_GZ_URL = new URL("./ort/ort-wasm-simd-threaded.wasm.gz", import.meta.url).href;
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const PAD = 280;
const IMG = 280;
const MAX_STATS = 20000;

// Benchmarks read these: one entry per decoded frame, times from performance.now().
const STATS = (window.__liveDecoderStats = []);
window.__liveDecoderStatus = "loading";   // "loading" | "ready" | "failed"

const $ = (id) => document.getElementById(id);
const el = {
  status: $("status"), padpanel: $("padpanel"), padwrap: $("padwrap"), scatter: $("scatter"),
  cursor: $("cursor"), padcaption: $("padcaption"), imgpanel: $("imgpanel"), img: $("img"), sliders: $("sliders"),
  strippanel: $("strippanel"), strip: $("strip"), stripcaption: $("stripcaption"),
};
const probs = new ClassifierPanel($("probpanel"), $("probs"), $("probcaption"),
                                  () => requestDecode(performance.now(), "classifier"));
window.__liveDecoderProbabilities = () => probs.last;   // tests: the probabilities shown, or null
// Once the decoder runs (not before: it waits for a quiet page), the classifier of the latest render's args.
function wantClassifier() {
  if (!S.session || !S.lastArgs) return;
  probs.want(S.lastArgs, loadOrt,
             async (url) => new Uint8Array(await (await fetchGzip(url, "the classifier")).arrayBuffer()));
}

// ---------------------------------------------------------------- Streamlit protocol
function post(type, data = {}) {
  window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, "*");
}
let lastHeight = -1;
function updateHeight() {
  const h = Math.ceil(document.documentElement.getBoundingClientRect().height);
  if (h !== lastHeight) { lastHeight = h; post("streamlit:setFrameHeight", { height: h }); }
}
new ResizeObserver(updateHeight).observe(document.body);

// ---------------------------------------------------------------- ONNX Runtime Web, loaded once per page
let ortPromise = null;
function loadOrt() {
  if (!ortPromise) {
    ortPromise = (async () => {
      if (typeof WebAssembly !== "object") throw new Error("this browser has no WebAssembly");
      if (typeof DecompressionStream !== "function") throw new Error("this browser has no DecompressionStream");
      const wasmBinary = (async () => {
        const resp = await fetch(WASM_GZ_URL);
        if (!resp.ok) throw new Error(`could not load the WebAssembly runtime (HTTP ${resp.status})`);
        return new Response(resp.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
      })();
      const [ort, binary] = await Promise.all([import(ORT_URL), wasmBinary]);
      ort.env.wasm.numThreads = 1;       // 2+ threads need cross-origin isolation
      ort.env.wasm.proxy = false;
      ort.env.wasm.wasmBinary = binary;  // no extra fetch of a loader or .wasm by ORT itself
      ort.env.logLevel = "error";
      return ort;
    })();
  }
  return ortPromise;
}

// ---------------------------------------------------------------- state
const S = {
  ort: null, session: null, inputName: null, outputName: null,
  modelId: null, wantedModelId: null, failed: null,
  D: 0, z: new Float64Array(0), ranges: [], plane: null, padRange: null, showPad: false,
  imageShape: [28, 28], layoutKey: null, pointsId: null, argsZKey: null,
  points: null, labels: null, dragging: false, disabled: false,
  accent: "#ff4b4b", activeSlider: -1, sliderHeld: false,
  pending: null, rafScheduled: false, busy: false, lastSentKey: null, sliderInputs: [], sliderOutputs: [],
  releases: 0, drawnZ: null, cursorAt: null, strip: null, stripKey: null, stripTimes: [],
};

// Tests read what the component shows: its z, the z of the image on the canvas, where the pad's cursor is.
window.__liveDecoderState = () => ({
  z: Array.from(S.z), drawnZ: S.drawnZ && Array.from(S.drawnZ), cursor: S.cursorAt, modelId: S.modelId,
  points: S.points ? S.points.length : 0,
});

// Alternative text (the pictures are canvases): numbers as the page shows them, with a true minus sign.
function pointText(values) {
  const shown = Array.from(values, (v) => (Math.abs(v) < 0.005 ? 0 : v).toFixed(2).replace("-", "\u2212"));
  return `(${shown.join(", ")})`;
}

function setStatus(text, failed = false) {
  el.status.textContent = text;
  el.status.classList.toggle("failed", failed);
  updateHeight();
}

function fail(err, modelId) {
  const msg = (err && err.message) ? err.message : String(err);
  console.error("live decoder:", err);
  S.failed = msg;
  window.__liveDecoderStatus = "failed";
  window.__liveDecoderError = msg;
  for (const n of [el.padpanel, el.imgpanel, el.sliders, el.strippanel, $("probpanel")]) n.classList.add("hidden");
  setStatus(`Live decoding is not available in this browser (${msg}). Decoding falls back to the server.`, true);
  post("streamlit:setComponentValue", { value: { z: null, error: msg, model_id: modelId }, dataType: "json" });
}

// A gzipped file published beside this page (see _publish in __init__.py), inflated.
async function fetchGzip(url, what) {
  const resp = await fetch(new URL(url, import.meta.url).href);
  if (!resp.ok) throw new Error(`could not load ${what} (HTTP ${resp.status})`);
  return new Response(resp.body.pipeThrough(new DecompressionStream("gzip")));
}

async function fetchDecoder(url) {
  return new Uint8Array(await (await fetchGzip(url, "the decoder")).arrayBuffer());
}

// The pad's points as a file (publish_points): fetched once per iframe, not sent with every render.
async function loadPoints(url, pointsId) {
  try {
    const { points, labels } = await (await fetchGzip(url, "the pad's points")).json();
    if (pointsId !== S.pointsId) return;   // other points arrived meanwhile
    S.points = points;
    S.labels = labels;
    if (S.showPad) drawScatter();
  } catch (err) {
    console.error("live decoder: the pad shows no points:", err);   // it works without them
  }
}

// Resolves once the page has been quiet for a while (three idle periods of nearly 50 ms in a row), at the
// first touch of this component, or after 4 s. This iframe shares the main thread with the page, so
// fetching, unzipping and compiling a decoder of several MB at once would hold up the page's own charts
// and pictures; a single idle callback fires in the first gap between the page's own tasks, too early.
function whenIdle() {
  return new Promise((resolve) => {
    const touches = ["pointerdown", "keydown", "focusin"];
    const go = () => {
      clearTimeout(timer);
      for (const type of touches) document.removeEventListener(type, go, { capture: true });
      resolve();
    };
    const timer = setTimeout(go, 4000);
    for (const type of touches) document.addEventListener(type, go, { capture: true });
    if (typeof requestIdleCallback !== "function") { setTimeout(go, 500); return; }
    let calm = 0;
    const check = (deadline) => {
      calm = deadline.timeRemaining() >= 45 ? calm + 1 : 0;
      if (calm >= 3) go(); else requestIdleCallback(check);
    };
    requestIdleCallback(check);
  });
}

// Resolves once this iframe is on the screen or near it (600 px). How it works' live decoder is far below the
// fold: a visit that never scrolls there fetches neither its decoder (up to 6 MB) nor ONNX Runtime (3.7 MB), which
// the server would send for nothing (docs/benchmarks.md, "Server CPU per page view").
let visible = null;
function whenVisible() {
  if (!visible) {
    visible = new Promise((resolve) => {
      if (typeof IntersectionObserver !== "function") { resolve(); return; }
      const watch = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) { watch.disconnect(); resolve(); }
      }, { rootMargin: "600px 0px" });
      watch.observe(document.documentElement);
    });
  }
  return visible;
}

async function loadModel(bytes, modelId, url) {
  S.wantedModelId = modelId;
  window.__liveDecoderStatus = "loading";
  setStatus("Loading the decoder…");
  try {
    await whenVisible();
    await whenIdle();
    if (modelId !== S.wantedModelId) return;   // a newer model arrived while waiting
    if (url && !bytes) bytes = await fetchDecoder(url);
    if (!(bytes instanceof Uint8Array)) {
      if (typeof bytes === "string") bytes = Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0));
      else if (bytes instanceof ArrayBuffer) bytes = new Uint8Array(bytes);
      else throw new Error("no decoder model was passed to the component");
    }
    const ort = (S.ort = await loadOrt());
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(new Uint8Array(bytes), {
      executionProviders: ["wasm"], graphOptimizationLevel: "all",
    });
    if (modelId !== S.wantedModelId) { session.release(); return; }   // a newer model arrived meanwhile
    const t1 = performance.now();
    await exclusive(async () => {   // never swap sessions under a running decode
      if (S.session) S.session.release();
      S.session = session;
      S.inputName = session.inputNames[0];
      S.outputName = session.outputNames[0];
      S.modelId = modelId;
      S.failed = null;
      await decodeNow();   // also proves the model runs on this input size
    });
    const t2 = performance.now();
    window.__liveDecoderStatus = "ready";
    window.__liveDecoderInit = { sessionMs: t1 - t0, firstDecodeMs: t2 - t1 };
    for (const n of [el.imgpanel, el.sliders]) n.classList.remove("hidden");
    wantClassifier();
    el.padpanel.classList.toggle("hidden", !S.showPad);
    el.strippanel.classList.toggle("hidden", !S.strip);
    schedule();   // input that arrived while the session was loading
    setStatus(`Decoding in your browser (ONNX Runtime Web, WebAssembly): session ${Math.round(t1 - t0)} ms, ` +
              `first image ${Math.round(t2 - t1)} ms.`);
  } catch (err) {
    if (modelId === S.wantedModelId) fail(err, modelId);
  }
}

// ---------------------------------------------------------------- decoding, coalesced per animation frame
const small = document.createElement("canvas");
let smallCtx = null;
let smallData = null;
const imgCtx = el.img.getContext("2d");

function draw(data) {
  toSmall(data);
  imgCtx.imageSmoothingEnabled = false;
  imgCtx.drawImage(small, 0, 0, IMG, IMG);
}

// One decoded image onto the small canvas, the image's own size (the main image and the strip scale it).
function toSmall(data) {
  const [h, w, channels = 1] = S.imageShape;
  if (!smallData || small.width !== w || small.height !== h) {
    small.width = w; small.height = h;
    smallCtx = small.getContext("2d");
    smallData = smallCtx.createImageData(w, h);
  }
  const px = smallData.data;
  const byte = (v) => v <= 0 ? 0 : v >= 1 ? 255 : (v * 255 + 0.5) | 0;
  if (channels === 3) {   // colour: the decoder's output is (h, w, 3), channels last, each value in [0, 1]
    for (let i = 0, n = w * h; i < n; i++) {
      const j = i * 4, k = i * 3;
      px[j] = byte(data[k]); px[j + 1] = byte(data[k + 1]); px[j + 2] = byte(data[k + 2]); px[j + 3] = 255;
    }
  } else {
    for (let i = 0, n = w * h; i < n; i++) {
      const v = byte(data[i]);   // white ink on black
      const j = i * 4;
      px[j] = v; px[j + 1] = v; px[j + 2] = v; px[j + 3] = 255;
    }
  }
  smallCtx.putImageData(smallData, 0, 0);
}

// Session calls run one at a time.
let chain = Promise.resolve();
function exclusive(fn) {
  const p = chain.then(fn);
  chain = p.catch(() => {});
  return p;
}

async function decodeNow() {
  const ort = S.ort;
  const z = Float64Array.from(S.z);
  const input = new ort.Tensor("float32", Float32Array.from(z), [1, S.D]);
  const out = await S.session.run({ [S.inputName]: input });
  draw(out[S.outputName].data);
  await probs.run(out[S.outputName].data);   // the class probabilities follow the image, same frame
  S.drawnZ = z;
  el.img.setAttribute("aria-label", `decoded image of z = ${pointText(z)}`);
  if (S.strip) requestStrip();
}

// ---------------------------------------------------------------- a strip along a direction (issue 28)
// args.strip = {vector, k, steps, name}: the decodes of z + t * vector for t from -k to +k, in one batch,
// redrawn while z moves. At most every STRIP_EVERY_MS, and always at the last z: a batch of 7 decodes every
// frame would take the image itself from 60 frames a second to about 30 (scripts/bench_directions.py).
const STRIP_CELL = 56, STRIP_GAP = 4, STRIP_EVERY_MS = 100;
window.__liveDecoderStrip = null;   // tests read the z and the t of the strip last drawn, and its time
let stripTimer = null;
let stripAt = -Infinity;

function requestStrip() {
  if (!S.strip || stripTimer !== null) return;
  const wait = Math.max(0, STRIP_EVERY_MS - (performance.now() - stripAt));
  stripTimer = setTimeout(async () => {
    stripTimer = null;
    if (!S.strip || !S.session) return;
    stripAt = performance.now();
    try {
      await exclusive(() => decodeStrip(Float64Array.from(S.z)));
    } catch (err) {
      console.error("live decoder: the strip could not be drawn:", err);   // the image still works
    }
  }, wait);
}

function setStrip(strip) {
  const ok = strip && Array.isArray(strip.vector) && strip.vector.length === S.D && strip.steps >= 2;
  S.strip = ok ? strip : null;
  el.strippanel.classList.toggle("hidden", !S.strip || !S.session);
}

async function decodeStrip(z) {
  const { vector, k, steps, name } = S.strip;
  const t0 = performance.now();
  const [h, w, channels = 1] = S.imageShape;
  const size = h * w * channels;   // one decoded image's values
  const batch = new Float32Array(steps * S.D);
  const ts = [];
  for (let s = 0; s < steps; s++) {
    const t = -k + (2 * k * s) / (steps - 1);
    ts.push(t);
    for (let i = 0; i < S.D; i++) batch[s * S.D + i] = z[i] + t * vector[i];
  }
  const out = await S.session.run({ [S.inputName]: new S.ort.Tensor("float32", batch, [steps, S.D]) });
  const data = out[S.outputName].data;
  const width = steps * STRIP_CELL + (steps - 1) * STRIP_GAP;
  if (el.strip.width !== width) el.strip.width = width;
  el.strip.height = STRIP_CELL;
  const ctx = el.strip.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  for (let s = 0; s < steps; s++) {
    toSmall(data.subarray(s * size, (s + 1) * size));
    ctx.drawImage(small, s * (STRIP_CELL + STRIP_GAP), 0, STRIP_CELL, STRIP_CELL);
  }
  const kText = pointText([k]).slice(1, -1);
  el.stripcaption.textContent = `z \u2212 ${kText} \u00d7 ${name} \u2026 z + ${kText} \u00d7 ${name} (${steps} steps), decoded in your browser`;
  el.strip.setAttribute("aria-label", `${steps} decoded images from z \u2212 ${kText} \u00d7 ${name} to z + ${kText} \u00d7 ${name}, z = ${pointText(z)}`);
  window.__liveDecoderStrip = { z: Array.from(z), t: ts, name, ms: performance.now() - t0 };
  S.stripTimes.push(performance.now() - t0);
  if (S.stripTimes.length > 1000) S.stripTimes.splice(0, 500);
}

// For benchmarks: n back-to-back decodes of the current z (each with its draw), their times in ms.
// The same for the strip along a direction: n batches back to back, their times in ms.
window.__liveDecoderStripTimes = async (n = 100) => {
  const times = [];
  for (let k = 0; k < n && S.session && S.strip; k++) {
    const t0 = performance.now();
    await exclusive(() => decodeStrip(Float64Array.from(S.z)));
    times.push(performance.now() - t0);
  }
  return times;
};

window.__liveDecoderDecodeTimes = async (n = 100) => {
  const times = [];
  for (let k = 0; k < n && S.session; k++) {
    const t0 = performance.now();
    await exclusive(decodeNow);
    times.push(performance.now() - t0);
  }
  return times;
};

// Called from input handlers: remember that a new z wants decoding; one decode per frame, latest wins.
function requestDecode(eventTime, source) {
  const t = Number.isFinite(eventTime) && eventTime > 0 ? eventTime : performance.now();
  if (S.pending) { S.pending.eventTime = t; S.pending.source = source; S.pending.events += 1; }
  else S.pending = { eventTime: t, firstEventTime: t, source, events: 1 };
  schedule();
}

function schedule() {
  if (!S.rafScheduled && !S.busy && S.pending) {
    S.rafScheduled = true;
    requestAnimationFrame(frame);
  }
}

async function frame() {
  S.rafScheduled = false;
  if (!S.pending || S.busy) return;
  if (!S.session) { refreshControls(S.pending.source); return; }   // decoded once the session is ready
  const job = S.pending;
  S.pending = null;
  S.busy = true;
  try {
    refreshControls(job.source);   // cursor and slider readouts: once per frame, not per input event
    const t0 = performance.now();
    await exclusive(decodeNow);
    const painted = performance.now();
    STATS.push({ eventTime: job.eventTime, firstEventTime: job.firstEventTime, paintedTime: painted,
                 decodeMs: painted - t0, events: job.events, source: job.source });
    if (STATS.length > MAX_STATS) STATS.splice(0, STATS.length - MAX_STATS / 2);
  } catch (err) {
    S.busy = false;
    fail(err, S.modelId);
    return;
  }
  S.busy = false;
  schedule();
}

// ---------------------------------------------------------------- latent <-> pad coordinates
function padXY() {   // the pad coordinates of the current z
  if (!S.plane) return [S.z[0], S.z[1]];
  const { mean, components: c } = S.plane;
  let x = 0, y = 0;
  for (let i = 0; i < S.D; i++) { const d = S.z[i] - mean[i]; x += d * c[0][i]; y += d * c[1][i]; }
  return [x, y];
}

function setFromPad(x, y) {
  if (!S.plane) { S.z[0] = x; S.z[1] = y; return; }
  const { mean, components: c } = S.plane;
  for (let i = 0; i < S.D; i++) S.z[i] = mean[i] + x * c[0][i] + y * c[1][i];
}

function toCanvas(x, y) {
  const [[x0, x1], [y0, y1]] = S.padRange;
  return [(x - x0) / (x1 - x0) * PAD, PAD - (y - y0) / (y1 - y0) * PAD];
}

function fromCanvas(px, py) {
  const [[x0, x1], [y0, y1]] = S.padRange;
  const cx = Math.min(Math.max(px, 0), PAD), cy = Math.min(Math.max(py, 0), PAD);
  return [x0 + cx / PAD * (x1 - x0), y0 + (PAD - cy) / PAD * (y1 - y0)];
}

function hidpi(canvas) {
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(PAD * dpr)) { canvas.width = Math.round(PAD * dpr); canvas.height = Math.round(PAD * dpr); }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

function drawScatter() {
  const ctx = hidpi(el.scatter);
  ctx.clearRect(0, 0, PAD, PAD);
  const pts = S.points;
  if (!pts) return;
  ctx.globalAlpha = 0.55;
  for (let i = 0; i < pts.length; i++) {
    const [cx, cy] = toCanvas(pts[i][0], pts[i][1]);
    const lab = S.labels ? S.labels[i] : 0;
    ctx.fillStyle = PALETTE[((lab % 10) + 10) % 10];
    ctx.fillRect(cx - 1.25, cy - 1.25, 2.5, 2.5);
  }
  ctx.globalAlpha = 1;
}

function drawCursor() {
  if (!S.showPad) return;
  const ctx = hidpi(el.cursor);
  ctx.clearRect(0, 0, PAD, PAD);
  const xy = padXY();
  S.cursorAt = xy;
  el.padwrap.setAttribute("aria-label", `latent pad: the test images' z_mean as dots, the cursor at ${
    S.plane ? `${pointText(xy)} on their first two principal components` : `z = ${pointText(xy)}`}`);
  const [cx, cy] = toCanvas(...xy);
  ctx.strokeStyle = "rgba(0,0,0,0.35)";
  ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(cx, 0); ctx.lineTo(cx, PAD); ctx.moveTo(0, cy); ctx.lineTo(PAD, cy); ctx.stroke();
  ctx.beginPath(); ctx.arc(cx, cy, 7, 0, 2 * Math.PI);
  ctx.fillStyle = "rgba(255,255,255,0.85)"; ctx.fill();
  ctx.lineWidth = 2.5; ctx.strokeStyle = S.accent;
  ctx.stroke();
}

// ---------------------------------------------------------------- UI updates and value reporting
function refreshControls(source) {
  drawCursor();
  syncSliders(source === "slider" ? S.activeSlider : -1);
}

function syncSliders(except = -1) {
  for (let i = 0; i < S.D; i++) {
    if (i !== except) S.sliderInputs[i].value = String(S.z[i]);
    S.sliderOutputs[i].textContent = S.z[i].toFixed(3);
  }
}

function zList() { return Array.from(S.z, (v) => Math.round(v * 1e6) / 1e6); }

function sendValue(source) {
  if (S.failed || !S.session) return;
  const z = zList();
  const key = JSON.stringify(z);
  if (key === S.lastSentKey) return;
  S.lastSentKey = key;
  S.releases += 1;
  window.__liveDecoderLastSent = z;
  // seq: a release at the same z as an earlier one is still news to Python if z was moved in between.
  post("streamlit:setComponentValue",
       { value: { z, source, seq: S.releases, error: null, model_id: S.modelId }, dataType: "json" });
}

function buildLayout() {
  el.sliders.textContent = "";
  S.sliderInputs = [];
  S.sliderOutputs = [];
  for (let i = 0; i < S.D; i++) {
    const [lo, hi] = S.ranges[i];
    const label = document.createElement("label");
    label.textContent = `z${i}`;
    label.htmlFor = `z${i}`;
    const input = document.createElement("input");
    Object.assign(input, { type: "range", id: `z${i}`, min: String(lo), max: String(hi), step: String((hi - lo) / 1000) });
    input.dataset.dim = String(i);
    input.addEventListener("input", (ev) => {
      if (S.disabled) return;
      S.z[i] = input.valueAsNumber;
      S.activeSlider = i;
      requestDecode(ev.timeStamp, "slider");
    });
    input.addEventListener("pointerdown", () => { S.sliderHeld = true; });
    input.addEventListener("change", () => { S.sliderHeld = false; sendValue("slider"); });
    const output = document.createElement("output");
    output.htmlFor = `z${i}`;
    el.sliders.append(label, input, output);
    S.sliderInputs.push(input);
    S.sliderOutputs.push(output);
  }
  el.padpanel.classList.toggle("hidden", !S.showPad || !!S.failed || !S.session);
  el.padcaption.textContent = S.plane
    ? "Drag anywhere: z moves in the plane of the first two principal components"
    : "Drag anywhere in the latent space";
}

function onPointer(ev) {
  if (S.disabled || !S.showPad) return;
  if (ev.type === "pointerdown") {
    if (ev.button !== 0) return;
    S.dragging = true;
    try { el.padwrap.setPointerCapture(ev.pointerId); } catch (_) { /* synthetic events have no live pointer */ }
    ev.preventDefault();
  } else if (!S.dragging) {
    return;
  }
  const r = el.padwrap.getBoundingClientRect();
  const [x, y] = fromCanvas(ev.clientX - r.left - el.padwrap.clientLeft, ev.clientY - r.top - el.padwrap.clientTop);
  setFromPad(x, y);
  requestDecode(ev.timeStamp, "pad");
  if (ev.type === "pointerup" || ev.type === "pointercancel") {
    S.dragging = false;
    sendValue("pad");
  }
}
for (const t of ["pointerdown", "pointermove", "pointerup", "pointercancel"]) el.padwrap.addEventListener(t, onPointer);
window.addEventListener("pointerup", () => { S.sliderHeld = false; });

function applyTheme(theme) {
  if (!theme) return;
  const root = document.documentElement.style;
  if (theme.textColor) {
    root.setProperty("--text", theme.textColor);
    if (/^#[0-9a-f]{6}$/i.test(theme.textColor)) root.setProperty("--muted", theme.textColor + "99");
  }
  if (theme.primaryColor) { root.setProperty("--accent", theme.primaryColor); S.accent = theme.primaryColor; }
  if (theme.font) root.setProperty("--font", theme.font);
}

function onRender(args, theme, disabled) {
  applyTheme(theme);
  S.disabled = !!disabled;
  const D = args.latent_dim | 0;
  const layoutKey = JSON.stringify([D, args.ranges, args.pad, !!args.plane]);
  S.ranges = args.ranges;
  S.plane = args.plane || null;
  S.padRange = args.pad_range;
  S.showPad = !!args.pad && !!S.padRange && (D === 2 || !!S.plane);
  S.imageShape = args.image_shape || [28, 28];
  if (D !== S.D) { S.D = D; S.z = new Float64Array(D); S.argsZKey = null; }
  if (layoutKey !== S.layoutKey) { S.layoutKey = layoutKey; buildLayout(); }
  const stripKey = JSON.stringify(args.strip || null);
  if (stripKey !== S.stripKey) {
    S.stripKey = stripKey;
    setStrip(args.strip);
    if (S.session && S.modelId === args.model_id) requestDecode(performance.now(), "args");
  }
  for (const n of S.sliderInputs) n.disabled = S.disabled;

  // z from Python: applied when Python changes it (not on every rerun, not in the middle of a drag), e.g.
  // when the page's own sliders or buttons move z: the pad, sliders and image here then follow.
  const zKey = JSON.stringify(args.z);
  if (zKey !== S.argsZKey && !S.dragging && !S.sliderHeld) {
    S.argsZKey = zKey;
    for (let i = 0; i < D; i++) S.z[i] = Number(args.z[i]);
    // Python has this z: a release here is news only if it differs from it (also when it equals an
    // earlier release, from before Python moved z).
    S.lastSentKey = JSON.stringify(zList());
    syncSliders();
    if (S.session && S.modelId === args.model_id) requestDecode(performance.now(), "args");
  }
  const pointsId = `${args.points_id}|${JSON.stringify(S.padRange)}`;
  if (pointsId !== S.pointsId) {
    S.pointsId = pointsId;
    S.points = args.points || null;
    S.labels = args.labels || null;
    if (S.showPad) drawScatter();
    if (!args.points && args.points_url) loadPoints(args.points_url, pointsId);
  }
  drawCursor();
  if (args.model_id !== S.wantedModelId) loadModel(args.decoder, args.model_id, args.decoder_url);
  S.lastArgs = args;
  wantClassifier();
  updateHeight();
}

window.addEventListener("message", (ev) => {
  const d = ev.data;
  if (d && d.type === "streamlit:render") onRender(d.args || {}, d.theme, d.disabled);
});
post("streamlit:componentReady", { apiVersion: 1 });
