// A section of the system page that refreshes on its own period (SystemPage.tick).

import { h, setText } from "./dom.js";

/** A titled section with a line for its errors; panels extend it. */
export class Panel {
  constructor(id, title, every) {
    this.every = every;
    this.at = 0;
    this.error = h("p", { class: "error", role: "alert", hidden: true });
    this.el = h("section", { class: "panel", "aria-labelledby": id },
      h("h2", { id }, title), this.error);
  }

  failed(error) {
    this.error.hidden = !error;
    if (error) setText(this.error, `Could not refresh (${error.message}).`);
  }
}
