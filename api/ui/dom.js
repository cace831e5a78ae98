// Building the DOM. Everything users wrote (names, stages, event types, payloads, error texts)
// goes in as text: `h` makes text nodes of strings and sets attributes by name; nothing here
// parses markup (no innerHTML anywhere in the dashboard; tests/api/test_dashboard.py checks).

const FORBIDDEN_ATTRIBUTES = /^(on|style$|srcdoc$|formaction$)/i;

/** An element: h("a", {href: "#/", class: "x", onclick: fn}, "text", child, [more]). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = String(value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (FORBIDDEN_ATTRIBUTES.test(name)) {
      throw new Error(`attribute ${name} is not set from code`);
    } else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Append children: strings and numbers as text, arrays flattened, null and false skipped. */
export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

/** Set an element's text only when it changed (no layout work for an unchanged refresh). */
export function setText(el, text) {
  const value = text === null || text === undefined ? "" : String(text);
  if (el.textContent !== value) el.textContent = value;
}

/** Set (or remove, for null) an attribute only when it changed. */
export function setAttr(el, name, value) {
  if (value === null || value === undefined) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== String(value)) el.setAttribute(name, String(value));
}

const VERDICT_CLASS = {
  OK: "v-ok",
  DEGRADED: "v-degraded",
  UNHEALTHY: "v-unhealthy",
  NO_DATA: "v-nodata",
};
export const VERDICTS = ["UNHEALTHY", "DEGRADED", "NO_DATA", "OK"];

/** The CSS class of a verdict's colour ("v-unknown" for anything else). */
export function verdictClass(verdict) {
  return VERDICT_CLASS[verdict] || "v-unknown";
}

/** A verdict as colour and word. */
export function badge(verdict) {
  return h("span", { class: `badge ${verdictClass(verdict)}` }, verdictWord(verdict));
}

/** Update a badge made by `badge`. */
export function setBadge(el, verdict) {
  setAttr(el, "class", `badge ${verdictClass(verdict)}`);
  setText(el, verdictWord(verdict));
}

export function verdictWord(verdict) {
  return verdict === "NO_DATA" ? "NO DATA" : String(verdict || "?");
}

/** A table with a header row, whose body `fill(rows)` replaces. */
export function table(caption, headers, className) {
  const body = h("tbody");
  const el = h(
    "table",
    { class: className || "grid" },
    caption ? h("caption", { class: "visually-hidden" }, caption) : null,
    h("thead", null, h("tr", null, headers.map((t) => h("th", { scope: "col" }, t)))),
    body,
  );
  return { el, body };
}

/** Replace a tbody's rows; `empty` is the text of a single row when there are none. */
export function fillRows(body, columns, rows, empty) {
  if (!rows.length) {
    body.replaceChildren(h("tr", null, h("td", { colspan: columns, class: "empty" }, empty)));
    return;
  }
  body.replaceChildren(...rows.map((cells) => h("tr", null, cells.map((c) => cellOf(c)))));
}

function cellOf(content) {
  if (content instanceof Node && content.nodeName === "TD") return content;
  return h("td", null, content);
}
