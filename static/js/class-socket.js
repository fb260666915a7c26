// The class feed, WebSocket /api/class/events, reconnecting with backoff when it drops
// (socket.js). Each (re)connection starts with the `config` message and, for the teacher's
// pages, a `snapshot` of every run, so a reconnect repairs whatever was missed. Used by the
// dashboard, the projector view and the learner's "Teacher's config" (which asks for the
// config only).

import { ReconnectingSocket } from "./socket.js";

export class ClassSocket {
  /**
   * @param {(msg: object) => void} onMessage every message, parsed
   * @param {{runs?: boolean, onState?: (connected: boolean) => void}} options runs: false
   *   asks for the config messages only
   */
  constructor(onMessage, { runs = true, onState = () => {} } = {}) {
    this.socket = new ReconnectingSocket(`/api/class/events${runs ? "" : "?runs=false"}`, {
      onMessage,
      onOpen: () => onState(true),
      onDrop: () => {
        onState(false);
        return true;
      },
    });
  }

  close() {
    this.socket.close();
  }
}
