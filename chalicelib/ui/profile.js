// A profile: attributes, behaviour, the predictive fields with their explanations, its segments.
// The behaviour and predictive fields shown are the catalogue's (GET /fields), in its order.
import { api } from "./api.js";
import { fill, h, view } from "./dom.js";
import { fieldValue, fmt, fmtTime } from "./format.js";

export async function profileView(profileId, { catalogue, stillCurrent }) {
  const [profile, memberOf] = await Promise.all([
    api("GET", `/profiles/${encodeURIComponent(profileId)}`),
    api("GET", `/profiles/${encodeURIComponent(profileId)}/segments`)]);
  if (!stillCurrent()) return;
  const attributes = Object.entries(profile.attributes).sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => [k, fieldValue(catalogue.byPath.get(`attributes.${k}`) || { type: "text" }, v)]);
  // a catalogue field's key in its section of the profile: "predictive.clv" -> "clv"
  const inGroup = (group) => catalogue.fields.filter((f) => f.group === group)
    .map((f) => ({ field: f, key: f.path.slice(group.length + 1) }));
  const behaviour = inGroup("behaviour").map(({ field, key }) => [field.label, fieldValue(field, profile.behaviour[key])]);
  const predictive = inGroup("predictive");
  const persuasion = Object.entries(profile.behaviour.persuasion || {});
  const p = profile.predictive || {};
  const explanations = p.explanations || {};
  const kv = (rows) => h("table", { class: "table kv" }, h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { text: k }), h("td", { text: v })))));

  fill(view(),
    h("section", { class: "card", "data-testid": "profile" },
      h("div", { class: "card-head" }, h("h1", { id: "profile-title", text: `Profile ${profile.profile_id}` }),
        h("span", { class: "muted", text: `created ${fmtTime(profile.created_at)}, updated ${fmtTime(profile.updated_at)}` }))),
    h("div", { class: "two-columns" },
      h("section", { class: "card" }, h("h2", { text: "Attributes" }),
        attributes.length ? kv(attributes) : h("p", { class: "muted", text: "No attributes." })),
      h("section", { class: "card" }, h("h2", { text: "Behaviour" }),
        kv(behaviour),
        persuasion.length ? [h("h3", { text: "Persuasion principles shown (responded)" }),
          kv(persuasion.map(([principle, [shown, responded]]) => [principle, `${fmt(shown)} (${fmt(responded)})`]))] : null)),
    h("section", { class: "card", "data-testid": "predictive" }, h("h2", { text: "Predictive fields" }),
      p.scored_at
        ? [h("div", { class: "predictive-grid" }, predictive.map(({ field, key }) => h("div", { class: "predictive", "data-field": key },
            h("h3", { text: field.label }),
            h("p", { class: "predictive-value", text: fieldValue(field, p[key]) }),
            // only some fields are explained (the model says which): the others show their value
            !(key in explanations) ? null
              : (explanations[key] || []).length
                ? h("ul", { class: "explanations" }, explanations[key].map((e) => h("li", { text: e })))
                : h("p", { class: "muted small", text: "no explanation" })))),
          h("p", { class: "muted small", text: `Scored ${fmtTime(p.scored_at)} with model ${p.model_version || "?"}, as of ${p.as_of || "?"}; conversion within ${p.conversion_horizon_days || "?"} days, CLV over ${p.clv_horizon_days || "?"} days.` })]
        : h("p", { class: "muted", text: "Not scored yet: profiles are scored a few seconds after they change." })),
    h("section", { class: "card", "data-testid": "profile-segments" }, h("h2", { text: "Segments" }),
      memberOf.segments.length
        ? h("ul", {}, memberOf.segments.map((sg) => h("li", {},
            h("a", { href: `#/segments/${encodeURIComponent(sg.segment_id)}`, text: sg.name || sg.segment_id }))))
        : h("p", { class: "muted", text: "In no saved segment (as of the last evaluation)." })));
}
