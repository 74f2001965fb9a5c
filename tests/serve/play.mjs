// Opens the `vodpack serve` player page in headless Chromium and reports what happened as one JSON
// line on stdout. Driven by crates/vodpack-control/tests/browser.rs, which owns the server and
// checks the telemetry sink. Usage: node play.mjs URL EXPECT(play|fail) [TIMEOUT_MS]
import { chromium } from "playwright-core";

const [url, expect = "play", timeoutArg = "30000"] = process.argv.slice(2);
const timeout = Number(timeoutArg);
// Playwright gives the browser a fresh temporary profile (user data dir) of its own.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
  ],
});
let result;
try {
  const page = await browser.newPage();
  const consoleLines = [];
  page.on("console", (m) => consoleLines.push(m.text()));
  await page.goto(url);
  const deadline = Date.now() + timeout;
  let state;
  for (;;) {
    state = await page.evaluate(() => ({
      state: window.vodpack.state,
      error: window.vodpack.error,
      currentTime: document.getElementById("video").currentTime,
      eventsAccepted: window.vodpack.eventsAccepted,
      sessionId: window.vodpack.playback && window.vodpack.playback.session_id,
      log: document.getElementById("log").textContent,
    }));
    const played = state.currentTime > 1.5 && state.eventsAccepted >= 2;
    if ((expect === "play" && played) || state.state === "error" || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (expect === "play" && state.state !== "error") {
    // Seek back, then let the page flush its telemetry.
    await page.evaluate(() => { document.getElementById("video").currentTime = 0.5; });
    await new Promise((r) => setTimeout(r, 2500));
    state.eventsAccepted = await page.evaluate(() => window.vodpack.eventsAccepted);
  }
  result = { ...state, console: consoleLines.slice(-20) };
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
