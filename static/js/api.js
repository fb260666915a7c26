// Talks to the server: JSON fetch helpers and a self-healing WebSocket for one run.
// Everything else in the page goes through here, so "is the server reachable?" is known in
// one place and the banner can follow it. Reachability is owned here alone: any request that
// cannot reach the server marks it unreachable, and only the health check (/healthz, polled
// while unreachable) marks it reachable again. An ordinary success cannot clear it: the page
// sends requests in parallel (predict and explain), and a late answer to one says nothing
// about the failure of another.

import { friendly } from "./messages.js";
import { ReconnectingSocket } from "./socket.js";

/** An HTTP error with the server's `detail` (a string, or FastAPI's list of field errors). */
export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

/** Thrown when the request never reached the server (down, restarting, offline). */
export class NetworkError extends Error {}

const listeners = new Set();
let reachable = true;
const HEALTH_FIRST_MS = 1000; // the first health check after a failure
const HEALTH_MAX_MS = 5000; // the slowest it polls while the server stays away

/** Subscribe to reachability changes: fn(true|false). */
export function onReachability(fn) {
  listeners.add(fn);
}

function setReachable(value) {
  if (value === reachable) return;
  reachable = value;
  for (const fn of listeners) fn(value);
}

export function isReachable() {
  return reachable;
}

/** fetch + JSON, turning 4xx into ApiError and connection failures into NetworkError. */
export async function request(method, path, body, { signal } = {}) {
  const init = { method, headers: {}, signal };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    setReachable(false);
    throw new NetworkError(`Can't reach the server (${err.message})`);
  }
  if (res.status === 204) return null;
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { detail: text };
    }
  }
  if (!res.ok) throw new ApiError(res.status, data && data.detail !== undefined ? data.detail : text);
  return data;
}

export const get = (path, opts) => request("GET", path, undefined, opts);
export const post = (path, body, opts) => request("POST", path, body, opts);
export const patch = (path, body, opts) => request("PATCH", path, body, opts);

/** Turn an ApiError's detail into one readable sentence. */
export function describeError(err) {
  if (err instanceof ApiError) {
    const d = err.detail;
    if (Array.isArray(d)) return d.map((e) => friendly(e, fieldOf(e))).join(" ");
    if (typeof d === "string") return d;
    return `The server answered ${err.status}.`;
  }
  return err && err.message ? err.message : String(err);
}

/** The form field a FastAPI validation error points at (last string part of `loc`). */
export function fieldOf(e) {
  if (!e || !Array.isArray(e.loc)) return null;
  for (let i = e.loc.length - 1; i >= 0; i--) {
    if (typeof e.loc[i] === "string" && e.loc[i] !== "body") return e.loc[i];
  }
  return null;
}

/** While unreachable, poll /healthz until it answers: the one way back to "reachable". */
let healthTimer = null;
let healthDelay = HEALTH_FIRST_MS;

async function healthCheck() {
  healthTimer = null;
  try {
    const res = await fetch("/healthz", { cache: "no-store" });
    if (res.ok) {
      healthDelay = HEALTH_FIRST_MS;
      setReachable(true);
      return;
    }
  } catch {
    /* still down */
  }
  if (reachable) return;
  healthDelay = Math.min(healthDelay * 1.5, HEALTH_MAX_MS);
  healthTimer = setTimeout(healthCheck, healthDelay);
}

/** Some sign of life while unreachable (a WebSocket reconnected): check now, not later. */
function checkSoon() {
  if (reachable) return;
  clearTimeout(healthTimer);
  healthTimer = setTimeout(healthCheck, 0);
}

onReachability((ok) => {
  if (ok || healthTimer) return;
  healthDelay = HEALTH_FIRST_MS;
  healthTimer = setTimeout(healthCheck, healthDelay);
});

/**
 * The live event stream of one run, reconnecting with exponential backoff when it drops
 * (socket.js). Each (re)connection starts with a `snapshot`, so a reconnect repairs any missed
 * events. A close that says the run is gone (4404, 1008) ends it with a `gone` message.
 */
export class RunSocket {
  constructor(runId, onMessage) {
    this.runId = runId;
    // Messages to (re)send after every connect: the current probe and subscriptions.
    this.sticky = new Map();
    this.socket = new ReconnectingSocket(`/api/runs/${encodeURIComponent(runId)}/events`, {
      onMessage,
      onOpen: (ws) => {
        checkSoon();
        for (const msg of this.sticky.values()) ws.send(JSON.stringify(msg));
      },
      onDrop: (ev, attempt) => {
        // 4404-style or 1008 closes mean "no such run": don't hammer the server forever.
        if (ev.code === 4404 || ev.code === 1008) {
          onMessage({ type: "gone", code: ev.code, reason: ev.reason });
          return false;
        }
        if (attempt >= 2) setReachable(false);
        return true;
      },
    });
  }

  /** The current connection (null between connections), for tests that drop it. */
  get ws() {
    return this.socket.ws;
  }

  /** Send now if connected; `key` makes it sticky (re-sent after reconnects, last one wins). */
  send(msg, key) {
    if (key) this.sticky.set(key, msg);
    return this.socket.send(msg);
  }

  close() {
    this.socket.close();
  }
}
