// The segment list and a saved segment's page: members, size over time, entries and exits, the
// control group and its measured uplift.
import { api, settings } from "./api.js";
import { lineChart } from "./charts.js";
import { banner, fill, h, view } from "./dom.js";
import { fmt, fmtTime } from "./format.js";
import { describe } from "./rules.js";
import { upliftPanel } from "./uplift.js";

export async function listView({ catalogue, stillCurrent, reload }) {
  const { segments } = await api("GET", "/segments");
  if (!stillCurrent()) return;
  const rows = segments.map((segment) => {
    const size = h("td", { class: "num", text: "…" });
    const conversions = h("td", { class: "num", text: "…" });
    api("GET", `/segments/${encodeURIComponent(segment.segment_id)}/count`).then((c) => {
      size.textContent = fmt(c.count);
      conversions.textContent = fmt(c.expected_conversions, 1);
    }, () => { size.textContent = "?"; conversions.textContent = "?"; });
    return h("tr", { "data-segment-id": segment.segment_id },
      h("td", {}, h("a", { href: `#/segments/${encodeURIComponent(segment.segment_id)}`, class: "segment-name", text: segment.name })),
      h("td", { class: "rules-summary", text: describe(catalogue, segment) }),
      size, conversions,
      h("td", { text: fmtTime(segment.updated_at) }),
      h("td", {}, h("div", { class: "actions" },
        h("a", { href: `#/segments/${encodeURIComponent(segment.segment_id)}/edit`, class: "button small", text: "Edit" }),
        deleteButton(segment, reload))));
  });
  fill(view(), h("section", { class: "card", "data-testid": "segment-list" },
    h("div", { class: "card-head" },
      h("h1", { text: `Segments of ${settings.project}` }),
      h("a", { href: "#/segments/new", class: "button primary", text: "New segment" })),
    segments.length
      ? h("table", { class: "table" },
        h("thead", {}, h("tr", {}, [["Name"], ["Rules"], ["Size", "num"], ["Expected conversions", "num"], ["Updated"], [""]].map(([t, c]) => h("th", { text: t, class: c })))),
        h("tbody", {}, rows))
      : h("p", { class: "muted", text: "No segments yet: build the first one." })));
}

export function deleteButton(segment, after) {
  const button = h("button", { type: "button", class: "small danger delete-segment", text: "Delete" });
  button.addEventListener("click", async () => {
    if (!button.classList.contains("confirm")) {
      button.classList.add("confirm");
      button.textContent = "Really delete?";
      setTimeout(() => { button.classList.remove("confirm"); button.textContent = "Delete"; }, 4000);
      return;
    }
    button.disabled = true;
    try {
      await api("DELETE", `/segments/${encodeURIComponent(segment.segment_id)}`);
      banner(`Deleted segment “${segment.name}”.`, "ok");
      after();
    } catch (error) {
      button.disabled = false;
      banner(error.message, "error");
    }
  });
  return button;
}

const PAGE_SIZE = 20;

export async function segmentView(segmentId, { catalogue, stillCurrent }) {
  const id = encodeURIComponent(segmentId);
  const [segment, stats, worth, changes] = await Promise.all([
    api("GET", `/segments/${id}`), api("GET", `/segments/${id}/stats`), api("GET", `/segments/${id}/count`),
    latestChanges(id)]);
  if (!stillCurrent()) return;

  const membersBox = h("div", { class: "members", "data-testid": "members" });
  const cursors = [null]; // cursor of each page seen, to go back
  let page = 0;

  async function showPage() {
    membersBox.dataset.state = "loading";
    const cursor = cursors[page];
    const result = await api("GET", `/segments/${id}/members?limit=${PAGE_SIZE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (!stillCurrent()) return;
    if (result.next_cursor) cursors[page + 1] = result.next_cursor;
    const pages = Math.max(1, Math.ceil(result.count / PAGE_SIZE));
    const prev = h("button", { type: "button", class: "small", id: "members-prev", text: "← Previous", disabled: page === 0,
      onclick: () => { page -= 1; showPage(); } });
    const next = h("button", { type: "button", class: "small", id: "members-next", text: "Next →", disabled: !result.next_cursor,
      onclick: () => { page += 1; showPage(); } });
    fill(membersBox,
      h("div", { class: "card-head" }, h("h2", { text: "Members" }),
        h("span", { class: "muted", id: "members-count", "data-count": result.count, text: `${fmt(result.count)} profiles, page ${page + 1} of ${pages}` })),
      h("table", { class: "table", id: "members-table" },
        h("thead", {}, h("tr", {}, [["Profile"], ["Conversion potential", "num"], ["CLV", "num"], ["Customer type"], ["Persuasion type"], ["Orders", "num"], ["Last seen"]].map(([t, c]) => h("th", { text: t, class: c })))),
        h("tbody", {}, result.profiles.map((p) => h("tr", { "data-profile-id": p.profile_id },
          h("td", {}, h("a", { href: `#/profiles/${encodeURIComponent(p.profile_id)}`, text: p.profile_id })),
          h("td", { class: "num", text: fmt(p.predictive.conversion_potential, 1) }),
          h("td", { class: "num", text: fmt(p.predictive.clv, 2) }),
          h("td", { text: p.predictive.customer_type || "–" }),
          h("td", { text: p.predictive.persuasion_type || "–" }),
          h("td", { class: "num", text: fmt(p.behaviour.orders) }),
          h("td", { text: fmtTime(p.behaviour.last_seen) }))))),
      h("div", { class: "pager" }, prev, next));
    membersBox.dataset.state = "ready";
    membersBox.dataset.page = String(page + 1);
  }

  const history = [...stats.history].reverse().map((p) => ({ at: p.at, size: p.size }));
  const upliftBox = h("div", { class: "uplift", id: "uplift-box" });
  fill(view(),
    h("section", { class: "card", "data-testid": "segment" },
      h("div", { class: "card-head" },
        h("div", {}, h("h1", { id: "segment-title", text: segment.name }),
          segment.description ? h("p", { class: "muted", text: segment.description }) : null),
        h("div", { class: "actions" },
          h("a", { href: `#/segments/${id}/edit`, class: "button", id: "edit-segment", text: "Edit" }),
          deleteButton(segment, () => { location.hash = "#/segments"; }))),
      h("p", { class: "rules-summary", text: describe(catalogue, segment) }),
      h("dl", { class: "figures wide" },
        h("div", {}, h("dt", { text: "Size now" }), h("dd", { id: "stats-size", text: fmt(stats.size) })),
        h("div", {}, h("dt", { text: "Expected conversions" }), h("dd", { text: fmt(worth.expected_conversions, 1) })),
        h("div", {}, h("dt", { text: "Expected value" }), h("dd", { text: fmt(worth.expected_value, 0) })),
        h("div", {}, h("dt", { text: "Last full evaluation" }), h("dd", { class: "small", text: stats.last_computed_at ? `${fmtTime(stats.last_computed_at)} (${fmt(stats.last_duration_ms)} ms)` : "not yet" })))),
    h("div", { class: "two-columns" },
      h("section", { class: "card" }, h("h2", { text: "Size over time" }),
        history.length ? lineChart(history) : h("p", { class: "muted", text: "No full evaluation yet: one runs in the background after every save and rescore." }),
        h("p", { class: "muted small", text: `${history.length} full evaluation${history.length === 1 ? "" : "s"}` })),
      h("section", { class: "card", "data-testid": "changes" }, h("h2", { text: "Latest entries and exits" }),
        changes.length
          ? h("table", { class: "table compact", id: "changes-table" },
            h("thead", {}, h("tr", {}, ["When", "Profile", "Change"].map((t) => h("th", { text: t })))),
            h("tbody", {}, changes.map((c) => h("tr", {},
              h("td", { text: fmtTime(c.at) }),
              h("td", {}, h("a", { href: `#/profiles/${encodeURIComponent(c.profile_id)}`, text: c.profile_id })),
              h("td", {}, h("span", { class: `tag ${c.change}`, text: c.change }))))))
          : h("p", { class: "muted", text: "No entries or exits in the last 7 days." }))),
    h("section", { class: "card", "data-testid": "uplift" }, h("h2", { text: "Uplift" }),
      controlForm(segment, id, () => showUplift(upliftBox, id, stillCurrent)), upliftBox),
    h("section", { class: "card" }, membersBox));
  showUplift(upliftBox, id, stillCurrent);
  await showPage();
}

// The control percentage, saved with PATCH (members move between the groups at the evaluation
// the save queues).
function controlForm(segment, id, after) {
  const input = h("input", { type: "number", min: "0", max: "50", step: "1", id: "control-percent",
    value: String(segment.control_percent ?? 0), "aria-label": "Control group percentage" });
  const save = h("button", { type: "submit", class: "small", id: "save-control", text: "Save" });
  const form = h("form", { class: "control-form" },
    h("label", { for: "control-percent", text: "Control group (held out of exports, webhooks and ad syncs): " }),
    input, h("span", { text: " % " }), save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    save.disabled = true;
    try {
      const saved = await api("PATCH", `/segments/${id}`, { control_percent: Number(input.value) });
      banner(`Control group set to ${fmt(saved.control_percent)} %; members move at the next evaluation.`, "ok");
      after();
    } catch (error) {
      banner(error.path ? `${error.message} (${error.path})` : error.message, "error");
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

async function showUplift(box, id, stillCurrent) {
  box.dataset.state = "loading";
  try {
    const report = await api("GET", `/segments/${id}/uplift`);
    if (!stillCurrent()) return;
    fill(box, ...upliftPanel(report));
  } catch (error) {
    if (!stillCurrent()) return;
    fill(box, h("p", { class: "muted", "data-testid": "uplift-verdict",
      text: error.code === "no_control_group"
        ? "No control group yet: hold out a percentage of the members to measure whether targeting them sells more."
        : `Uplift unavailable: ${error.message}` }));
  }
  box.dataset.state = "ready";
}

// The newest entries and exits of the last 7 days (the API lists them oldest first).
async function latestChanges(id, show = 15, maxPages = 5) {
  let all = [], cursor = null;
  for (let i = 0; i < maxPages; i += 1) {
    const result = await api("GET", `/segments/${id}/changes?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    all = all.concat(result.changes).slice(-show);
    cursor = result.next_cursor;
    if (!cursor) break;
  }
  return all.reverse();
}
