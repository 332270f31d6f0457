// convnet serve: the drawing page. Plain JavaScript, no build step, no CDN.
// Every stroke sends the canvas as a PNG to POST /v1/activations and draws the answer:
// the class probabilities, the input as the network sees it, a saliency overlay and each conv layer's maps.
"use strict";

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ctx = pad.getContext("2d");
const state = { model: null, drawing: false, inFlight: false, queued: null, renders: 0, last: null };
window.convnetPage = state; // the browser test reads renders / inFlight / last from here

function clearPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
}

// ---------------------------------------------------------------- drawing (mouse, pen and touch)
function point(ev) {
  const r = pad.getBoundingClientRect();
  return [(ev.clientX - r.left) * pad.width / r.width, (ev.clientY - r.top) * pad.height / r.height];
}

pad.addEventListener("pointerdown", (ev) => {
  state.drawing = true;
  pad.setPointerCapture(ev.pointerId);
  const [x, y] = point(ev);
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x + 0.01, y);
  ctx.stroke();
  ev.preventDefault();
});
pad.addEventListener("pointermove", (ev) => {
  if (!state.drawing) return;
  const [x, y] = point(ev);
  ctx.lineTo(x, y);
  ctx.stroke();
  sendCanvas(); // at most one request in flight; the latest drawing is sent next
});
for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => {
    if (!state.drawing) return;
    state.drawing = false;
    sendCanvas();
  });
}
$("clear").addEventListener("click", () => {
  clearPad();
  $("predictions").innerHTML = "";
  $("top-label").textContent = "";
  $("layers").innerHTML = "";
});

$("upload").addEventListener("change", (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  const img = new Image();
  img.onload = () => { // show it on the pad, send the original file
    clearPad();
    const s = Math.min(pad.width / img.width, pad.height / img.height);
    ctx.drawImage(img, (pad.width - img.width * s) / 2, (pad.height - img.height * s) / 2, img.width * s, img.height * s);
    URL.revokeObjectURL(img.src);
  };
  img.src = URL.createObjectURL(file);
  send(file, file.name);
  ev.target.value = "";
});

// ---------------------------------------------------------------- requests
function sendCanvas() {
  state.encoding = (state.encoding || 0) + 1;
  pad.toBlob((blob) => { state.encoding -= 1; send(blob, "drawing.png"); }, "image/png");
}

async function send(blob, name) {
  if (state.inFlight) { state.queued = [blob, name]; return; }
  state.inFlight = true;
  try {
    const form = new FormData();
    form.append("image", blob, name);
    const k = Math.min(10, state.model ? state.model.classes.length : 3);
    const res = await fetch(`/v1/activations?k=${k}`, { method: "POST", body: form });
    const body = await res.json();
    if (!res.ok) throw new Error(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
    render(body);
    $("error").textContent = body.has_ink ? "" : "The image is blank: draw something.";
  } catch (err) {
    $("error").textContent = String(err.message || err);
  } finally {
    state.inFlight = false;
    if (state.queued) { const [b, n] = state.queued; state.queued = null; send(b, n); }
  }
}

async function classifyText() {
  const res = await fetch("/v1/predict?k=5", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text: $("text").value }) });
  const body = await res.json();
  if (!res.ok) { $("error").textContent = String(body.detail); return; }
  $("error").textContent = "";
  renderPredictions(body.predictions);
}
$("classify").addEventListener("click", classifyText);

// ---------------------------------------------------------------- drawing the answer
function renderPredictions(preds) {
  const list = $("predictions");
  list.innerHTML = "";
  for (const p of preds) {
    const li = document.createElement("li");
    li.dataset.label = p.label;
    li.innerHTML = `<span class="label"></span><div class="bar"><div></div></div><span>${(100 * p.probability).toFixed(1)}%</span>`;
    li.querySelector(".label").textContent = p.label;
    li.querySelector(".bar > div").style.width = `${(100 * p.probability).toFixed(1)}%`;
    list.appendChild(li);
  }
  $("top-label").textContent = preds.length ? preds[0].label : "";
}

const STOPS = [[13, 8, 135], [126, 3, 168], [204, 71, 120], [248, 149, 64], [240, 249, 33]]; // plasma
function colour(v) {
  const t = Math.max(0, Math.min(1, v)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(t)), f = t - i;
  return STOPS[i].map((a, j) => Math.round(a + f * (STOPS[i + 1][j] - a)));
}

function paint(canvas, h, w, rgbAt) {
  canvas.width = w; canvas.height = h;
  const c = canvas.getContext("2d");
  const im = c.createImageData(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const [r, g, b] = rgbAt(y, x), o = 4 * (y * w + x);
    im.data[o] = r; im.data[o + 1] = g; im.data[o + 2] = b; im.data[o + 3] = 255;
  }
  c.putImageData(im, 0, 0);
}

function grey(pixels) { // (C, H, W) in [0, 1] -> (y, x) -> mean grey 0..255
  return (y, x) => Math.round(255 * pixels.reduce((s, ch) => s + ch[y][x], 0) / pixels.length);
}

function render(body) {
  renderPredictions(body.predictions);
  const px = body.input.pixels, [, h, w] = body.input.shape, g = grey(px);
  paint($("seen"), h, w, (y, x) => { const v = g(y, x); return [v, v, v]; });
  paint($("saliency"), h, w, (y, x) => { // the input in grey, saliency in red on top
    const v = 0.5 * g(y, x), s = body.saliency[y][x];
    return [Math.round(v + s * (255 - v)), Math.round(v * (1 - s)), Math.round(v * (1 - s))];
  });
  const root = $("layers");
  root.innerHTML = "";
  for (const layer of body.layers) {
    const div = document.createElement("div");
    div.className = "layer";
    const [c, lh, lw] = layer.shape;
    const shown = layer.maps.length < c ? `, first ${layer.maps.length} shown` : "";
    div.innerHTML = `<h3></h3><div class="maps"></div>`;
    div.querySelector("h3").textContent = `${layer.name}: ${c} maps of ${lh}x${lw}${shown}`;
    const maps = div.querySelector(".maps");
    if (lh * lw === 1) { // 1x1 maps: one strip, one cell per channel
      const cv = document.createElement("canvas");
      paint(cv, 1, layer.maps.length, (y, x) => colour(layer.maps[x][0][0]));
      cv.style.width = `${Math.min(900, 18 * layer.maps.length)}px`;
      cv.style.height = "18px";
      maps.appendChild(cv);
    } else {
      for (const m of layer.maps) {
        const cv = document.createElement("canvas");
        paint(cv, lh, lw, (y, x) => colour(m[y][x]));
        maps.appendChild(cv);
      }
    }
    root.appendChild(div);
  }
  state.last = body;
  state.renders += 1;
}

// ---------------------------------------------------------------- start
async function init() {
  clearPad();
  ctx.strokeStyle = "#000";
  ctx.lineWidth = 22;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  try {
    state.model = await (await fetch("/v1/model")).json();
    const m = state.model;
    $("model-name").textContent = m.name;
    $("model-info").textContent = `${m.parameters.toLocaleString()} parameters, input ${m.input_shape.join("x")}, ` +
      `${m.classes.length} classes` + (m.dataset ? `, trained on ${m.dataset}` : "");
    if (m.kind === "text") {
      $("text-panel").hidden = false;
      $("draw-panel").hidden = true;
      for (const el of document.querySelectorAll(".image-only")) el.hidden = true;
    }
  } catch (err) {
    $("model-info").textContent = `cannot reach the server: ${err}`;
  }
  state.ready = true;
}
init();
