// The system page's charts over 1 h, 24 h or 7 d (GET /systems/{id}/health/history): events/s,
// error rate and p50/p95/p99 latency, with the verdict of each step as a strip.

import { get } from "./api.js";
import { h, setAttr, setText } from "./dom.js";
import { ms } from "./format.js";
import { TimeChart } from "./charts.js";
import { Panel } from "./panel.js";
import { Strip } from "./strip.js";

// Range → step and refresh period: at most a few hundred points (the API allows 1000).
const RANGES = [
  { label: "1 h", range_s: 3600, step_s: 60, every: 10000 },
  { label: "24 h", range_s: 86400, step_s: 600, every: 60000 },
  { label: "7 d", range_s: 7 * 86400, step_s: 3600, every: 300000 },
];

export class ChartsPanel extends Panel {
  constructor(systemId) {
    super("charts-h", "Over time", RANGES[0].every);
    this.id = systemId;
    this.range = RANGES[0];
    this.buttons = RANGES.map((r) => h("button", {
      type: "button", "aria-pressed": String(r === this.range),
      onclick: () => this.choose(r),
    }, r.label));
    this.stripBox = h("div", { class: "range-strip" });
    const figure = (title) => {
      const box = h("div", { class: "chart", role: "img", "aria-label": title });
      return { box, el: h("figure", null, h("figcaption", null, title), box) };
    };
    const rate = figure("Events per second");
    const errors = figure("Error rate (%)");
    const latency = figure("Latency p50 / p95 / p99");
    this.note = h("p", { class: "note" });
    this.el.append(
      h("div", { class: "range", role: "group", "aria-label": "Range" }, this.buttons),
      this.note, this.stripBox,
      h("div", { class: "charts" }, rate.el, errors.el, latency.el),
    );
    this.charts = {
      rate: new TimeChart(rate.box, {
        series: [{ label: "events/s", stroke: "#0969da" }],
        format: (v) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3)),
      }),
      errors: new TimeChart(errors.box, {
        series: [{ label: "error rate", stroke: "#cf222e" }],
        format: (v) => `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} %`,
      }),
      latency: new TimeChart(latency.box, {
        series: [
          { label: "p50", stroke: "#1a7f37" },
          { label: "p95", stroke: "#9a6700" },
          { label: "p99", stroke: "#cf222e" },
        ],
        format: (v) => ms(v),
      }),
    };
    this.newStrip();
  }

  newStrip() {
    const ticks = Math.floor(this.range.range_s / this.range.step_s);
    this.strip = new Strip(ticks, `Verdict per step over ${this.range.label}`);
    this.stripBox.replaceChildren(this.strip.el);
  }

  choose(range) {
    this.range = range;
    this.every = range.every;
    this.buttons.forEach((b, i) => setAttr(b, "aria-pressed", String(RANGES[i] === range)));
    this.newStrip();
    this.at = Date.now();
    this.refresh().then(() => this.failed(null), (error) => this.failed(error));
  }

  async refresh() {
    const { range_s: rangeS, step_s: stepS } = this.range;
    const from = new Date(Date.now() - rangeS * 1000).toISOString();
    const answer = await get(`/systems/${this.id}/health/history`, { from, step: stepS });
    const points = answer.points;
    const xs = points.map((p) => Date.parse(p.at) / 1000);
    const gap = (p, v) => (p.total > 0 ? v : null);
    this.charts.rate.setData(xs, [points.map((p) => p.total / stepS)]);
    this.charts.errors.setData(xs, [points.map((p) => gap(p, p.error_rate * 100))]);
    this.charts.latency.setData(xs, [
      points.map((p) => gap(p, p.p50_latency)),
      points.map((p) => gap(p, p.p95_latency)),
      points.map((p) => gap(p, p.p99_latency)),
    ]);
    this.strip.show(points);
    const events = points.reduce((n, p) => n + p.total, 0);
    setText(this.note, `${events.toLocaleString()} events over the last ${this.range.label}, ` +
      `in ${stepS >= 3600 ? `${stepS / 3600}-h` : `${stepS / 60}-min`} steps; the verdict of a ` +
      "step follows the live rules over that step (error rate, latency, sustain, recovery, " +
      "silence); the newest step is the live verdict.");
  }

  destroy() {
    Object.values(this.charts).forEach((c) => c.destroy());
  }
}
