// The class feed, WebSocket /api/class/events, reconnecting with backoff when it drops. Each
// (re)connection starts with the `config` message and, for the teacher's pages, a `snapshot`
// of every run, so a reconnect repairs whatever was missed. Used by the dashboard, the
// projector view and the learner's "Teacher's config" (which asks for the config only).

export class ClassSocket {
  /**
   * @param {(msg: object) => void} onMessage every message, parsed
   * @param {{runs?: boolean, onState?: (connected: boolean) => void}} options runs: false
   *   asks for the config messages only
   */
  constructor(onMessage, { runs = true, onState = () => {} } = {}) {
    this.onMessage = onMessage;
    this.onState = onState;
    this.runs = runs;
    this.ws = null;
    this.closed = false;
    this.attempt = 0;
    this.timer = null;
    this.connect();
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/api/class/events${this.runs ? "" : "?runs=false"}`;
  }

  connect() {
    if (this.closed) return;
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.onState(true);
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.onState(false);
      if (this.closed) return;
      const delay = Math.min(500 * 2 ** this.attempt, 10000);
      this.attempt++;
      this.timer = setTimeout(() => this.connect(), delay);
    };
    ws.onerror = () => {
      /* onclose follows and schedules the retry */
    };
  }

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
