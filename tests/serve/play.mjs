// Opens the `vodpack serve` player page in headless Chromium and reports what happened as one JSON
// line on stdout. Driven by tests/serve_browser.rs and crates/vodpack-control/tests/browser.rs,
// which own the server and check the telemetry sink.
// Usage: node play.mjs URL EXPECT(play|fail) [TIMEOUT_MS] [OPTIONS_JSON]
// OPTIONS_JSON: {"identity_token", "player", "protocol", "country"} handed to the page as
// window.VODPACK_OPTIONS (like a real app's own settings), plus "seek_to" (seconds, default 0.5):
// after playing 1.5 s the page seeks there and must play on past it; and "switch_renditions"
// (default false): then every other video rendition is picked in the page's Rendition list, as
// an engineer would, and must play (the page's active rendition and video.videoHeight both its).
import { chromium } from "playwright-core";

const [url, expect = "play", timeoutArg = "30000", optionsArg = "{}"] = process.argv.slice(2);
const timeout = Number(timeoutArg);
const { seek_to: seekTo = 0.5, switch_renditions: switchRenditions = false, ...pageOptions } =
  JSON.parse(optionsArg);
// Playwright gives the browser a fresh temporary profile (user data dir) of its own.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
  ],
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let result;
try {
  const page = await browser.newPage();
  const consoleLines = [];
  // Every request the page made, with the answer: the test checks the player fetched manifests,
  // init segments and media segments through the token-checking origin and the licence endpoint.
  const network = [];
  page.on("console", (m) => consoleLines.push(m.text()));
  page.on("response", (r) => {
    const u = new URL(r.url());
    network.push({
      method: r.request().method(),
      path: u.pathname,
      query: u.search,
      status: r.status(),
      type: r.headers()["content-type"] || null,
      range: r.request().headers()["range"] || null,
    });
  });
  page.on("requestfailed", (r) => {
    network.push({ method: r.request().method(), path: new URL(r.url()).pathname, status: 0 });
  });
  if (Object.keys(pageOptions).length > 0) {
    await page.addInitScript((o) => { window.VODPACK_OPTIONS = o; }, pageOptions);
  }
  await page.goto(url);
  const snapshot = () => page.evaluate(() => ({
    state: window.vodpack.state,
    error: window.vodpack.error,
    currentTime: document.getElementById("video").currentTime,
    ended: document.getElementById("video").ended,
    eventsAccepted: window.vodpack.eventsAccepted,
    licensedKids: window.vodpack.licensedKids,
    licences: window.vodpack.licences,
    player: window.vodpack.player,
    renditions: window.vodpack.renditions,
    active: window.vodpack.active,
    stats: window.vodpack.stats,
    videoHeight: document.getElementById("video").videoHeight,
    sessionId: window.vodpack.playback && window.vodpack.playback.session_id,
    protocol: window.vodpack.playback && window.vodpack.playback.protocol,
    log: document.getElementById("log").textContent,
  }));
  const deadline = Date.now() + timeout;
  let state;
  for (;;) {
    state = await snapshot();
    const played = state.currentTime > 1.5 && state.eventsAccepted >= 2;
    if ((expect === "play" && played) || state.state === "error" || Date.now() > deadline) break;
    await sleep(200);
  }
  if (expect === "play" && switchRenditions && state.state !== "error" && state.currentTime > 1.5) {
    // Pick each other rendition in the page's list, as an engineer would: it must become the
    // one playing (the page's active rendition and the decoded picture's height) and play on.
    state.switches = [];
    const first = state.active && state.active.id;
    for (const r of state.renditions.filter((x) => x.id !== first)) {
      const began = Date.now();
      const from = (await snapshot()).currentTime;
      await page.selectOption("#rendition", r.id);
      let ok = false;
      for (;;) {
        state = { ...state, ...(await snapshot()) };
        ok = Boolean(state.active && state.active.id === r.id && state.videoHeight === r.height
          && state.currentTime > from + 0.3);
        if (ok || state.ended || state.state === "error" || Date.now() > deadline) break;
        await sleep(100);
      }
      state.switches.push({ id: r.id, height: r.height, ok, ms: Date.now() - began });
      if (!ok) break;
    }
  }
  state.playedBeforeSeek = state.currentTime;
  if (expect === "play" && state.state !== "error" && state.currentTime > 1.5) {
    // Seek, then it must play on past the target (new segments fetched and decrypted).
    await page.evaluate((t) => { document.getElementById("video").currentTime = t; }, seekTo);
    for (;;) {
      state = { ...state, ...(await snapshot()) };
      if (state.currentTime > seekTo + 0.5 || state.ended || state.state === "error") break;
      if (Date.now() > deadline) break;
      await sleep(200);
    }
    state.seekTo = seekTo;
    state.playedAfterSeek = state.currentTime;
    // Let the page flush its telemetry (it posts every second).
    await sleep(2500);
    state.eventsAccepted = await page.evaluate(() => window.vodpack.eventsAccepted);
  }
  result = { ...state, network, console: consoleLines.slice(-20) };
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
