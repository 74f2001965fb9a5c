// dash.js adapter (window.dashjs from dash.all.min.js).
const dashjs = window.dashjs;
let player;

export const adapter = {
  async init(video, cfg, onError) {
    player = dashjs.MediaPlayer().create();
    player.updateSettings({
      debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING },
      streaming: {
        abr: { autoSwitchBitrate: { video: false, audio: false } },
        buffer: { fastSwitchEnabled: true },
      },
    });
    if (cfg.drm === 'server') {
      player.setProtectionData({ 'org.w3.clearkey': { serverURL: cfg.licenseUrl } });
    } else if (cfg.drm === 'inline') {
      const clearkeys = {};
      for (const [kid, key] of Object.entries(cfg.keysHex)) clearkeys[hexToB64url(kid)] = hexToB64url(key);
      player.setProtectionData({ 'org.w3.clearkey': { clearkeys } });
    }
    player.on(dashjs.MediaPlayer.events.ERROR, (e) => {
      onError(`dash.js error ${e.error?.code ?? ''} ${e.error?.message ?? JSON.stringify(e.error ?? e).slice(0, 300)}`);
    });
    player.on(dashjs.MediaPlayer.events.PLAYBACK_ERROR, (e) => onError(`dash.js playback error ${e.error?.message ?? ''}`));
    this.video = video;
    // dash.js renders TTML (stpp) with imsc.js into a div over the video, and shows no TTML
    // without one ("missing setting a TTML rendering div"); attached once initialised.
    this.overlay = document.createElement('div');
    this.overlay.id = 'ttml-rendering';
    video.insertAdjacentElement('afterend', this.overlay);
  },
  load(url) {
    return new Promise((resolve, reject) => {
      player.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, () => resolve(), null, { once: true });
      player.on(dashjs.MediaPlayer.events.ERROR, (e) => reject(new Error(`dash.js load failed: ${e.error?.code ?? ''} ${e.error?.message ?? ''}`)));
      player.initialize(this.video, url, false);
      player.attachTTMLRenderingDiv(this.overlay);
    });
  },
  renditions() {
    return player.getRepresentationsByType('video').map((r) => ({
      id: r.id, height: r.height, width: r.width, codecs: r.codecs, bandwidth: r.bandwidth,
    }));
  },
  async select(r) {
    player.setRepresentationForTypeById('video', r.id, /* forceReplace */ true);
  },
  active() {
    const r = player.getCurrentRepresentationForType('video');
    return r && { id: r.id, height: r.height };
  },
  textTracks() {
    return player.getTracksFor('text').map((t, i) => ({
      lang: t.lang, name: (t.labels ?? [])[0]?.text ?? null, id: i,
    }));
  },
  async showText(t) {
    player.setCurrentTrack(player.getTracksFor('text')[t.id]);
    player.enableText(true);
  },
  async destroy() {
    player?.destroy();
  },
};

function hexToB64url(hex) {
  const bytes = hex.match(/../g).map((h) => parseInt(h, 16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
