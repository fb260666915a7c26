// "Teacher's config" in the train panel: the training config the teacher pushed to the class
// (PUT /api/class/config), offered ready to start with one click, or to put in the form
// first. It arrives live over /api/class/events (config messages only) and is hidden while
// nothing is pushed.

import { ClassSocket } from "./class-socket.js";
import { describeConfig } from "./class-push.js";
import { describeError } from "./api.js";

export class TeacherConfig {
  /**
   * @param {HTMLElement} root the (hidden) box in the train panel
   * @param {{start: (cfg) => Promise, fill: (cfg) => void, message: (text) => void}} actions
   */
  constructor(root, actions) {
    this.root = root;
    this.actions = actions;
    this.config = null;
    const title = document.createElement("h3");
    title.textContent = "Teacher's config";
    this.text = document.createElement("p");
    this.text.className = "small";
    this.text.dataset.testid = "teacher-config-text";
    this.startButton = document.createElement("button");
    this.startButton.type = "button";
    this.startButton.className = "primary";
    this.startButton.dataset.testid = "teacher-config-start";
    this.startButton.textContent = "Start it";
    this.startButton.addEventListener("click", () => this.start());
    const fill = document.createElement("button");
    fill.type = "button";
    fill.className = "ghost";
    fill.dataset.testid = "teacher-config-fill";
    fill.textContent = "Put it in the form";
    fill.addEventListener("click", () => this.config && this.actions.fill(this.config));
    const buttons = document.createElement("div");
    buttons.className = "teacher-config-buttons";
    buttons.append(this.startButton, fill);
    root.replaceChildren(title, this.text, buttons);
    this.socket = new ClassSocket((msg) => msg.type === "config" && this.show(msg), { runs: false });
  }

  show(msg) {
    this.config = msg.config;
    this.root.hidden = !msg.config;
    if (msg.config) this.text.textContent = describeConfig(msg.config);
  }

  async start() {
    if (!this.config) return;
    this.startButton.disabled = true;
    try {
      await this.actions.start({ ...this.config });
    } catch (err) {
      this.actions.message(describeError(err));
    } finally {
      this.startButton.disabled = false;
    }
  }
}
