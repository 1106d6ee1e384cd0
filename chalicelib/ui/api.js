// The project and key (kept in this browser's localStorage) and calls to the API on this origin.
import { banner } from "./dom.js";

export const settings = {
  get project() { return localStorage.getItem("segments.project") || ""; },
  get key() { return localStorage.getItem("segments.key") || ""; },
  save(project, key) {
    localStorage.setItem("segments.project", project);
    localStorage.setItem("segments.key", key);
  },
};

export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code;
    this.path = error.path;
  }
}

export async function api(method, path, body) {
  const headers = { "x-api-key": settings.key };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(`/projects/${encodeURIComponent(settings.project)}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch (_) { /* not JSON */ }
  if (!response.ok) {
    const error = (data && data.error) || { code: `http_${response.status}`, message: response.statusText };
    if (response.status === 401 || response.status === 403) {
      banner(`${error.message}: check the project and API key above.`, "error");
    }
    throw new ApiError(response.status, error);
  }
  return data;
}
