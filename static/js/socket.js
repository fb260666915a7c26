// A WebSocket to a path on this server that reconnects with exponential backoff (0.5 s, 1 s,
// 2 s, … at most 10 s) when it drops, until close(). The one reconnect/close logic of the page:
// the run socket (api.js's RunSocket) and the class feed (class-socket.js) are built on it.

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10000;

export class ReconnectingSocket {
  /**
   * @param {string} path e.g. "/api/class/events?runs=false"
   * @param {{
   *   onMessage: (msg: object) => void,
   *   onOpen?: (ws: WebSocket) => void,
   *   onDrop?: (ev: CloseEvent, attempt: number) => boolean,
   * }} handlers onMessage gets every frame, parsed (one that is not JSON is skipped); onOpen
   *   runs on every (re)connection; onDrop on every drop, with the number of retries since
   *   the last open, and returns false to give up (no more retries)
   */
  constructor(path, { onMessage, onOpen = () => {}, onDrop = () => true }) {
    this.path = path;
    this.onMessage = onMessage;
    this.onOpen = onOpen;
    this.onDrop = onDrop;
    /** @type {WebSocket | null} the current connection (null between connections) */
    this.ws = null;
    this.closed = false;
    this.attempt = 0;
    this.timer = null;
    this.connect();
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}${this.path}`;
  }

  connect() {
    if (this.closed) return;
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.onOpen(ws);
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return; // not ours to crash on
      }
      this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed || !this.onDrop(ev, this.attempt)) return;
      const delay = Math.min(RETRY_FIRST_MS * 2 ** this.attempt, RETRY_MAX_MS);
      this.attempt++;
      this.timer = setTimeout(() => this.connect(), delay);
    };
    ws.onerror = () => {
      /* onclose follows and schedules the retry */
    };
  }

  /** Send `msg` (JSON) now if connected; false when not (nothing is queued). */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  /** For good: no more retries; a connection still opening is closed once it opens. */
  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      if (ws.readyState === WebSocket.CONNECTING) ws.onopen = () => ws.close();
      else ws.close();
    }
  }
}
