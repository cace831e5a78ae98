// Calls of LSO's API with the signed-in key.
//
// The key lives in this tab's sessionStorage only: it is sent as `Authorization: Bearer` and
// never put in a URL, a cookie or anything logged; closing the tab or signing out forgets it.

const STORAGE_KEY = "lso.key";
// The API's root: the dashboard is served at <root>/ui/, so a proxy's path prefix is kept.
export const ROOT = new URL("../", document.baseURI);

export class ApiError extends Error {
  constructor(status, detail) {
    super(status ? `${detail} (HTTP ${status})` : detail);
    this.status = status;
    this.detail = detail;
  }
}

const listeners = { unauthorized: [] };

export const session = {
  key() {
    return sessionStorage.getItem(STORAGE_KEY);
  },
  signIn(key) {
    sessionStorage.setItem(STORAGE_KEY, key);
  },
  signOut() {
    sessionStorage.removeItem(STORAGE_KEY);
  },
  /** `fn(error)` when the API refuses the key (401): revoked, or LSO restarted with others. */
  onUnauthorized(fn) {
    listeners.unauthorized.push(fn);
  },
};

/** `path` with its query (`params`' null and undefined values left out), from the API root. */
export function url(path, params) {
  const u = new URL(path.replace(/^\//, ""), ROOT);
  for (const [name, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") u.searchParams.set(name, value);
  }
  return u;
}

/** The JSON answer of one call (null for 204); an ApiError for any other status. `key`
 * overrides the signed-in key (signing in tries a key before keeping it). */
export async function call(method, path, { params, body, key } = {}) {
  const headers = { Accept: "application/json" };
  const token = key === undefined ? session.key() : key;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url(path, params), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch (error) {
    throw new ApiError(0, "LSO does not answer (is it running?)");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (error) {
    data = null;
  }
  if (!response.ok) {
    const failure = new ApiError(response.status, detailOf(data, response));
    if (response.status === 401 && key === undefined) {
      for (const fn of listeners.unauthorized) fn(failure);
    }
    throw failure;
  }
  return data;
}

export const get = (path, params) => call("GET", path, { params });

/** FastAPI's `detail`, a string or a list of {loc, msg}, as one line of text. */
function detailOf(data, response) {
  const detail = data && data.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((e) => `${(e.loc || []).filter((part) => part !== "body").join(".")}: ${e.msg}`)
      .join("; ");
  }
  const retry = response.headers.get("Retry-After");
  return `${response.statusText || "error"}${retry ? ` (retry after ${retry} s)` : ""}`;
}
