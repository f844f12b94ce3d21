import { api } from "./api.js";

const SETTLED = new Set(["completed", "partially_completed", "failed"]);
const POLL_MS = 1500;
const RETRY_MS = 2000;
const FAILURES_BEFORE_POLLING = 3;

/** True when a batch will not change again unless someone acts on it. */
export function isSettled(status) {
  return SETTLED.has(status);
}

/**
 * Follow a batch's progress counters: pushed by the server (Server-Sent Events, opened with a
 * one-minute ticket since EventSource cannot send the token), or polled when streams fail.
 * Stops by itself once the batch settles; the returned function stops it sooner.
 */
export function followBatch(id, onCounters) {
  let source = null;
  let timer = null;
  let stopped = false;
  let failures = 0;

  function deliver(counters) {
    if (stopped) return;
    onCounters(counters);
    if (isSettled(counters.status)) stop();
  }

  async function poll() {
    if (stopped) return;
    try {
      if (!document.hidden) deliver((await api.batchBrief(id)).batch);
    } catch (error) {
      console.warn("refresh failed:", error.message || error);
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  async function open() {
    if (stopped) return;
    if (typeof EventSource === "undefined" || failures >= FAILURES_BEFORE_POLLING) return poll();
    try {
      const ticket = await api.streamTicket(id);
      if (stopped) return;
      source = new EventSource(ticket.url);
    } catch (error) {
      failures += 1;
      timer = setTimeout(open, RETRY_MS);
      return;
    }
    source.addEventListener("progress", (event) => {
      failures = 0;
      deliver(JSON.parse(event.data));
    });
    source.addEventListener("error", () => {
      if (stopped || source.readyState !== EventSource.CLOSED) return;
      failures += 1;
      timer = setTimeout(open, RETRY_MS);
    });
  }

  function stop() {
    stopped = true;
    clearTimeout(timer);
    if (source) source.close();
  }

  open();
  return stop;
}
