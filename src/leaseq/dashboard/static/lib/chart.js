// The throughput chart: jobs finished per second over the sampling window, on a canvas.

import { formatRate } from "./render.js";
import { WINDOW_MS, rate, stats } from "./stats.js";

const PAD = { left: 48, right: 12, top: 12, bottom: 22 };

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

/** Where times and rates land on this canvas, with the rate axis sized to the points. */
function scales(canvas, points) {
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const now = Date.now();
  const max = niceMax(Math.max(1, ...points.map((p) => p.v)));
  const x = (t) => PAD.left + plotW * (1 - (now - t) / WINDOW_MS);
  const y = (v) => PAD.top + plotH * (1 - v / max);
  return { width, height, plotW, plotH, now, max, x, y };
}

/** Four grid lines labelled with their rate, and the minutes along the bottom. */
function drawAxes(ctx, css, sc) {
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
    ctx.fillText(formatRate(v), PAD.left - 6, sc.y(v) + 4);
  }
  ctx.textAlign = "center";
  for (let m = 0; m <= 5; m++) ctx.fillText(m ? `-${m} min` : "now", sc.x(sc.now - m * 60000), sc.height - 6);
}

/** The rate as a line with the area under it filled. */
function drawLine(ctx, css, sc, points) {
  ctx.beginPath();
  points.forEach((p, i) => (i ? ctx.lineTo(sc.x(p.t), sc.y(p.v)) : ctx.moveTo(sc.x(p.t), sc.y(p.v))));
  ctx.strokeStyle = css.getPropertyValue("--accent");
  ctx.lineWidth = 2;
  ctx.stroke();
  ctx.lineTo(sc.x(points[points.length - 1].t), sc.y(0));
  ctx.lineTo(sc.x(points[0].t), sc.y(0));
  ctx.fillStyle = css.getPropertyValue("--accent-fill");
  ctx.fill();
}

/** Redraws the chart from the samples kept (after each sample and on resize). */
export function drawChart(canvas) {
  const points = [];
  for (let i = 1; i < stats.samples.length; i++) {
    points.push({ t: stats.samples[i].t, v: rate(stats.samples[i - 1], stats.samples[i]) });
  }
  const ctx = context(canvas);
  const css = getComputedStyle(document.documentElement);
  const sc = scales(canvas, points);
  drawAxes(ctx, css, sc);
  if (points.length < 1) {
    ctx.fillText("collecting samples…", PAD.left + sc.plotW / 2, PAD.top + sc.plotH / 2);
    return;
  }
  drawLine(ctx, css, sc, points);
}
