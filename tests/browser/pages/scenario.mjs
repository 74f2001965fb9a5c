// The playback scenario, the same for every player; the player-specific parts live in the adapters
// (shaka.mjs, dashjs.mjs, hlsjs.mjs), which expose:
//   init(video, cfg, onError)        create the player, configure DRM, listen for errors
//   load(url)                        resolves when the manifest is loaded and tracks are known
//   renditions()                     [{id, height, width, codecs, bandwidth}] video renditions
//   select(rendition)                force that rendition (ABR off)
//   active()                         the player's idea of the current video rendition ({id, height})
//   textTracks()                     [{lang, name}] text tracks the player lists
//   showText(track)                  select that text track and make it visible
//   destroy()
const video = () => document.getElementById('video');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, cond, timeoutMs, state) {
  const start = performance.now();
  for (;;) {
    if (state.errors.length) throw new Error(`${what}: player error: ${state.errors[0]}`);
    if (await cond()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) {
      const v = video();
      throw new Error(`${what}: timed out after ${timeoutMs} ms (currentTime ${v.currentTime.toFixed(2)}, `
        + `readyState ${v.readyState}, paused ${v.paused}, videoHeight ${v.videoHeight})`);
    }
    await sleep(100);
  }
}

/** Plays from the current position until currentTime has advanced `seconds` past `from`. */
async function playUntil(what, from, seconds, state, timeoutMs = 20000) {
  const v = video();
  // play() stays pending while the element waits for a key, so it is not awaited.
  if (v.paused) v.play().catch((e) => state.warnings.push(`play(): ${e.message}`));
  await waitFor(what, () => v.currentTime >= from + seconds, timeoutMs, state);
}

async function seekTo(what, t, state) {
  const v = video();
  const seeked = new Promise((r) => v.addEventListener('seeked', r, { once: true }));
  v.currentTime = t;
  await Promise.race([seeked, sleep(15000)]);
  await playUntil(`${what}: play on after seek to ${t.toFixed(2)} s`, t, 1.0, state);
}

export async function runScenario(adapter, cfg) {
  const state = { errors: [], warnings: [] };
  const result = { ok: false, steps: [], errors: state.errors, warnings: state.warnings };
  window.harnessResult = result; // read back by run.mjs if the scenario times out
  const step = (name, detail = {}) => result.steps.push({ name, at: video().currentTime, ...detail });
  const v = video();
  v.addEventListener('error', () => {
    const e = v.error;
    state.errors.push(`HTMLMediaElement error ${e?.code} ${e?.message ?? ''}`.trim());
  });
  try {
    await adapter.init(v, cfg, (msg) => state.errors.push(msg), (msg) => state.warnings.push(msg));
    let loadError = null;
    try {
      await Promise.race([adapter.load(cfg.url), sleep(30000).then(() => {
        throw new Error(`manifest load did not finish in 30 s${state.errors.length ? `: ${state.errors[0]}` : ''}`);
      })]);
    } catch (e) {
      loadError = e;
    }

    if (cfg.expect === 'no-playable') {
      // The player must refuse the asset (no variant it can play) or filter every video rendition
      // out, before any playback, and without a media error.
      const offered = loadError ? [] : adapter.renditions();
      const refusal = loadError?.message ?? state.errors[0]
        ?? (offered.length === 0 ? 'no video rendition offered (all filtered out)' : null);
      if (!refusal) {
        throw new Error(`player offered renditions it cannot play: ${JSON.stringify(offered)}`);
      }
      result.refusal = refusal;
      step('refused', { reason: refusal });
      state.errors.length = 0;
      result.ok = true;
      return result;
    }
    if (loadError) throw loadError;
    const renditions = adapter.renditions();
    result.renditions = renditions;
    step('loaded', { renditions: renditions.length });
    if (cfg.expect === 'play' && renditions.length === 0) throw new Error('the player offers no video rendition');

    if (cfg.expect === 'fail') {
      // Wrong key: the player must report an error and must not play 2 s.
      if (v.paused) v.play().catch((e) => state.warnings.push(`play(): ${e.message}`));
      const start = performance.now();
      while (!state.errors.length && performance.now() - start < 20000 && v.currentTime < 2) {
        await sleep(100);
      }
      result.maxCurrentTime = v.currentTime;
      result.failure = state.errors[0] ?? null;
      result.ok = state.errors.length > 0 && v.currentTime < 2;
      if (!result.ok) {
        result.expectationFailed = state.errors.length
          ? `played ${v.currentTime.toFixed(2)} s despite the error`
          : `no error after ${((performance.now() - start) / 1000).toFixed(1)} s, currentTime ${v.currentTime.toFixed(2)}`;
      }
      state.errors.length = 0;
      if (!result.ok) state.errors.push(result.expectationFailed);
      return result;
    }

    if (cfg.expect === 'subtitles') {
      await subtitles(adapter, cfg, state, result, step);
      result.ok = state.errors.length === 0;
      return result;
    }

    if (cfg.expectHeights) {
      const got = [...new Set(renditions.map((r) => r.height))].sort((a, b) => a - b);
      const want = [...cfg.expectHeights].sort((a, b) => a - b);
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        throw new Error(`video heights offered by the player ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      }
    }

    await playUntil('initial playback', v.currentTime, 2.0, state);
    step('played 2 s');
    if (cfg.hold) {
      // The test changes what is published (a new run, a failed run) while this player holds the
      // manifests it loaded; what follows must still come from what it loaded.
      v.pause();
      step('holding');
      await window.harnessHold();
      step('resumed');
    }

    const duration = Number.isFinite(v.duration) ? v.duration : 8;
    result.duration = duration;
    await seekTo('seek to the middle', duration / 2, state);
    step('seeked to the middle and played on');

    // Forced switch to every video rendition, highest first (players start low, so the first switch
    // is a real change). Each switch seeks back near the start so there is media left to play, and
    // is checked both through the player's API and by the decoded picture size.
    const order = [...renditions].sort((a, b) => b.height - a.height || b.bandwidth - a.bandwidth);
    // The rendition playing now goes last, so that every switch is a real change.
    const initial = adapter.active();
    result.initialRendition = initial;
    const at = order.findIndex((r) => initial && String(r.id) === String(initial.id));
    if (at >= 0) order.push(...order.splice(at, 1));
    const seen = [];
    for (const r of order) {
      await adapter.select(r);
      const target = 0.5 + (seen.length % 2) * 0.2;
      const switched = () => {
        const a = adapter.active();
        return a && String(a.id) === String(r.id) && v.videoHeight === r.height;
      };
      // The fixtures last 8 s: on a loaded machine the old rendition's buffer can play out to the
      // end before the new one arrives. Then seek back and watch again (at most twice more);
      // the switch itself must still be seen, by API and by picture size.
      for (let attempt = 0; ; attempt++) {
        await seekTo(`switch to ${r.height}p`, target, state);
        const what = `switch to ${r.height}p (player's active rendition and video.videoHeight)`;
        await waitFor(what, () => switched() || (attempt < 2 && v.ended), 15000, state);
        if (switched()) break;
        state.warnings.push(`${what}: playback reached the end first (attempt ${attempt + 1}); seeking back`);
      }
      await playUntil(`play at ${r.height}p`, v.currentTime, 0.5, state);
      seen.push({ id: r.id, height: r.height, videoHeight: v.videoHeight, active: adapter.active() });
      step(`switched to ${r.height}p`, { id: r.id });
    }
    result.switches = seen;
    result.ok = state.errors.length === 0;
  } catch (e) {
    if (!state.errors.includes(e.message)) state.errors.push(e.message);
    result.ok = false;
  } finally {
    try {
      await adapter.destroy();
    } catch (e) {
      state.warnings.push(`destroy: ${e.message}`);
    }
  }
  return result;
}

/** Cue text as shown: tags and the common entities removed, whitespace collapsed. */
function plain(text) {
  return text.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, ' ').replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim();
}

/**
 * The text of an imsc.js intermediate synchronic document (what dash.js renders TTML from: its
 * TTML cues carry the ISD in `cue.isd` and no `text`): span text, `br` as a line break, one line
 * per paragraph.
 */
function isdText(node) {
  if (node.kind === 'br') return '\n';
  if (typeof node.text === 'string') return node.text;
  const parts = (node.contents ?? []).map(isdText);
  return node.kind === 'p' ? parts.join('') : parts.filter((x) => x !== '').join('\n');
}

/** Every cue in the video element's text tracks (the ones the player uses). */
function playerCues() {
  const out = [];
  for (const t of video().textTracks) {
    if (t.mode === 'disabled') t.mode = 'hidden'; // makes cues readable; does not select anything
    for (const c of t.cues ?? []) {
      const text = c.text || (c.isd ? isdText(c.isd) : '');
      out.push({ start: c.startTime, end: c.endTime, text: plain(text), track: t.label || t.language });
    }
  }
  return out;
}

/**
 * Lists the text tracks, selects the wanted one, plays the whole asset at 2x and compares the
 * player's cues with the expected ones: each expected cue must be covered (to 10 ms) by cues of
 * the same text (a cue split at a segment boundary may come as several pieces), and no cue may
 * carry text that is not expected.
 */
async function subtitles(adapter, cfg, state, result, step) {
  const tracks = adapter.textTracks();
  result.textTracks = tracks;
  const track = tracks.find((t) => t.lang?.startsWith(cfg.textLang) && (!cfg.textName || t.name === cfg.textName));
  if (!track) throw new Error(`no text track ${cfg.textLang}/${cfg.textName} among ${JSON.stringify(tracks)}`);
  step('listed text track', { track });
  await adapter.showText(track);
  const v = video();
  v.playbackRate = 2;
  const end = (Number.isFinite(v.duration) ? v.duration : 8) - 0.3;
  await playUntil('play to the end with subtitles', 0, end, state, 30000);
  await sleep(300);
  const cues = playerCues();
  result.cues = cues;
  step('played to the end', { cues: cues.length });
  const want = cfg.expectCues.map((c) => ({ ...c, text: plain(c.text) }));
  const eps = 0.01;
  for (const w of want) {
    const pieces = cues.filter((c) => c.text === w.text && c.end > w.start - eps && c.start < w.end + eps)
      .sort((a, b) => a.start - b.start);
    let covered = w.start;
    for (const p of pieces) {
      if (p.start <= covered + eps) covered = Math.max(covered, p.end);
    }
    if (!pieces.length || Math.abs(pieces[0].start - w.start) > eps || covered < w.end - eps
      || pieces.some((p) => p.end > w.end + eps)) {
      state.errors.push(`cue ${JSON.stringify(w)} not shown as such; player has ${JSON.stringify(pieces)}`);
    }
  }
  const texts = new Set(want.map((w) => w.text));
  const extra = cues.filter((c) => !texts.has(c.text));
  if (extra.length) state.errors.push(`unexpected cues ${JSON.stringify(extra).slice(0, 500)}`);
}
