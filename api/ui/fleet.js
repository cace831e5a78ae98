// The fleet page: every system the key may see, worst first, from the paged overview
// (GET /health?figures=true: verdict, reason and the window's figures of one page), with a
// strip of the last hour for the rows on screen only. A refresh updates the rows in place, so
// nothing flickers and the scroll position stays.

import { ApiError, get } from "./api.js";
import { badge, h, setAttr, setBadge, setText, VERDICTS, verdictWord } from "./dom.js";
import { ago, count, ms, percent, when } from "./format.js";
import { Strip } from "./strip.js";

const REFRESH_MS = 5000;
const STRIP_REFRESH_MS = 30000;
const STRIP_MINUTES = 60;
const STRIP_CONCURRENCY = 2; // history reads in flight at once: the list's own read first
const PAGE_SIZES = [50, 100, 200];
const COLUMNS = ["Verdict", "System", "Reason", "Last event", "Events", "Error rate", "p95",
  "Last hour"];

export class FleetPage {
  /** `params`: the filters of the location (#/?health=&prefix=&size=). */
  constructor(main, params) {
    this.main = main;
    this.health = VERDICTS.includes(params.get("health")) ? params.get("health") : "";
    this.prefix = params.get("prefix") || "";
    const size = Number(params.get("size"));
    this.size = PAGE_SIZES.includes(size) ? size : PAGE_SIZES[0];
    this.cursors = [null]; // the cursor of each page walked so far; the last is this page's
    this.next = null;
    this.rows = new Map(); // system id → row
    this.visible = new Set(); // system ids whose row is on screen
    this.stripQueue = [];
    this.stripsInFlight = 0;
    this.timer = null;
    this.seq = 0;
    this.stopped = false;
  }

  start() {
    this.render();
    this.observer = new IntersectionObserver((entries) => this.onScroll(entries));
    this.load();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.typing);
    if (this.observer) this.observer.disconnect();
  }

  render() {
    const verdict = h("select", { id: "f-health", onchange: () => this.filter() },
      h("option", { value: "" }, "All verdicts"),
      VERDICTS.map((v) => h("option", { value: v, selected: v === this.health }, verdictWord(v))));
    const prefix = h("input", {
      id: "f-prefix", type: "search", value: this.prefix, autocomplete: "off",
      spellcheck: "false", placeholder: "e.g. etl/",
      oninput: () => {
        clearTimeout(this.typing);
        this.typing = setTimeout(() => this.filter(), 300);
      },
    });
    const size = h("select", { id: "f-size", onchange: () => this.filter() },
      PAGE_SIZES.map((n) => h("option", { value: n, selected: n === this.size }, String(n))));
    this.inputs = { verdict, prefix, size };
    this.summary = h("p", { class: "summary", "aria-live": "polite" }, "Loading…");
    this.error = h("p", { class: "error", role: "alert", hidden: true });
    this.body = h("tbody");
    this.prev = h("button", { type: "button", onclick: () => this.page(-1) }, "← Previous");
    this.nextButton = h("button", { type: "button", onclick: () => this.page(1) }, "Next →");
    this.pageLabel = h("span", { class: "page-label" });
    this.main.replaceChildren(
      h("section", { class: "fleet" },
        h("h1", null, "Systems"),
        h("form", { class: "filters", role: "search", onsubmit: (e) => e.preventDefault() },
          h("label", { for: "f-health" }, "Verdict"), verdict,
          h("label", { for: "f-prefix" }, "Name starts with"), prefix,
          h("label", { for: "f-size" }, "Per page"), size),
        this.summary,
        this.error,
        h("div", { class: "table-wrap" },
          h("table", { class: "grid fleet-table" },
            h("caption", { class: "visually-hidden" }, "Systems, worst first"),
            h("thead", null, h("tr", null, COLUMNS.map((c, i) =>
              h("th", { scope: "col", class: `c${i}` }, c)))),
            this.body)),
        h("nav", { class: "pager", "aria-label": "Pages" }, this.prev, this.pageLabel,
          this.nextButton),
        h("p", { class: "legend" }, "Last hour: one tick a minute, ",
          h("span", { class: "tick v-ok" }), " OK ",
          h("span", { class: "tick v-degraded" }), " degraded ",
          h("span", { class: "tick v-unhealthy" }), " unhealthy ",
          h("span", { class: "tick t-empty" }), " no events. Hover a tick for its figures.")),
    );
  }

  /** The filters changed: back to the first page, and into the location (no reload). */
  filter() {
    this.health = this.inputs.verdict.value;
    this.prefix = this.inputs.prefix.value;
    this.size = Number(this.inputs.size.value);
    const query = new URLSearchParams();
    if (this.health) query.set("health", this.health);
    if (this.prefix) query.set("prefix", this.prefix);
    if (this.size !== PAGE_SIZES[0]) query.set("size", String(this.size));
    const text = query.toString();
    history.replaceState(null, "", text ? `#/?${text}` : "#/");
    this.cursors = [null];
    this.load();
  }

  page(direction) {
    if (direction > 0 && this.next) this.cursors.push(this.next);
    else if (direction < 0 && this.cursors.length > 1) this.cursors.pop();
    else return;
    this.load();
    this.main.querySelector("h1").scrollIntoView({ block: "nearest" });
  }

  async load() {
    clearTimeout(this.timer);
    this.stripQueue = []; // rows of the page shown so far; the new page queues its own
    const seq = ++this.seq;
    const params = {
      figures: "true", limit: this.size, health: this.health || null,
      prefix: this.prefix || null, cursor: this.cursors[this.cursors.length - 1],
    };
    try {
      const answer = await get("/health", params);
      if (seq !== this.seq || this.stopped) return;
      this.show(answer);
      this.error.hidden = true;
    } catch (error) {
      if (seq !== this.seq || this.stopped) return;
      if (error instanceof ApiError && error.status === 422 && this.cursors.length > 1) {
        this.cursors = [null]; // a cursor from before a change of filter: start again
        this.load();
        return;
      }
      this.error.hidden = false;
      setText(this.error, `Could not refresh the list (${error.message}); showing the last answer.`);
    }
    if (!this.stopped) this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
  }

  refresh() {
    if (document.hidden) {
      this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
      return;
    }
    this.load();
  }

  show(answer) {
    const lines = answer.systems;
    this.next = answer.next_cursor;
    const first = (this.cursors.length - 1) * this.size;
    const filters = [this.health && verdictWord(this.health), this.prefix && `“${this.prefix}…”`]
      .filter(Boolean).join(", ");
    setText(this.summary, lines.length
      ? `Systems ${first + 1}–${first + lines.length}${this.next ? "" : " (the last)"}, worst ` +
        `first${filters ? `, only ${filters}` : ""}. Updated ${new Date().toLocaleTimeString()}.`
      : `No system${filters ? ` matches ${filters}` : " yet: register one with POST /systems"}.`);
    setText(this.pageLabel, `Page ${this.cursors.length}`);
    this.prev.disabled = this.cursors.length <= 1;
    this.nextButton.disabled = !this.next;

    const seen = new Set();
    let before = this.body.firstChild;
    for (const line of lines) {
      seen.add(line.system_id);
      let row = this.rows.get(line.system_id);
      if (!row) {
        row = this.makeRow(line.system_id);
        this.rows.set(line.system_id, row);
        this.observer.observe(row.tr);
      }
      this.update(row, line);
      if (row.tr !== before) this.body.insertBefore(row.tr, before);
      before = row.tr.nextSibling;
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        this.observer.unobserve(row.tr);
        row.tr.remove();
        this.rows.delete(id);
        this.visible.delete(id);
      }
    }
    if (!lines.length) {
      this.body.replaceChildren(h("tr", { class: "none" },
        h("td", { colspan: COLUMNS.length, class: "empty" }, "Nothing to show.")));
    } else {
      for (const stale of this.body.querySelectorAll("tr.none")) stale.remove();
    }
    this.queueStrips();
  }

  makeRow(id) {
    const cells = {
      badge: badge("NO_DATA"),
      name: h("a", { href: `#/systems/${id}` }),
      reason: h("td", { class: "c2 reason" }),
      last: h("td", { class: "c3" }),
      total: h("td", { class: "c4 num" }),
      rate: h("td", { class: "c5 num" }),
      p95: h("td", { class: "c6 num" }),
      strip: new Strip(STRIP_MINUTES, "Last hour"),
    };
    const tr = h("tr", { dataset: { systemId: String(id) } },
      h("td", { class: "c0" }, cells.badge),
      h("th", { scope: "row", class: "c1 name" }, cells.name),
      cells.reason, cells.last, cells.total, cells.rate, cells.p95,
      h("td", { class: "c7" }, cells.strip.el));
    return { id, tr, cells, stripAt: 0, loading: false };
  }

  update(row, line) {
    const c = row.cells;
    setBadge(c.badge, line.health);
    setText(c.name, line.name);
    setText(c.reason, line.reason);
    setText(c.last, ago(line.last_event_at));
    setAttr(c.last, "title", line.last_event_at ? when(line.last_event_at) : null);
    const some = line.total > 0;
    setText(c.total, count(line.total));
    setAttr(c.total, "title", line.window_seconds ? `in the last ${line.window_seconds} s` : null);
    setText(c.rate, some ? percent(line.error_rate) : "—");
    setText(c.p95, some ? ms(line.p95_latency) : "—");
    const evaluated = line.evaluated_at ? `evaluated ${ago(line.evaluated_at)}` : "not evaluated";
    setAttr(c.badge, "title", line.since ? `since ${when(line.since)}, ${evaluated}` : evaluated);
  }

  onScroll(entries) {
    for (const entry of entries) {
      const id = Number(entry.target.dataset.systemId);
      if (entry.isIntersecting) this.visible.add(id);
      else this.visible.delete(id);
    }
    this.queueStrips();
  }

  /** Fetch the strips of the rows on screen that are missing or older than STRIP_REFRESH_MS. */
  queueStrips() {
    const now = Date.now();
    for (const id of this.visible) {
      const row = this.rows.get(id);
      if (row && !row.loading && now - row.stripAt > STRIP_REFRESH_MS) {
        row.loading = true;
        this.stripQueue.push(row);
      }
    }
    while (this.stripsInFlight < STRIP_CONCURRENCY && this.stripQueue.length) {
      const row = this.stripQueue.shift();
      if (this.rows.get(row.id) === row) this.loadStrip(row);
      else row.loading = false; // paged or filtered away meanwhile
    }
  }

  async loadStrip(row) {
    this.stripsInFlight += 1;
    try {
      const from = new Date(Date.now() - STRIP_MINUTES * 60000).toISOString();
      const answer = await get(`/systems/${row.id}/health/history`, { from, step: 60 });
      if (!this.stopped) row.cells.strip.show(answer.points);
    } catch (error) {
      // Deleted meanwhile, or the store away: the next pass tries again.
    } finally {
      row.stripAt = Date.now();
      row.loading = false;
      this.stripsInFlight -= 1;
      if (!this.stopped) this.queueStrips();
    }
  }
}
