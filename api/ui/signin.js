// Signing in: a pasted admin or read key, checked with GET /keys/current before it is kept.

import { ApiError, call } from "./api.js";
import { h, setText } from "./dom.js";

/** The sign-in form; `signedIn(key, who)` once a key that may read was given. */
export function signInForm(signedIn, message) {
  // No `name` on the input: even if the form were ever submitted natively, the key would not
  // travel in a URL.
  const input = h("input", {
    id: "key", type: "password", autocomplete: "off", spellcheck: "false", required: true,
    placeholder: "lso_a_… or lso_r_…",
  });
  const error = h("p", { class: "error", role: "alert", hidden: !message }, message || "");
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "signin-form", method: "post", action: "#" },
    h("label", { for: "key" }, "API key"), input, button, error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    button.disabled = true;
    try {
      const who = await call("GET", "/keys/current", { key });
      if (who.kind !== "admin" && who.kind !== "read") {
        throw new Error(`a ${who.kind} key cannot read: use an admin or a read key`);
      }
      input.value = "";
      signedIn(key, who);
    } catch (failure) {
      error.hidden = false;
      const refused = failure instanceof ApiError && failure.status === 401;
      setText(error, refused ? "This key is not valid, or it was revoked." : failure.message);
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  const section = h("section", { class: "signin" },
    h("h1", null, "Sign in"),
    h("p", null, "Paste an admin key or a read key. It is kept in this browser tab only " +
      "(session storage) and sent to LSO with each request; signing out or closing the tab " +
      "forgets it. A read key shows only its own systems."),
    form,
    h("p", { class: "note" }, "The admin key of ", h("code", null, "lso up"), " is in ",
      h("code", null, "<data dir>/admin-token"), " (", h("code", null, ".lso/admin-token"),
      " for ", h("code", null, "scripts/run"), ")."));
  setTimeout(() => input.focus(), 0);
  return section;
}
