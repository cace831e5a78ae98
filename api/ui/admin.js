// Mute and policy on the system page: shown to every key, changed by admin keys only (the API
// refuses the others with 403 anyway; the controls are not offered to them).

import { call, get } from "./api.js";
import { fillRows, h, setText, table } from "./dom.js";
import { when } from "./format.js";
import { Panel } from "./panel.js";

const MUTE_CHOICES = [
  { label: "1 hour", s: 3600 },
  { label: "4 hours", s: 4 * 3600 },
  { label: "1 day", s: 86400 },
  { label: "1 week", s: 7 * 86400 },
];

/** GET/POST/DELETE /systems/{id}/mute: notifications held back until a time. */
export class MutePanel {
  constructor(systemId, admin, changed) {
    this.id = systemId;
    this.admin = admin;
    this.changed = changed;
    this.every = 10000;
    this.state = h("span", { class: "mute-state" });
    this.error = h("span", { class: "error", role: "alert", hidden: true });
    this.controls = h("span", { class: "mute-controls" });
    this.el = h("div", { class: "mute" }, this.state, this.controls, this.error);
    if (admin) {
      this.choice = h("select", { id: "mute-for", "aria-label": "Mute for" },
        MUTE_CHOICES.map((c) => h("option", { value: c.s }, c.label)));
      this.muteButton = h("button", { type: "button", onclick: () => this.mute() },
        "Mute notifications");
      this.unmuteButton = h("button", { type: "button", onclick: () => this.unmute() }, "Unmute");
    }
  }

  async refresh() {
    const { muted_until: until } = await get(`/systems/${this.id}/mute`);
    setText(this.state, until ? `Notifications muted until ${when(until)}.` : "");
    if (!this.admin) return;
    if (until) this.controls.replaceChildren(this.unmuteButton);
    else this.controls.replaceChildren(this.choice, this.muteButton);
  }

  async act(method, params) {
    try {
      await call(method, `/systems/${this.id}/mute`, { params });
      await this.refresh();
      this.failed(null);
      this.changed();
    } catch (error) {
      this.failed(error);
    }
  }

  mute() {
    const until = new Date(Date.now() + Number(this.choice.value) * 1000).toISOString();
    return this.act("POST", { until });
  }

  unmute() {
    return this.act("DELETE");
  }

  failed(error) {
    this.error.hidden = !error;
    if (error) setText(this.error, ` ${error.message}`);
  }
}

/** GET (and, for admins, PUT) /systems/{id}/policy. */
export class PolicyPanel extends Panel {
  constructor(systemId, admin, changed) {
    super("policy-h", "Policy", 60000);
    this.id = systemId;
    this.changed = changed;
    this.list = table("Policy", ["Setting", "Effective", "Set for this system"]);
    this.el.append(h("div", { class: "table-wrap" }, this.list.el));
    if (admin) {
      this.editor = h("textarea", { id: "policy-json", rows: 8, spellcheck: "false",
        autocomplete: "off" });
      this.saved = h("p", { class: "note", role: "status" });
      this.el.append(h("details", { class: "policy-edit" },
        h("summary", null, "Change the policy"),
        h("label", { for: "policy-json" },
          "The system's own policy, as JSON (a field left out takes the default):"),
        this.editor,
        h("button", { type: "button", onclick: () => this.save() }, "Save the policy"),
        this.saved));
    }
  }

  async refresh() {
    const view = await get(`/systems/${this.id}/policy`);
    const own = Object.fromEntries(Object.entries(view.policy).filter(([, v]) => v !== null));
    fillRows(this.list.body, 3, Object.entries(view.effective).map(([name, value]) => [
      h("td", null, h("code", null, name)),
      shown(value),
      name in own ? shown(own[name]) : "default",
    ]), "No policy.");
    if (this.editor && document.activeElement !== this.editor && !this.dirty) {
      this.editor.value = JSON.stringify(own, null, 2);
    }
    if (this.editor && !this.listening) {
      this.listening = true;
      this.editor.addEventListener("input", () => { this.dirty = true; });
    }
  }

  async save() {
    let body;
    try {
      body = JSON.parse(this.editor.value || "{}");
    } catch (error) {
      setText(this.saved, `Not JSON: ${error.message}`);
      return;
    }
    try {
      await call("PUT", `/systems/${this.id}/policy`, { body });
      this.dirty = false;
      await this.refresh();
      setText(this.saved, `Saved at ${new Date().toLocaleTimeString()}; the next read uses it.`);
      this.changed();
    } catch (error) {
      setText(this.saved, `Not saved: ${error.message}`);
    }
  }
}

function shown(value) {
  if (value === null || value === undefined) return "off";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}
