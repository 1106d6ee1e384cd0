// Building the page: elements from tag, attributes and children. Everything that comes from the
// API is put on the page as text (textContent / attributes), never as HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = value;
    else if (name === "value") el.value = value;
    else if (name === "checked" || name === "selected") el[name] = Boolean(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
}

// Replace an element's content (null, false and undefined children are left out).
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const view = () => document.getElementById("view");

let bannerTimer = null;

export function banner(message, kind = "info") {
  const el = document.getElementById("banner");
  el.textContent = message;
  el.className = `banner ${kind}`;
  el.hidden = !message;
  clearTimeout(bannerTimer);
  if (message && kind === "ok") bannerTimer = setTimeout(() => { el.hidden = true; }, 4000);
}
