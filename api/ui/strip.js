// A heartbeat strip: one tick per history step, coloured by that step's verdict, with the
// step's figures in its tooltip (Uptime Kuma's bar, from GET /systems/{id}/health/history).

import { h, setAttr, verdictClass, verdictWord } from "./dom.js";
import { count, ms, percent, when } from "./format.js";

export class Strip {
  constructor(ticks, label) {
    this.label = label;
    this.el = h("div", { class: "strip", role: "img", "aria-label": `${label}: not loaded yet` });
    this.ticks = [];
    for (let i = 0; i < ticks; i += 1) {
      const tick = h("span", { class: "tick t-empty" });
      this.ticks.push(tick);
      this.el.appendChild(tick);
    }
  }

  /** Show the newest `ticks` points of a history answer. */
  show(points) {
    const shown = points.slice(-this.ticks.length);
    const offset = this.ticks.length - shown.length;
    const tally = {};
    this.ticks.forEach((tick, i) => {
      const point = shown[i - offset];
      if (!point) {
        setAttr(tick, "class", "tick t-empty");
        setAttr(tick, "title", null);
        return;
      }
      const empty = point.total === 0;
      setAttr(tick, "class", `tick ${empty ? "t-empty" : verdictClass(point.health)}`);
      setAttr(tick, "title", tickTitle(point));
      const word = empty ? "no events" : verdictWord(point.health);
      tally[word] = (tally[word] || 0) + 1;
    });
    const parts = Object.entries(tally).map(([word, n]) => `${n} ${word}`);
    setAttr(this.el, "aria-label", `${this.label}: ${parts.join(", ") || "no events"}`);
  }
}

function tickTitle(point) {
  const head = `${when(point.at)}: ${verdictWord(point.health)}`;
  if (point.total === 0) return `${head}, no events`;
  return `${head}, ${count(point.total)} events, ${percent(point.error_rate)} errors, ` +
    `p95 ${ms(point.p95_latency)}`;
}
