// Shaka Player adapter (window.shaka from shaka-player.compiled.js).
const shaka = window.shaka;
let player;

function videoVariants() {
  // One entry per video rendition: Shaka's variants are video x audio combinations.
  const byVideo = new Map();
  for (const t of player.getVariantTracks()) {
    if (t.videoId == null) continue;
    if (!byVideo.has(t.videoId) || t.active) byVideo.set(t.videoId, t);
  }
  return [...byVideo.values()];
}

export const adapter = {
  async init(video, cfg, onError, onWarning) {
    shaka.polyfill.installAll();
    if (!shaka.Player.isBrowserSupported()) throw new Error('Shaka Player: browser not supported');
    player = new shaka.Player();
    await player.attach(video);
    const drm = {};
    if (cfg.drm === 'server') drm.servers = { 'org.w3.clearkey': cfg.licenseUrl };
    if (cfg.drm === 'inline') drm.clearKeys = cfg.keysHex;
    player.configure({
      abr: { enabled: false },
      drm,
      // Shaka reads no HLS KEYFORMAT for Clear Key but "identity"; with keys handed over inline,
      // the playlist's key tags (org.w3.clearkey for hls.js) are ignored and the init segments'
      // tenc/pssh drive decryption.
      manifest: { ignoreDrmInfo: cfg.drm === 'inline' && cfg.protocol === 'hls' },
      streaming: {
        bufferingGoal: 6,
        retryParameters: { maxAttempts: 2, timeout: 10000 },
        failureCallback: (e) => onError(`Shaka streaming failure ${e.code}`),
      },
    });
    player.addEventListener('error', (ev) => {
      const e = ev.detail;
      const msg = `Shaka error ${e.code} (category ${e.category}, severity ${e.severity}) ${JSON.stringify(e.data).slice(0, 300)}`;
      if (e.severity === shaka.util.Error.Severity.CRITICAL) onError(msg); else onWarning(msg);
    });
  },
  async load(url) {
    try {
      await player.load(url);
    } catch (e) {
      throw new Error(`Shaka load failed: error ${e.code} ${JSON.stringify(e.data ?? []).slice(0, 300)}`);
    }
  },
  renditions() {
    return videoVariants().map((t) => ({
      id: t.videoId, height: t.height, width: t.width, codecs: t.videoCodec, bandwidth: t.videoBandwidth ?? t.bandwidth,
    }));
  },
  async select(r) {
    const current = player.getVariantTracks().find((t) => t.active);
    const candidates = player.getVariantTracks().filter((t) => t.videoId === r.id);
    const track = candidates.find((t) => t.language === current?.language && t.audioId === current?.audioId)
      ?? candidates[0];
    player.selectVariantTrack(track, /* clearBuffer */ true);
  },
  active() {
    const t = player.getVariantTracks().find((x) => x.active);
    return t && { id: t.videoId, height: t.height };
  },
  textTracks() {
    return player.getTextTracks().map((t) => ({ lang: t.language, name: t.label, id: t.id, kind: t.kind }));
  },
  async showText(t) {
    const track = player.getTextTracks().find((x) => x.id === t.id);
    player.selectTextTrack(track);
    // Shaka Player 5 shows the selected text track (setTextTrackVisibility is gone).
    if (player.setTextTrackVisibility) await player.setTextTrackVisibility(true);
  },
  async destroy() {
    await player?.destroy();
  },
};
