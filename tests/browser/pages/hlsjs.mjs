// hls.js adapter (window.Hls from hls.min.js).
const Hls = window.Hls;
let hls;
let switchedTo = null;

export const adapter = {
  async init(video, cfg, onError, onWarning) {
    if (!Hls.isSupported()) throw new Error('hls.js: MSE not supported');
    if (cfg.drm === 'inline' || cfg.drm === 'manifest') {
      throw new Error(`hls.js takes Clear Key keys only from a licence server (--drm server), not ${cfg.drm}`);
    }
    const conf = { debug: false, capLevelToPlayerSize: false, startLevel: 0, maxBufferLength: 6 };
    if (cfg.drm === 'server') {
      conf.emeEnabled = true;
      conf.drmSystems = { 'org.w3.clearkey': { licenseUrl: cfg.licenseUrl } };
    }
    hls = new Hls(conf);
    hls.on(Hls.Events.ERROR, (_, d) => {
      const msg = `hls.js ${d.fatal ? 'fatal ' : ''}error ${d.type}/${d.details} ${d.reason ?? d.error?.message ?? ''}`;
      if (d.fatal) onError(msg); else onWarning(msg);
    });
    hls.on(Hls.Events.LEVEL_SWITCHED, (_, d) => { switchedTo = d.level; });
    hls.attachMedia(video);
  },
  load(url) {
    return new Promise((resolve, reject) => {
      hls.once(Hls.Events.MANIFEST_PARSED, () => resolve());
      hls.once(Hls.Events.ERROR, (_, d) => {
        if (d.fatal) reject(new Error(`hls.js load failed: ${d.details} ${d.reason ?? d.error?.message ?? ''}`));
      });
      hls.loadSource(url);
    });
  },
  renditions() {
    return hls.levels.map((l, i) => ({
      id: i, height: l.height, width: l.width, codecs: l.videoCodec, bandwidth: l.bitrate,
    }));
  },
  async select(r) {
    hls.currentLevel = r.id; // immediate switch: flushes the buffer and loads this level
  },
  active() {
    // LEVEL_SWITCHED reports the level whose fragments are now being appended.
    if (switchedTo == null) return null;
    const l = hls.levels[switchedTo];
    return { id: switchedTo, height: l.height };
  },
  textTracks() {
    return hls.subtitleTracks.map((t, i) => ({ lang: t.lang, name: t.name, id: i }));
  },
  async showText(t) {
    hls.subtitleTrack = t.id;
    hls.subtitleDisplay = true;
  },
  async destroy() {
    hls?.destroy();
  },
};
