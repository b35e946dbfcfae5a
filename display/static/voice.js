// The board's voice: a queue of announcements that never cut each other off.
// Each call is a chime, then the sentence twice, made of short clips joined in
// order with the Web Audio API (or, by setting, a local Vietnamese
// speechSynthesis voice). A clip that fails to load or play is skipped after a
// timeout, so one bad clip never blocks the queue.
import { callClips, callText } from "./numbers.js";

const FETCH_TIMEOUT_MS = 3000;
const CLIP_SLACK_MS = 600;      // how long past its length a clip may take before we move on
const SPEECH_TIMEOUT_MS = 10000;
const MAX_QUEUE = 20;           // a burst of calls while the voice is busy: keep the newest ones

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const withTimeout = (promise, ms) => Promise.race([promise, sleep(ms).then(() => { throw new Error("timeout"); })]);

export class Announcer {
  /**
   * mode: "clips" (the voice pack), "browser" (speechSynthesis when a Vietnamese voice exists), "off".
   * clipUrl: where a clip is served; the server prefers an office's own recordings.
   */
  constructor({ mode = "clips", clipUrl = (name) => `/display/voice/${name}`, onBlockedChange = () => {} } = {}) {
    this.mode = mode;
    this.clipUrl = clipUrl;
    this.onBlockedChange = onBlockedChange;
    this.queue = [];
    this.busy = false;
    this.buffers = new Map();
    this.calls = [];      // every call announced or refused, as "A015@3" (the browser tests read these)
    this.log = [];        // every clip or sentence as it starts, in order
    this.requested = [];  // every clip URL fetched
    const Context = window.AudioContext || window.webkitAudioContext;
    this.context = Context ? new Context() : null;
    if (this.context) this.context.onstatechange = () => this.onBlockedChange(this.blocked);
  }

  /** True while the browser refuses sound until someone touches the page. */
  get blocked() {
    return this.mode !== "off" && (!this.context || this.context.state !== "running");
  }

  /** Try to start sound; call it on load and on every touch. Resolves to whether sound is allowed. */
  async unlock() {
    if (this.context && this.context.state !== "running") {
      try {
        await withTimeout(this.context.resume(), 500);
      } catch (err) { /* still blocked: the page keeps asking for a touch */ }
    }
    this.onBlockedChange(this.blocked);
    return !this.blocked;
  }

  /** Queue one call: chime, then "Mời công dân có số … đến quầy số …" twice. */
  announce(code, counter) {
    if (this.mode === "off") return;
    if (this.blocked) {
      // Sound is not allowed yet: do not pile up calls that would all play at the first touch.
      this.calls.push(`blocked:${code}@${counter}`);
      return;
    }
    this.calls.push(`${code}@${counter}`);
    this.queue.push({ code, counter });
    if (this.queue.length > MAX_QUEUE) this.queue.splice(0, this.queue.length - MAX_QUEUE);
    if (!this.busy) this._drain();
  }

  async _drain() {
    this.busy = true;
    try {
      while (this.queue.length) {
        const { code, counter } = this.queue.shift();
        await this._play("chime");
        const voice = this.mode === "browser" ? vietnameseVoice() : null;
        for (let i = 0; i < 2; i += 1) {
          if (voice) await this._speak(callText(code, counter), voice);
          else for (const clip of callClips(code, counter)) await this._play(clip);
        }
        await sleep(400);  // a breath between two calls
      }
    } finally {
      this.busy = false;
    }
  }

  async _load(name) {
    if (this.buffers.has(name)) return this.buffers.get(name);
    const url = this.clipUrl(name);
    this.requested.push(url);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), FETCH_TIMEOUT_MS);
    try {
      const response = await fetch(url, { signal: controller.signal });
      if (!response.ok) throw new Error(`${url}: ${response.status}`);
      const bytes = await response.arrayBuffer();
      const buffer = await withTimeout(this.context.decodeAudioData(bytes), FETCH_TIMEOUT_MS);
      this.buffers.set(name, buffer);
      return buffer;
    } finally {
      clearTimeout(timer);
    }
  }

  async _play(name) {
    this.log.push(name);
    if (!this.context) return;
    try {
      const buffer = await this._load(name);
      const source = this.context.createBufferSource();
      source.buffer = buffer;
      source.connect(this.context.destination);
      const ended = new Promise((resolve) => { source.onended = resolve; });
      source.start();
      await Promise.race([ended, sleep(buffer.duration * 1000 + CLIP_SLACK_MS)]);
    } catch (err) {
      this.log.push(`failed:${name}`);
    }
  }

  async _speak(text, voice) {
    this.log.push(`speech:${text}`);
    const utterance = new SpeechSynthesisUtterance(text);
    utterance.voice = voice;
    utterance.lang = voice.lang;
    utterance.rate = 0.9;
    const done = new Promise((resolve) => { utterance.onend = resolve; utterance.onerror = resolve; });
    window.speechSynthesis.speak(utterance);
    await Promise.race([done, sleep(SPEECH_TIMEOUT_MS)]);
  }
}

/** A Vietnamese voice installed in this browser (Windows, Android, ChromeOS have one), or null. */
export function vietnameseVoice() {
  if (!("speechSynthesis" in window)) return null;
  return window.speechSynthesis.getVoices().find((v) => v.lang && v.lang.toLowerCase().startsWith("vi")) || null;
}
