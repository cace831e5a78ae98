// The system page's lists: its upstreams, runs (with a duration chart), recent errors (raw
// events), transitions and notification deliveries. Every value users wrote is shown as text.

import { get } from "./api.js";
import { badge, fillRows, h, table } from "./dom.js";
import { ago, count, ms, seconds, when } from "./format.js";
import { TimeChart } from "./charts.js";
import { Panel } from "./panel.js";

const PAYLOAD_CHARS = 600;

function timeCell(iso) {
  return h("td", { class: "time" }, h("time", { datetime: iso, title: when(iso) }, ago(iso)));
}

function code(text) {
  return text === null || text === undefined || text === "" ? "—" : h("code", null, text);
}

export class RunsPanel extends Panel {
  constructor(systemId) {
    super("runs-h", "Runs", 10000);
    this.id = systemId;
    const box = h("div", { class: "chart", role: "img", "aria-label": "Run durations" });
    this.list = table("Runs", ["Run", "Started", "Duration", "Events", "Errors", "Outcome",
      "Flags"]);
    this.el.append(
      h("figure", null, h("figcaption", null, "Duration of each run (by its start)"), box),
      h("div", { class: "table-wrap" }, this.list.el),
    );
    this.chart = new TimeChart(box, {
      series: [
        { label: "succeeded / running", stroke: "#1a7f37", points: true },
        { label: "failed", stroke: "#cf222e", points: true },
      ],
      format: (v) => seconds(v),
    });
  }

  async refresh() {
    const { runs } = await get(`/systems/${this.id}/runs`, { limit: 50 });
    const ordered = [...runs].sort((a, b) => Date.parse(a.first_event_at) -
      Date.parse(b.first_event_at));
    this.chart.setData(ordered.map((r) => Date.parse(r.first_event_at) / 1000), [
      ordered.map((r) => (r.outcome === "failed" ? null : r.duration_seconds)),
      ordered.map((r) => (r.outcome === "failed" ? r.duration_seconds : null)),
    ]);
    fillRows(this.list.body, 7, runs.map((r) => [
      h("td", null, code(r.run_id)),
      timeCell(r.first_event_at),
      h("td", { class: "num" }, seconds(r.duration_seconds)),
      h("td", { class: "num" }, count(r.events)),
      h("td", { class: "num" }, count(r.errors)),
      h("td", null, h("span", { class: `outcome o-${r.outcome}` }, r.outcome)),
      h("td", null, r.flags.length
        ? r.flags.map((f) => h("span", { class: "flag" }, f.replace("_", " ")))
        : "—"),
    ]), "No run yet: events that share a run_id make one.");
  }

  destroy() {
    this.chart.destroy();
  }
}

export class ErrorsPanel extends Panel {
  constructor(systemId) {
    super("errors-h", "Recent errors", 10000);
    this.id = systemId;
    this.list = table("Recent errors", ["At", "Type", "Stage", "Run", "Latency", "Message",
      "Payload"], "grid errors");
    this.el.append(h("div", { class: "table-wrap" }, this.list.el));
  }

  async refresh() {
    const { events } = await get(`/systems/${this.id}/events`, { status: "error", limit: 20 });
    fillRows(this.list.body, 7, events.map((e) => {
      const payload = e.payload === null || e.payload === undefined ? null
        : JSON.stringify(e.payload);
      const message = e.payload && typeof e.payload.error === "string" ? e.payload.error : null;
      return [
        timeCell(e.ts),
        h("td", null, code(e.event_type)),
        h("td", null, code(e.stage)),
        h("td", null, code(e.run_id)),
        h("td", { class: "num" }, ms(e.latency_ms)),
        h("td", { class: "message" }, message === null ? "—" : message),
        h("td", null, payload === null ? "—" : h("pre", { class: "payload" },
          payload.length > PAYLOAD_CHARS ? `${payload.slice(0, PAYLOAD_CHARS)}…` : payload)),
      ];
    }), "No error among the raw events kept.");
  }
}

/** GET /systems/{id}/dependencies, with each upstream's verdict from GET /dependencies. */
export class UpstreamsPanel extends Panel {
  constructor(systemId) {
    super("upstreams-h", "Upstreams", 10000);
    this.id = systemId;
    this.list = table("Upstreams", ["Upstream", "Verdict"]);
    this.el.append(h("div", { class: "table-wrap" }, this.list.el));
  }

  async refresh() {
    const { depends_on: ids } = await get(`/systems/${this.id}/dependencies`);
    const nodes = new Map();
    if (ids.length) {
      for (const node of (await get("/dependencies")).nodes) nodes.set(node.system_id, node);
    }
    fillRows(this.list.body, 2, ids.map((id) => {
      const node = nodes.get(id);
      return [
        h("td", null, h("a", { href: `#/systems/${id}` }, node ? node.name : `system ${id}`)),
        h("td", null, badge(node ? node.health : "NO_DATA")),
      ];
    }), "Depends on no other system (PUT /systems/{id}/dependencies).");
  }
}

export class TransitionsPanel extends Panel {
  constructor(systemId) {
    super("transitions-h", "Transitions", 10000);
    this.id = systemId;
    this.list = table("Transitions", ["At", "From", "To", "Reason"]);
    this.el.append(h("div", { class: "table-wrap" }, this.list.el));
  }

  async refresh() {
    const { transitions } = await get(`/systems/${this.id}/transitions`, { limit: 20 });
    fillRows(this.list.body, 4, transitions.map((t) => [
      timeCell(t.at),
      h("td", null, t.from ? badge(t.from) : "—"),
      h("td", null, badge(t.to)),
      t.reason,
    ]), "No change of verdict recorded yet.");
  }
}

export class NotificationsPanel extends Panel {
  constructor(systemId) {
    super("notifications-h", "Notifications", 15000);
    this.id = systemId;
    this.list = table("Notifications", ["At", "Channel", "Change", "Status", "Attempts",
      "Last error"]);
    this.el.append(h("div", { class: "table-wrap" }, this.list.el));
  }

  async refresh() {
    const { notifications } = await get(`/systems/${this.id}/notifications`, { limit: 20 });
    fillRows(this.list.body, 6, notifications.map((d) => [
      timeCell(d.at),
      h("td", { class: "num" }, String(d.channel_id)),
      h("td", null, badge(d.from), " → ", badge(d.to)),
      h("td", null, h("span", { class: `delivery d-${d.status}` }, d.status),
        d.held_until ? ` until ${when(d.held_until)}` : null,
        d.held_reason ? h("span", { class: "held-reason" }, ` (${d.held_reason})`) : null,
        d.group_id ? ` in group ${d.group_id}` : null),
      h("td", { class: "num" }, count(d.attempts)),
      d.last_error || "—",
    ]), "No notification sent: add a channel (POST /systems/{id}/channels).");
  }
}
