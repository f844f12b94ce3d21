import { session } from "./session.js";

const BASE = "/api/registration-batches";

/** A refused or failed API call, carrying the API's own message and errors verbatim. */
export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && body.message) || `The server answered ${status}`;
    super(message);
    this.status = status;
    this.body = body || {};
    this.errors = Array.isArray(this.body.errors) ? this.body.errors.map(String) : [];
  }

  /** Every line the API gave: its message, then each error unless it repeats the message. */
  get lines() {
    return [this.message, ...this.errors.filter((e) => e !== this.message)];
  }
}

/** The answer's data; with `tagged`, its ETag too, as `etag` (a change sends it back as If-Match). */
async function request(method, path, body, token = session.token, extra = {}, tagged = false) {
  const headers = { Accept: "application/json", ...extra };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, { message: "Cannot reach the regflow server" });
  }
  const data = await response.json().catch(() => null);
  if (response.status === 401 && token && token === session.token) session.signOut();
  if (!response.ok || (data && data.success === false)) throw new ApiError(response.status, data);
  return tagged ? { ...(data || {}), etag: response.headers.get("ETag") } : data || {};
}

/** A fresh idempotency key (crypto.randomUUID needs a secure context; this does not). */
export function requestKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const keyed = (key) => (key ? { "Idempotency-Key": key } : {});
/** An edit made only on the job's version the page showed: another's change since is a 412. */
const onVersion = (tag) => (tag ? { "If-Match": tag } : {});
const enc = encodeURIComponent;
const job = (id) => `/jobs/${enc(id)}`;
const subStep = (id, key) => `${job(id)}/steps/6/sub-steps/${enc(key)}`;

export const api = {
  listBatches: () => request("GET", ""),
  checkToken: (token) => request("GET", "", undefined, token),
  createBatch: (name, restaurants, key) =>
    request("POST", "", { name, restaurants }, session.token, { "Idempotency-Key": key }),
  batch: (id) => request("GET", `/${enc(id)}`),
  batchBrief: (id) => request("GET", `/${enc(id)}?brief=1`),
  jobsPage: (id, params) => request("GET", `/${enc(id)}/jobs?${new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== ""))}`),
  streamTicket: (id) => request("POST", `/${enc(id)}/stream-token`),
  progress: (id) => request("GET", `/${enc(id)}/progress`),
  start: (id, jobIds) => request("POST", `/${enc(id)}/step-6/start`, jobIds ? { job_ids: jobIds } : {}),
  job: (id) => request("GET", job(id), undefined, session.token, {}, true),
  resume: (id, body = {}) => request("POST", `${job(id)}/resume-step-6`, body),
  cancel: (id, reason) => request("POST", `${job(id)}/cancel`, reason ? { reason } : {}),
  retryNow: (id, key) => request("POST", `${subStep(id, key)}/retry-now`),
  validation: (id, key) => request("GET", `${subStep(id, key)}/validation`),
  setStatus: (id, key, edit, once, tag) =>
    request("PATCH", subStep(id, key), edit, session.token, { ...keyed(once), ...onVersion(tag) }),
  reset: (id, key, edit, once, tag) =>
    request("POST", `${subStep(id, key)}/reset`, edit, session.token, { ...keyed(once), ...onVersion(tag) }),
  events: (id, after, limit = 500) => request("GET", `${job(id)}/events?after_version=${after}&limit=${limit}`),
  stateAt: (id, version) => request("GET", `${job(id)}/state?version=${enc(version)}`),
};
