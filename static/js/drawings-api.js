// The learner's labelled drawings (issue 17 §1), the page's one copy: GET /api/drawings fills
// it, and every change the page makes (save, relabel, delete, import) goes through here, so the
// correction buttons, the "My drawings" panel and the fine-tune button read the same list and
// counts and are told when it changes. In class mode a learner owns their drawings; a caller
// without an identity (401) may not have any, and `blocked` says why.

import { ApiError, describeError, get, patch, post, request } from "./api.js";
import { whoami } from "./identity.js";
import { vocabulary } from "./vocab.js";

export const NO_IDENTITY = "Saving drawings needs your identity on this class server: allow this site's cookie and reload the page.";

/** An import the server refused: its `detail` and the bad rows [{row, file, error}]. */
export class ImportError extends Error {
  constructor(status, detail, errors) {
    super(typeof detail === "string" ? detail : `The server answered ${status}.`);
    this.status = status;
    this.errors = Array.isArray(errors) ? errors : [];
  }
}

class Drawings {
  constructor() {
    this.list = []; // DrawingInfo, oldest first
    this.loaded = false;
    this.blocked = null; // why this page may not keep drawings (no identity), else null
    this.error = null; // why the list could not be loaded, else null
    this.listeners = new Set();
  }

  /** fn() after every change of the list (or of `blocked`). */
  subscribe(fn) {
    this.listeners.add(fn);
  }

  emit() {
    for (const fn of this.listeners) fn();
  }

  get total() {
    return this.list.length;
  }

  /** How many drawings carry each label: {0: n, …} for the labels that have any. */
  counts() {
    const out = {};
    for (const d of this.list) out[d.label] = (out[d.label] || 0) + 1;
    return out;
  }

  async load() {
    try {
      const data = await get("/api/drawings");
      // The teacher may read everyone's: "My drawings" are the caller's own.
      const me = whoami();
      const mine = (d) => !me || !me.class_mode || d.owner === undefined || d.owner === me.id;
      this.list = (data.drawings || []).filter(mine).sort((a, b) => a.created - b.created);
      // Class mode without cookies: every request is anonymous, and saving would be refused.
      this.blocked = me && me.class_mode && !navigator.cookieEnabled ? NO_IDENTITY : null;
      this.error = null;
    } catch (err) {
      this.fail(err);
    }
    this.loaded = true;
    this.emit();
  }

  /** A 401 blocks the feature (with the reason); anything else is an error to show. */
  fail(err) {
    if (err instanceof ApiError && err.status === 401) {
      this.blocked = NO_IDENTITY;
      this.list = [];
    } else {
      this.error = `Couldn't load your drawings: ${describeError(err)}`;
    }
  }

  /** Store a drawing (a data: URL of the stroke image) with its label; its DrawingInfo. */
  async add(image, label, source) {
    try {
      const info = await post("/api/drawings", { image, label, source });
      this.list.push(info);
      this.emit();
      return info;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        this.fail(err);
        this.emit();
      }
      throw err;
    }
  }

  async relabel(id, label) {
    const info = await patch(`/api/drawings/${encodeURIComponent(id)}`, { label });
    const i = this.list.findIndex((d) => d.id === id);
    if (i >= 0) this.list[i] = info;
    this.emit();
    return info;
  }

  async remove(id) {
    try {
      await request("DELETE", `/api/drawings/${encodeURIComponent(id)}`);
    } catch (err) {
      // Already gone (another tab): the list drops it all the same.
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
    this.list = this.list.filter((d) => d.id !== id);
    this.emit();
  }

  /**
   * Upload a zip of PNGs + labels.csv (POST /api/drawings/import, multipart `file`), telling
   * onProgress(fraction) as it goes up; the server's {imported, counts}, or an ImportError
   * with the bad rows. The list is reloaded after a success.
   */
  importZip(file, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/drawings/import");
      xhr.responseType = "text";
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(e.loaded / e.total);
      };
      xhr.onerror = () => reject(new Error("Can't reach the server: nothing was imported."));
      xhr.onload = async () => {
        let data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch {
          data = { detail: xhr.responseText };
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          await this.load();
          resolve(data);
          return;
        }
        if (xhr.status === 401) {
          this.fail(new ApiError(401, data && data.detail));
          this.emit();
        }
        reject(new ImportError(xhr.status, data && data.detail, data && data.errors));
      };
      const form = new FormData();
      form.append("file", file, file.name);
      xhr.send(form);
    });
  }
}

export const drawings = new Drawings();

/** The address of one drawing's stored image. */
export const imageUrl = (id) => `/api/drawings/${encodeURIComponent(id)}/image`;

export const EXPORT_URL = "/api/drawings/export";

/** "a 7", "an 8": the article a digit's name takes. */
export const aDigit = (label) => (String(label).startsWith("8") ? `an ${label}` : `a ${label}`);

/** The names of the ten labels a drawing can carry: the default dataset's (MNIST's digits),
 * from the server's vocabulary. */
export async function labelNames() {
  const v = await vocabulary();
  const first = v.datasets.find((d) => d.name === v.choices.dataset[0]) || v.datasets[0];
  return first ? first.class_names : Array.from({ length: v.outputSize }, (_, i) => String(i));
}
