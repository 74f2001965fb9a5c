// The `vodpack serve` player page: an engineer picks the player (Shaka Player, dash.js, hls.js,
// all embedded in the binary), the protocol, the rendition, the audio and the subtitle track; the
// page starts playback through the control plane's API, lets the player fetch its Clear Key
// licence from the licence endpoint (the licence token in the Authorization header, never in a
// URL), posts telemetry, and shows what is playing and every licence request with its answer.
"use strict";
(() => {
const CONFIG = window.VODPACK_CONFIG;
// Overrides, like a real app's own settings: `?player=dashjs&protocol=dash&country=FR` in the
// address, or window.VODPACK_OPTIONS = {identity_token, player, protocol, country} set before
// this script runs (the browser test injects the identity token it minted this way, so it never
// travels in a URL).
const OPTIONS = Object.assign({}, window.VODPACK_OPTIONS || {});
for (const [k, v] of new URLSearchParams(location.search)) {
  if (k === "player" || k === "protocol" || k === "country") OPTIONS[k] = v;
}
const $ = (id) => document.getElementById(id);
const video = $("video");
// State for humans (the panels) and for the browser test (window.vodpack).
const vp = window.vodpack = {
  state: "starting", error: null, playback: null, player: null, loads: 0,
  eventsSent: 0, eventsAccepted: 0, licences: [], licensedKids: 0,
  renditions: [], active: null, stats: {},
};

function log(msg) {
  $("log").textContent += new Date().toISOString().slice(11, 23) + " " + msg + "\n";
}
function setState(state, detail) {
  vp.state = state;
  $("status").textContent = state + (detail ? ": " + detail : "");
}
function fail(message, code) {
  if (vp.state === "error") return;
  vp.error = code || message;
  record("error", { error_code: String(code || "page").slice(0, 64) });
  setState("error", message);
  log("error: " + message);
}

function hexToB64url(hex) {
  const bytes = hex.match(/../g).map((h) => parseInt(h, 16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function b64urlToHex(b64) {
  const bin = atob(b64.replace(/-/g, "+").replace(/_/g, "/"));
  return Array.from(bin, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
}

// ---- Telemetry: events are queued and posted in batches (no Content-Type: no preflight). ----
let queue = [];
let seq = 0;
function record(type, extra) {
  const pb = vp.playback;
  if (!pb) return;
  queue.push(Object.assign({
    session_token: pb.telemetry.session_token,
    event_id: crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2),
    seq: seq++,
    type,
    ts: Date.now(),
    position: Math.max(0, video.currentTime || 0),
  }, extra || {}));
}
async function flush() {
  const pb = vp.playback;
  if (!pb || queue.length === 0) return;
  const batch = queue.splice(0, pb.telemetry.max_batch);
  vp.eventsSent += batch.length;
  try {
    const res = await fetch(pb.telemetry.url, { method: "POST", body: JSON.stringify({ events: batch }) });
    if (res.status === 202) {
      vp.eventsAccepted += (await res.json()).accepted;
    } else {
      log("telemetry refused: " + res.status + " " + await res.text());
    }
  } catch (e) {
    log("telemetry failed: " + e);
  }
}
setInterval(flush, 1000);

// ---- Licence requests: every request to the licence endpoint, whoever makes it (the player's
// own fetch or XHR, or this page), is listed with its answer. ----
let licenceCaller = null;
function isLicenceUrl(url) {
  const drm = vp.playback && vp.playback.drm;
  if (!drm) return false;
  try {
    return new URL(url, location.href).pathname === new URL(drm.licence_url, location.href).pathname;
  } catch (e) {
    return false;
  }
}
function licenceStarted() {
  const entry = { time: new Date().toISOString().slice(11, 23), by: licenceCaller || (vp.player && vp.player.name), status: "…", answer: "", kids: [] };
  vp.licences.push(entry);
  renderLicences();
  return entry;
}
function licenceAnswered(entry, status, text) {
  entry.status = status;
  try {
    const body = JSON.parse(text);
    if (Array.isArray(body.keys)) {
      entry.kids = body.keys.map((k) => b64urlToHex(k.kid));
      entry.answer = entry.kids.length + " key(s): " + entry.kids.join(", ");
    } else {
      entry.answer = [body.error, body.reason, body.message].filter(Boolean).join(": ");
    }
  } catch (e) {
    entry.answer = String(text || "").slice(0, 200);
  }
  const kids = new Set();
  for (const l of vp.licences) if (l.status === 200) l.kids.forEach((k) => kids.add(k));
  vp.licensedKids = kids.size;
  log("licence request (" + entry.by + "): " + status + " " + entry.answer);
  renderLicences();
}
function renderLicences() {
  const body = $("licences").tBodies[0];
  body.textContent = "";
  for (const l of vp.licences) {
    const tr = body.insertRow();
    for (const v of [l.time, l.by, l.status, l.answer]) tr.insertCell().textContent = String(v);
  }
}
const pageFetch = window.fetch.bind(window);
window.fetch = async function (input, init) {
  const url = typeof input === "string" ? input : (input && input.url) || String(input);
  if (!isLicenceUrl(url)) return pageFetch(input, init);
  const entry = licenceStarted();
  try {
    const res = await pageFetch(input, init);
    res.clone().text().then((t) => licenceAnswered(entry, res.status, t), () => licenceAnswered(entry, res.status, ""));
    return res;
  } catch (e) {
    licenceAnswered(entry, 0, String(e));
    throw e;
  }
};
const xhrOpen = XMLHttpRequest.prototype.open;
const xhrSend = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.open = function (method, url, ...rest) {
  this.vodpackUrl = String(url);
  return xhrOpen.call(this, method, url, ...rest);
};
XMLHttpRequest.prototype.send = function (body) {
  if (this.vodpackUrl && isLicenceUrl(this.vodpackUrl)) {
    const entry = licenceStarted();
    this.addEventListener("loadend", () => {
      let text = "";
      try {
        if (this.response instanceof ArrayBuffer) text = new TextDecoder().decode(this.response);
        else if (typeof this.response === "string") text = this.response;
        else text = JSON.stringify(this.response);
      } catch (e) { /* unreadable answer: shown empty */ }
      licenceAnswered(entry, this.status, text);
    });
  }
  return xhrSend.call(this, body);
};

// The W3C Clear Key licence exchange done by the page itself, for players that cannot ask a
// licence server for Clear Key (Shaka Player's HLS parser): POST {"kids":[…]} with the licence
// token in the Authorization header; answers {kid hex: key hex}.
async function pageLicence(drm) {
  licenceCaller = "page, for " + vp.player.name;
  let res;
  try {
    res = await fetch(drm.licence_url, {
      method: "POST",
      headers: { "Authorization": "Bearer " + drm.licence_token },
      body: JSON.stringify({ kids: drm.key_ids.map(hexToB64url), type: "temporary" }),
    });
  } finally {
    licenceCaller = null;
  }
  if (!res.ok) throw new Error("licence refused: " + res.status + " " + await res.text());
  const keys = {};
  for (const k of (await res.json()).keys) keys[b64urlToHex(k.kid)] = b64urlToHex(k.k);
  return keys;
}

// The HLS-over-MPEG-TS methods whose keys come raw from the #EXT-X-KEY URI.
const RAW_KEY_SCHEMES = ["aes-128", "sample-aes"];

// ---- One adapter per player: the same few operations on each player's own API. ----
const adapters = {
  shaka: {
    async init(pb, onError) {
      const shaka = window.shaka;
      shaka.polyfill.installAll();
      const player = this.player = new shaka.Player();
      await player.attach(video);
      const config = { streaming: { bufferingGoal: 10 } };
      if (pb.drm && RAW_KEY_SCHEMES.includes(pb.drm.scheme)) {
        // HLS over MPEG-TS: Shaka fetches each #EXT-X-KEY URI (the raw-key endpoint) itself;
        // the licence token goes in a request header.
        player.getNetworkingEngine().registerRequestFilter((type, request) => {
          if (type === shaka.net.NetworkingEngine.RequestType.KEY) {
            request.headers["Authorization"] = "Bearer " + pb.drm.licence_token;
          }
        });
      } else if (pb.drm && pb.protocol === "hls") {
        // Shaka's HLS parser maps no Clear Key KEYFORMAT but "identity" and asks no licence
        // server for it: the page runs the licence exchange and hands Shaka the keys. The
        // playlist's key tags are then ignored (a Clear Key tag alone would be error 4026); the
        // init segments' tenc drives decryption.
        config.drm = { clearKeys: await pageLicence(pb.drm) };
        config.manifest = { ignoreDrmInfo: true };
      } else if (pb.drm) {
        // DASH: EME's licence request goes to the playback answer's licence URL, with the
        // licence token in the Authorization header (a request filter: never in the URL).
        config.drm = { servers: { [pb.drm.key_system]: pb.drm.licence_url } };
        player.getNetworkingEngine().registerRequestFilter((type, request) => {
          if (type === shaka.net.NetworkingEngine.RequestType.LICENSE) {
            request.headers["Authorization"] = "Bearer " + pb.drm.licence_token;
          }
        });
      }
      if (pb.edge && pb.edge.query && pb.edge.cookies.length === 0) {
        // CDN delivery by query (no cookies, e.g. Akamai `__token__=`): relative URLs lose the
        // manifest URL's query, so `edge.query` goes on every asset request that has none.
        const prefix = "/v/" + CONFIG.asset_id + "/";
        const types = shaka.net.NetworkingEngine.RequestType;
        player.getNetworkingEngine().registerRequestFilter((type, request) => {
          if (type !== types.MANIFEST && type !== types.SEGMENT) return;
          request.uris = request.uris.map((uri) => {
            const u = new URL(uri, location.href);
            if (!u.pathname.startsWith(prefix) || u.search) return uri;
            return uri + "?" + pb.edge.query;
          });
        });
      }
      player.configure(config);
      player.addEventListener("error", (e) => {
        if (e.detail.severity === shaka.util.Error.Severity.CRITICAL) {
          onError("Shaka error " + e.detail.code + " " + JSON.stringify(e.detail.data || []).slice(0, 200), String(e.detail.code));
        }
      });
    },
    async load(url) {
      try {
        await this.player.load(url);
      } catch (e) {
        throw Object.assign(new Error("Shaka load failed: " + e.code), { code: String(e.code) });
      }
    },
    variants() {
      // One entry per video rendition: Shaka's variants are video x audio combinations.
      const byVideo = new Map();
      for (const t of this.player.getVariantTracks()) {
        if (t.videoId == null) continue;
        if (!byVideo.has(t.videoId) || t.active) byVideo.set(t.videoId, t);
      }
      return [...byVideo.values()];
    },
    renditions() {
      return this.variants().map((t) => ({ id: String(t.videoId), width: t.width, height: t.height, bandwidth: t.videoBandwidth || t.bandwidth, codecs: t.videoCodec }));
    },
    selectRendition(id) {
      if (id === "auto") {
        this.player.configure({ abr: { enabled: true } });
        return;
      }
      this.player.configure({ abr: { enabled: false } });
      const current = this.player.getVariantTracks().find((t) => t.active);
      const candidates = this.player.getVariantTracks().filter((t) => String(t.videoId) === id);
      const track = candidates.find((t) => current && t.audioId === current.audioId) || candidates[0];
      this.player.selectVariantTrack(track, /* clearBuffer */ true);
    },
    active() {
      const t = this.player.getVariantTracks().find((x) => x.active);
      return t && { id: String(t.videoId), width: t.width, height: t.height, bandwidth: t.videoBandwidth || t.bandwidth };
    },
    audioTracks() {
      return this.player.getAudioTracks().map((t, i) => ({ id: String(i), label: [t.language, t.label].filter(Boolean).join(" "), active: t.active }));
    },
    selectAudio(id) {
      this.player.selectAudioTrack(this.player.getAudioTracks()[Number(id)]);
    },
    textTracks() {
      return this.player.getTextTracks().map((t) => ({ id: String(t.id), label: [t.language, t.label].filter(Boolean).join(" "), active: t.active }));
    },
    selectText(id) {
      const track = id === "off" ? null : this.player.getTextTracks().find((t) => String(t.id) === id);
      this.player.selectTextTrack(track);
    },
    async destroy() {
      await this.player.destroy();
    },
  },

  dashjs: {
    async init(pb, onError) {
      const dashjs = window.dashjs;
      const player = this.player = dashjs.MediaPlayer().create();
      player.updateSettings({
        debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING },
        streaming: { buffer: { fastSwitchEnabled: true } },
      });
      if (pb.drm) {
        // dash.js asks the licence server itself; the token goes in a request header. It takes
        // the Clear Key initData from the MPD's Clear Key ContentProtection (docs/drm-signalling.md).
        player.setProtectionData({
          [pb.drm.key_system]: {
            serverURL: pb.drm.licence_url,
            httpRequestHeaders: { "Authorization": "Bearer " + pb.drm.licence_token },
          },
        });
      }
      player.on(dashjs.MediaPlayer.events.ERROR, (e) => {
        const err = e.error || {};
        onError("dash.js error " + (err.code || "") + " " + (err.message || JSON.stringify(err)).slice(0, 200), "dashjs-" + (err.code || "error"));
      });
    },
    load(url) {
      const dashjs = window.dashjs;
      return new Promise((resolve, reject) => {
        this.player.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, () => resolve(), null, { once: true });
        this.player.on(dashjs.MediaPlayer.events.ERROR, (e) => reject(new Error("dash.js load failed: " + ((e.error && e.error.message) || ""))), null, { once: true });
        this.player.initialize(video, url, true);
      });
    },
    renditions() {
      return this.player.getRepresentationsByType("video").map((r) => ({ id: String(r.id), width: r.width, height: r.height, bandwidth: r.bandwidth, codecs: r.codecs }));
    },
    selectRendition(id) {
      const auto = id === "auto";
      this.player.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: auto } } } });
      if (!auto) this.player.setRepresentationForTypeById("video", id, /* forceReplace */ true);
    },
    active() {
      const r = this.player.getCurrentRepresentationForType("video");
      return r && { id: String(r.id), width: r.width, height: r.height, bandwidth: r.bandwidth };
    },
    audioTracks() {
      const current = this.player.getCurrentTrackFor("audio");
      return this.player.getTracksFor("audio").map((t, i) => ({ id: String(i), label: [t.lang, ((t.labels || [])[0] || {}).text].filter(Boolean).join(" "), active: t === current }));
    },
    selectAudio(id) {
      this.player.setCurrentTrack(this.player.getTracksFor("audio")[Number(id)]);
    },
    textTracks() {
      return this.player.getTracksFor("text").map((t, i) => ({ id: String(i), label: [t.lang, ((t.labels || [])[0] || {}).text].filter(Boolean).join(" ") }));
    },
    selectText(id) {
      if (id === "off") {
        this.player.enableText(false);
        return;
      }
      this.player.setCurrentTrack(this.player.getTracksFor("text")[Number(id)]);
      this.player.enableText(true);
    },
    async destroy() {
      this.player.destroy();
    },
  },

  hlsjs: {
    async init(pb, onError) {
      const Hls = window.Hls;
      const config = { maxBufferLength: 10 };
      if (pb.drm && RAW_KEY_SCHEMES.includes(pb.drm.scheme)) {
        // HLS over MPEG-TS: hls.js fetches each #EXT-X-KEY URI (the raw-key endpoint) and
        // decrypts itself; the licence token goes in a request header on those requests only.
        config.xhrSetup = (xhr, url) => {
          if (new URL(url, location.href).pathname.startsWith("/v1/licence/key/")) {
            xhr.open("GET", url, true);
            xhr.setRequestHeader("Authorization", "Bearer " + pb.drm.licence_token);
          }
        };
      } else if (pb.drm) {
        // hls.js asks the licence server for the KEYFORMAT="org.w3.clearkey" keys; the token
        // goes in a request header (licenseXhrSetup opens the request itself).
        config.emeEnabled = true;
        config.drmSystems = { [pb.drm.key_system]: { licenseUrl: pb.drm.licence_url } };
        config.licenseXhrSetup = (xhr, url) => {
          xhr.open("POST", url, true);
          xhr.setRequestHeader("Authorization", "Bearer " + pb.drm.licence_token);
        };
      }
      const hls = this.hls = new Hls(config);
      this.switchedTo = null;
      hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => { this.switchedTo = d.level; });
      hls.on(Hls.Events.ERROR, (_, d) => {
        if (d.fatal) onError("hls.js error " + d.type + "/" + d.details + " " + (d.reason || (d.error && d.error.message) || ""), "hlsjs-" + d.details);
      });
      hls.attachMedia(video);
    },
    load(url) {
      const Hls = window.Hls;
      return new Promise((resolve, reject) => {
        this.hls.once(Hls.Events.MANIFEST_PARSED, () => resolve());
        this.hls.once(Hls.Events.ERROR, (_, d) => { if (d.fatal) reject(new Error("hls.js load failed: " + d.details)); });
        this.hls.loadSource(url);
      });
    },
    renditions() {
      return this.hls.levels.map((l, i) => ({ id: String(i), width: l.width, height: l.height, bandwidth: l.bitrate, codecs: l.videoCodec }));
    },
    selectRendition(id) {
      // A level number switches at once (the buffer is flushed); -1 is hls.js's automatic choice.
      this.hls.currentLevel = id === "auto" ? -1 : Number(id);
    },
    active() {
      // LEVEL_SWITCHED reports the level whose fragments are now being appended.
      if (this.switchedTo == null) return null;
      const l = this.hls.levels[this.switchedTo];
      return l && { id: String(this.switchedTo), width: l.width, height: l.height, bandwidth: l.bitrate };
    },
    audioTracks() {
      return this.hls.audioTracks.map((t, i) => ({ id: String(i), label: [t.lang, t.name].filter(Boolean).join(" "), active: i === this.hls.audioTrack }));
    },
    selectAudio(id) {
      this.hls.audioTrack = Number(id);
    },
    textTracks() {
      return this.hls.subtitleTracks.map((t, i) => ({ id: String(i), label: [t.lang, t.name].filter(Boolean).join(" "), active: i === this.hls.subtitleTrack }));
    },
    selectText(id) {
      this.hls.subtitleTrack = id === "off" ? -1 : Number(id);
      this.hls.subtitleDisplay = id !== "off";
    },
    async destroy() {
      this.hls.destroy();
    },
  },
};

// ---- Player scripts are loaded from the binary the first time a player is picked. ----
const loadedScripts = {};
function loadScript(src) {
  if (!loadedScripts[src]) {
    loadedScripts[src] = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error("cannot load " + src));
      document.head.appendChild(s);
    });
  }
  return loadedScripts[src];
}

// ---- The controls. ----
function fillSelect(select, items, keep) {
  const before = keep ? [...select.options].filter((o) => keep.includes(o.value)).map((o) => [o.value, o.text]) : [];
  const value = select.value;
  select.textContent = "";
  for (const [v, text] of before.concat(items)) select.add(new Option(text, v));
  if ([...select.options].some((o) => o.value === value)) select.value = value;
}
const playerById = (id) => CONFIG.players.find((p) => p.id === id);
function offerProtocols() {
  const p = playerById($("player").value);
  fillSelect($("protocol"), p.protocols.map((x) => [x, x.toUpperCase()]));
}
function describe(r) {
  return (r.width && r.height ? r.width + "x" + r.height : "audio") + " " + Math.round(r.bandwidth / 1000) + " kbit/s" + (r.codecs ? " " + r.codecs : "");
}
function offerTracks() {
  const a = current;
  if (!a) return;
  vp.renditions = a.renditions();
  fillSelect($("rendition"), vp.renditions.map((r) => [r.id, describe(r)]), ["auto"]);
  const audio = a.audioTracks();
  fillSelect($("audio"), audio.map((t) => [t.id, t.label || "track " + t.id]));
  const activeAudio = audio.find((t) => t.active);
  if (activeAudio) $("audio").value = activeAudio.id;
  fillSelect($("text"), a.textTracks().map((t) => [t.id, t.label || "track " + t.id]), ["off"]);
}

let current = null;
let lastActive = null;
async function start(playerId, protocol) {
  const build = playerById(playerId);
  if (!build || !build.protocols.includes(protocol)) {
    setState("error", (build ? build.name : playerId) + " does not play " + protocol);
    return;
  }
  const loadNo = ++vp.loads;
  await flush();
  if (current) {
    const old = current;
    current = null;
    await old.destroy().catch(() => {});
  }
  queue = [];
  vp.playback = null;
  vp.error = null;
  vp.licences = [];
  vp.licensedKids = 0;
  vp.renditions = [];
  vp.active = lastActive = null;
  renderLicences();
  vp.player = { id: build.id, name: build.name, version: build.version };
  setState("starting", build.name + " " + build.version + ", " + protocol.toUpperCase());
  const identityToken = OPTIONS.identity_token || CONFIG.identity_token;
  if (!identityToken) {
    setState("error", "no identity token for this page");
    return;
  }
  try {
    await loadScript("/player/lib/" + build.script);
  } catch (e) {
    setState("error", build.name + " is not available: " + e.message);
    return;
  }
  const request = {
    asset_id: CONFIG.asset_id,
    device: { platform: "web", protocols: [protocol], key_systems: ["org.w3.clearkey"], schemes: ["cenc", "cbcs", "aes-128", "sample-aes"] },
  };
  if (OPTIONS.country) request.country = OPTIONS.country;
  const res = await fetch("/v1/playback/start", {
    method: "POST",
    headers: { "Authorization": "Bearer " + identityToken, "Content-Type": "application/json" },
    body: JSON.stringify(request),
  });
  if (!res.ok) {
    setState("error", "playback start refused: " + res.status + " " + await res.text());
    return;
  }
  const pb = await res.json();
  vp.playback = pb;
  log("session " + pb.session_id + ": " + build.name + " " + build.version + ", " + pb.protocol + ", " + (pb.drm ? pb.drm.key_system + " " + pb.drm.scheme : "clear"));
  const adapter = Object.create(adapters[build.id]);
  current = adapter;
  const onError = (message, code) => { if (current === adapter) fail(message, code); };
  record("start");
  try {
    await adapter.init(pb, onError);
    await adapter.load(pb.manifest_url);
  } catch (e) {
    onError(e.message || String(e), e.code);
    return;
  }
  if (loadNo !== vp.loads) return;
  if (vp.state !== "error") setState("loaded");
  offerTracks();
  await video.play().catch(() => {});
}

// Events of the media element, the same for every player.
let waiting = false;
let lastPosition = 0;
video.addEventListener("play", () => record("play"));
video.addEventListener("pause", () => { if (!video.ended) record("pause"); });
video.addEventListener("timeupdate", () => { if (!video.seeking) lastPosition = video.currentTime; });
video.addEventListener("seeking", () => record("seek", { from_position: lastPosition }));
video.addEventListener("waiting", () => { if (!waiting && !video.seeking && video.currentTime > 0) { waiting = true; record("rebuffer_start"); } });
video.addEventListener("playing", () => {
  if (waiting) { waiting = false; record("rebuffer_end"); }
  if (vp.state !== "error") setState("playing");
});
video.addEventListener("ended", () => { record("end"); setState("ended"); flush(); });

// What is playing, twice a second.
function bufferAhead() {
  const b = video.buffered;
  for (let i = 0; i < b.length; i++) {
    if (b.start(i) <= video.currentTime + 0.1 && video.currentTime <= b.end(i)) return b.end(i) - video.currentTime;
  }
  return 0;
}
function tick() {
  const a = current;
  let active = null;
  try { active = a && a.active(); } catch (e) { /* not loaded yet */ }
  vp.active = active || null;
  if (active && active.width && active.height && active.bandwidth && (!lastActive || lastActive.id !== active.id)) {
    if (lastActive) record("quality_change", { bitrate: Math.round(active.bandwidth), width: active.width, height: active.height });
    lastActive = active;
  }
  const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : { droppedVideoFrames: 0, totalVideoFrames: 0 };
  const pb = vp.playback;
  vp.stats = {
    player: vp.player ? vp.player.name + " " + vp.player.version : "",
    protocol: pb ? pb.protocol.toUpperCase() : "",
    protection: pb ? (pb.drm ? pb.drm.key_system + " " + pb.drm.scheme : "clear") : "",
    resolution: video.videoWidth ? video.videoWidth + "x" + video.videoHeight : "",
    rendition: active ? describe(active) : "",
    buffer: bufferAhead().toFixed(1) + " s",
    position: video.currentTime.toFixed(2) + " / " + (isFinite(video.duration) ? video.duration.toFixed(2) : "?") + " s",
    dropped: q.droppedVideoFrames + " of " + q.totalVideoFrames + " frames",
    licences: vp.licences.length + " request(s), " + vp.licensedKids + " key(s)",
  };
  const body = $("stats").tBodies[0];
  body.textContent = "";
  for (const [k, v] of Object.entries(vp.stats)) {
    const tr = body.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = v;
  }
  // Track lists can grow after load (hls.js reads the audio and subtitle playlists later).
  if (a && vp.state !== "starting" && a.renditions().length !== vp.renditions.length) offerTracks();
}
setInterval(tick, 500);

function main() {
  const players = $("player");
  for (const p of CONFIG.players) players.add(new Option(p.name + " " + p.version, p.id));
  $("about").innerHTML = "Players built in: " + CONFIG.players.map((p) =>
    p.name + " " + p.version + " (npm " + p.package + ", <a href=\"/player/lib/" + p.licence + "\">licence</a>)").join(", ") + ".";
  if (OPTIONS.player && playerById(OPTIONS.player)) players.value = OPTIONS.player;
  offerProtocols();
  if (OPTIONS.protocol) $("protocol").value = OPTIONS.protocol;
  players.addEventListener("change", () => { offerProtocols(); start(players.value, $("protocol").value); });
  $("protocol").addEventListener("change", () => start(players.value, $("protocol").value));
  $("load").addEventListener("click", () => start(players.value, $("protocol").value));
  $("rendition").addEventListener("change", (e) => current && current.selectRendition(e.target.value));
  $("audio").addEventListener("change", (e) => current && current.selectAudio(e.target.value));
  $("text").addEventListener("change", (e) => current && current.selectText(e.target.value));
  start(players.value, OPTIONS.protocol && $("protocol").value === OPTIONS.protocol ? OPTIONS.protocol : $("protocol").value)
    .catch((e) => setState("error", String(e)));
}
main();
})();
