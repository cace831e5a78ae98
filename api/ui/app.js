// The dashboard's entry: who is signed in, and which page the location names
// (#/ the fleet, with its filters; #/systems/<id> one system). The key never enters the
// location: pages are chosen by the fragment, which no request carries.

import { ApiError, call, session } from "./api.js";
import { h, setText } from "./dom.js";
import { FleetPage } from "./fleet.js";
import { signInForm } from "./signin.js";
import { SystemPage } from "./system.js";

const main = document.getElementById("main");
const who = document.getElementById("who");
const signOutButton = document.getElementById("signout");
let caller = null; // GET /keys/current of the signed-in key (or of nobody, with LSO_AUTH=off)
let page = null;
let fleetLocation = "#/"; // the fleet's filters, kept while a system is open

async function route() {
  if (page) page.stop();
  page = null;
  if (!caller) {
    caller = await whoIsCalling();
    if (!caller) return;
  }
  const hash = location.hash || "#/";
  const system = /^#\/systems\/(\d+)$/.exec(hash);
  if (system) {
    page = new SystemPage(main, Number(system[1]), caller);
  } else if (hash === "#/" || hash.startsWith("#/?")) {
    fleetLocation = hash;
    const query = hash.includes("?") ? hash.slice(hash.indexOf("?") + 1) : "";
    page = new FleetPage(main, new URLSearchParams(query));
  } else {
    return; // an in-page link (#main): not a page
  }
  for (const link of document.querySelectorAll("header nav a, a.brand")) {
    link.setAttribute("href", fleetLocation);
  }
  page.start();
  main.focus({ preventScroll: true });
}

/** The caller, or null after showing the sign-in form. */
async function whoIsCalling() {
  try {
    const found = await call("GET", "/keys/current", { key: session.key() });
    showCaller(found, Boolean(session.key()));
    return found;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      const refused = session.key() ? "LSO refused the key kept for this tab; sign in again." : "";
      signOut(refused);
    } else {
      main.replaceChildren(h("p", { class: "error", role: "alert" },
        `LSO does not answer as expected (${error.message}). Reload the page to try again.`));
    }
    return null;
  }
}

function showCaller(found, withKey) {
  const what = found.kind === "admin" ? "an admin key" : `a read key (${found.systems.length} ` +
    `system${found.systems.length === 1 ? "" : "s"})`;
  setText(who, withKey ? `Signed in with ${what}` : "Access control is off (LSO_AUTH=off)");
  signOutButton.hidden = !withKey;
}

function signOut(message) {
  if (page) page.stop();
  page = null;
  caller = null;
  session.signOut();
  setText(who, "");
  signOutButton.hidden = true;
  main.replaceChildren(signInForm((key, found) => {
    session.signIn(key);
    caller = found;
    showCaller(found, true);
    route();
  }, message));
}

signOutButton.addEventListener("click", () => signOut(""));
session.onUnauthorized(() => signOut("LSO refused the key (revoked?); sign in again."));
window.addEventListener("hashchange", route);
route();
