// The throughput and failure chart: per minute, jobs done (the throughput, a filled line)
// and jobs failed or dead (a second, red line), from the server's own recent minutes
// (GET /stats/history), so the chart is full as soon as the page loads. Each node counts
// what it saw itself; behind several nodes this is the view of the one that answered.

import { api } from "./api.js";

export const MINUTES = 30;
const PAD = { left: 48, right: 12, top: 12, bottom: 22 };

export const history = { minutes: [], loading: null };

/** Fetches the last MINUTES minutes, one request at a time. */
export function loadHistory() {
  history.loading ??= api(`stats/history?minutes=${MINUTES}`)
    .then(({ minutes }) => {
      history.minutes = minutes;
    })
    .finally(() => {
      history.loading = null;
    });
  return history.loading;
}

/** The smallest of 1, 2, 2.5, 5 or 10 times a power of ten that is at least v. */
function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

/** A canvas context at the device's pixel ratio, sized to the element. */
function context(canvas) {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = canvas.clientWidth * ratio;
  canvas.height = canvas.clientHeight * ratio;
  const ctx = canvas.getContext("2d");
  ctx.scale(ratio, ratio);
  return ctx;
}

/** Where minutes and counts land: minute i of n at its x, a count at its y. */
function scales(canvas, n, top) {
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const max = niceMax(Math.max(1, top));
  const x = (i) => PAD.left + (n > 1 ? (plotW * i) / (n - 1) : plotW);
  const y = (v) => PAD.top + plotH * (1 - v / max);
  return { width, height, plotW, plotH, max, x, y };
}

function drawAxes(ctx, css, sc, n) {
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = css.getPropertyValue("--muted");
  ctx.strokeStyle = css.getPropertyValue("--grid");
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = (sc.max * i) / 4;
    ctx.beginPath();
    ctx.moveTo(PAD.left, Math.round(sc.y(v)) + 0.5);
    ctx.lineTo(sc.width - PAD.right, Math.round(sc.y(v)) + 0.5);
    ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(Number.isInteger(v) ? v.toLocaleString() : v.toFixed(1), PAD.left - 6, sc.y(v) + 4);
  }
  ctx.textAlign = "center";
  const step = sc.plotW < 480 ? 10 : 5; // fewer labels where they would collide
  for (let back = 0; back < n; back += step) {
    ctx.fillText(back ? `-${back} min` : "now", sc.x(n - 1 - back), sc.height - 6);
  }
}

function drawSeries(ctx, sc, values, stroke, fill) {
  ctx.beginPath();
  values.forEach((v, i) => (i ? ctx.lineTo(sc.x(i), sc.y(v)) : ctx.moveTo(sc.x(i), sc.y(v))));
  ctx.strokeStyle = stroke;
  ctx.lineWidth = 2;
  ctx.stroke();
  if (!fill) return;
  ctx.lineTo(sc.x(values.length - 1), sc.y(0));
  ctx.lineTo(sc.x(0), sc.y(0));
  ctx.fillStyle = fill;
  ctx.fill();
}

/** Redraws the chart from the minutes last loaded (after each load and on resize). */
export function drawChart(canvas) {
  const minutes = history.minutes;
  const done = minutes.map((m) => m.done);
  const failed = minutes.map((m) => m.failed + m.dead);
  const ctx = context(canvas);
  const css = getComputedStyle(document.documentElement);
  const sc = scales(canvas, minutes.length, Math.max(0, ...done, ...failed));
  drawAxes(ctx, css, sc, minutes.length);
  if (!minutes.length) {
    ctx.fillText("loading…", PAD.left + sc.plotW / 2, PAD.top + sc.plotH / 2);
    return;
  }
  drawSeries(ctx, sc, done, css.getPropertyValue("--accent"), css.getPropertyValue("--accent-fill"));
  drawSeries(ctx, sc, failed, css.getPropertyValue("--bad"), null);
}

/** The totals of the minutes shown, for the legend under the chart. */
export function totals() {
  const sum = (k) => history.minutes.reduce((s, m) => s + m[k], 0);
  return { done: sum("done"), failed: sum("failed"), dead: sum("dead") };
}
