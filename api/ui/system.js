// One system's page: its verdict and why (rules against thresholds, the failing upstream that
// explains it), its upstreams, charts of the last hour,
// day or week, stages, runs, recent errors, transitions, notifications and, for admin keys,
// mute and policy. Each panel refreshes on its own period; a refresh replaces text and chart
// data in place.

import { ApiError, get } from "./api.js";
import { badge, fillRows, h, setAttr, setBadge, setText, table } from "./dom.js";
import { ago, count, ms, percent, ruleValue, when } from "./format.js";
import { ChartsPanel } from "./charts_panel.js";
import {
  ErrorsPanel, NotificationsPanel, RunsPanel, TransitionsPanel, UpstreamsPanel,
} from "./panels.js";
import { MutePanel, PolicyPanel } from "./admin.js";

const TICK_MS = 5000;

export class SystemPage {
  constructor(main, systemId, who) {
    this.main = main;
    this.id = systemId;
    this.admin = who.kind === "admin";
    this.stopped = false;
    this.timer = null;
  }

  async start() {
    this.main.replaceChildren(h("p", { class: "summary" }, "Loading…"));
    let system;
    try {
      system = await get(`/systems/${this.id}`);
    } catch (error) {
      if (this.stopped) return;
      const gone = error instanceof ApiError && error.status === 404;
      this.main.replaceChildren(
        h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/" }, "Systems")),
        h("p", { class: "error", role: "alert" }, gone
          ? `System ${this.id} does not exist, or this key may not read it.`
          : `Could not load system ${this.id} (${error.message}).`));
      return;
    }
    if (this.stopped) return;
    document.title = `${system.name} · LSO`;
    const health = new HealthPanel(this.id);
    const refresh = () => this.panels.forEach((p) => { p.at = 0; });
    const upstreams = new UpstreamsPanel(this.id);
    this.panels = [
      health,
      new MutePanel(this.id, this.admin, refresh),
      upstreams,
      new ChartsPanel(this.id),
      new RunsPanel(this.id),
      new ErrorsPanel(this.id),
      new TransitionsPanel(this.id),
      new NotificationsPanel(this.id),
      new PolicyPanel(this.id, this.admin, refresh),
    ];
    const [, mute, , ...rest] = this.panels;
    this.main.replaceChildren(
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
        h("a", { href: "#/" }, "Systems"), " / ", h("span", null, system.name)),
      h("header", { class: "sys-head" },
        h("div", { class: "title-line" }, h("h1", null, system.name), health.badge),
        system.description ? h("p", { class: "description" }, system.description) : null,
        health.reason, health.upstream, health.facts, mute.el),
      rest[0].el, upstreams.el, health.rulesEl, health.stagesEl, ...rest.slice(1).map((p) => p.el),
    );
    this.tick();
  }

  async tick() {
    if (this.stopped) return;
    if (!document.hidden) {
      const now = Date.now();
      await Promise.all(this.panels.filter((p) => now - (p.at || 0) >= p.every).map(async (p) => {
        p.at = now;
        try {
          await p.refresh();
          p.failed(null);
        } catch (error) {
          p.failed(error);
        }
      }));
    }
    if (!this.stopped) this.timer = setTimeout(() => this.tick(), TICK_MS);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    document.title = "LSO";
    for (const panel of this.panels || []) if (panel.destroy) panel.destroy();
  }
}

/** GET /systems/{id}/health: the verdict, reason and figures, the rules and the stages. */
class HealthPanel {
  constructor(systemId) {
    this.id = systemId;
    this.every = TICK_MS;
    this.badge = badge("NO_DATA");
    this.reason = h("p", { class: "reason" });
    this.upstream = h("p", { class: "upstream", hidden: true });
    this.facts = h("p", { class: "facts" });
    this.error = h("p", { class: "error", role: "alert", hidden: true });
    const rules = table("Rules", ["Rule", "Observed", "Threshold", "Sets", "Fired", "Why"]);
    const stages = table("Stages", ["Stage", "Events", "Errors", "Error rate", "p50", "p95",
      "p99"]);
    this.rules = rules.body;
    this.stages = stages.body;
    this.windowNote = h("p", { class: "note" });
    this.rulesEl = h("section", { class: "panel", "aria-labelledby": "rules-h" },
      h("h2", { id: "rules-h" }, "Rules"), this.error, this.windowNote,
      h("div", { class: "table-wrap" }, rules.el));
    this.stagesEl = h("section", { class: "panel", "aria-labelledby": "stages-h" },
      h("h2", { id: "stages-h" }, "Stages"), h("div", { class: "table-wrap" }, stages.el));
  }

  async refresh() {
    const health = await get(`/systems/${this.id}/health`);
    setBadge(this.badge, health.health);
    setText(this.reason, health.reason);
    const failing = health.upstream || [];
    this.upstream.hidden = failing.length === 0;
    this.upstream.replaceChildren(...(failing.length ? ["Failing upstream: "] : []),
      ...failing.flatMap((u, i) => [i ? ", " : "",
        h("a", { href: `#/systems/${u.system_id}` }, u.name), " ", badge(u.health),
        u.since ? ` since ${when(u.since)}` : ""]));
    const some = health.total > 0;
    setText(this.facts, [
      `Last event ${ago(health.last_event_at)}`,
      `${count(health.total)} events in the last ${health.window_seconds} s`,
      some ? `${percent(health.error_rate)} errors` : null,
      some ? `p50 ${ms(health.p50_latency)} · p95 ${ms(health.p95_latency)} · ` +
        `p99 ${ms(health.p99_latency)}` : null,
      health.last_error_at ? `last error ${ago(health.last_error_at)}` : null,
    ].filter(Boolean).join(" · "));
    setAttr(this.facts, "title", health.last_event_at ? `last event ${when(health.last_event_at)}`
      : null);
    setText(this.windowNote, `Over the window ${when(health.window_start)} – ` +
      `${when(health.window_end)}; a rule that fires sets the verdict it names.`);
    fillRows(this.rules, 6, health.rules.map((r) => [
      h("td", null, h("code", null, r.name)),
      h("td", { class: "num" }, ruleValue(r.name, r.observed)),
      h("td", { class: "num" }, ruleValue(r.name, r.threshold)),
      h("td", null, badge(r.sets)),
      h("td", { class: r.fired ? "fired" : "" }, r.fired ? "yes" : "no"),
      r.reason,
    ]), "No rule applies yet (too few events in the window).");
    const stages = Object.entries(health.stages);
    fillRows(this.stages, 7, stages.map(([name, s]) => [
      h("td", null, name),
      h("td", { class: "num" }, count(s.total)),
      h("td", { class: "num" }, count(s.errors)),
      h("td", { class: "num" }, percent(s.error_rate)),
      h("td", { class: "num" }, ms(s.p50_latency)),
      h("td", { class: "num" }, ms(s.p95_latency)),
      h("td", { class: "num" }, ms(s.p99_latency)),
    ]), "No event in the window names a stage.");
  }

  failed(error) {
    this.error.hidden = !error;
    if (error) setText(this.error, `Could not refresh the health (${error.message}).`);
  }
}
