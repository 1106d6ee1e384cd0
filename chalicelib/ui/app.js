// The segment builder's page: plain JavaScript modules, no framework, no build step. It talks to
// the API on the same origin with the project's key. This module routes the URL's #fragment to a
// view and loads, once per project, the catalogue every view reads (GET /fields).
import { api, settings } from "./api.js";
import { builderView } from "./builder.js";
import { buildCatalogue } from "./catalogue.js";
import { banner, fill, h, view } from "./dom.js";
import { modelView } from "./model.js";
import { profileView } from "./profile.js";
import { listView, segmentView } from "./segments.js";

let catalogue = null; // of catalogueProject
let catalogueProject = null;

async function loadCatalogue() {
  if (catalogue && catalogueProject === settings.project) return catalogue;
  const response = await api("GET", "/fields");
  catalogue = buildCatalogue(response);
  catalogueProject = settings.project;
  return catalogue;
}

let current = { dispose() {} }; // the view on screen; disposed when another one is rendered
let renderToken = 0;

async function route() {
  current.dispose();
  const shown = { dispose() {} };
  current = shown;
  const token = ++renderToken;
  const hash = location.hash.replace(/^#/, "") || "/segments";
  const parts = hash.split("/").filter(Boolean).map(decodeURIComponent);
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active",
    (a.dataset.nav === "new" && hash === "/segments/new") || (a.dataset.nav === "segments" && hash === "/segments") || (a.dataset.nav === "model" && hash === "/model")));
  if (!settings.project || !settings.key) {
    fill(view(), h("section", { class: "card empty" },
      h("h1", { text: "Connect to a project" }),
      h("p", { text: "Enter a project id and one of its API keys at the top right. They are kept in this browser only." })));
    return;
  }
  const stillCurrent = () => token === renderToken;
  fill(view(), h("p", { class: "muted", text: "Loading…" }));
  try {
    const context = { catalogue: await loadCatalogue(), stillCurrent, reload: route,
      onDispose: (dispose) => { shown.dispose = dispose; } };
    if (parts[0] === "segments" && parts[1] === "new") await builderView(null, context);
    else if (parts[0] === "segments" && parts[1] && parts[2] === "edit") await builderView(parts[1], context);
    else if (parts[0] === "segments" && parts[1]) await segmentView(parts[1], context);
    else if (parts[0] === "profiles" && parts[1]) await profileView(parts[1], context);
    else if (parts[0] === "model") await modelView(context);
    else await listView(context);
  } catch (error) {
    if (!stillCurrent()) return;
    fill(view(), h("section", { class: "card" }, h("h1", { text: "Something went wrong" }),
      h("p", { class: "error", "data-testid": "view-error", text: error.message })));
  }
}

function start() {
  const project = document.getElementById("project-id");
  const key = document.getElementById("api-key");
  project.value = settings.project;
  key.value = settings.key;
  document.getElementById("connect").addEventListener("submit", (event) => {
    event.preventDefault();
    settings.save(project.value.trim(), key.value.trim());
    catalogue = null; // the key may see another project, or the same one with new attributes
    banner("");
    if (!location.hash || location.hash === "#/segments") route();
    else location.hash = "#/segments";
  });
  document.getElementById("profile-lookup").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = document.getElementById("profile-lookup-id").value.trim();
    if (id) location.hash = `#/profiles/${encodeURIComponent(id)}`;
  });
  window.addEventListener("hashchange", route);
  route();
}

start();
