#!/usr/bin/env node
// Plays a packaged asset in headless Chromium with a real player and reports what happened as JSON.
//
// usage: node run.mjs --dir OUT --player shaka|dashjs|hlsjs --protocol dash|hls
//          [--manifest REL] [--drm none|server|manifest|inline] [--keys KID=KEY,...]
//          [--wrong-key] [--expect play|fail|no-playable] [--expect-heights 240,360,720]
//          [--port N] [--timeout SECONDS] [--verbose] [--url MANIFEST_URL] [--hold FILE]
//          [--expect subtitles --text-lang fr --text-name NAME --expect-cues CUES.json]
//
// --drm server    the harness hands its licence URL to the player (Shaka, hls.js, dash.js)
//       manifest  the player must find the licence URL in the manifest (dash.js + Laurl)
//       inline    the keys are handed to the player directly (Shaka clearKeys, dash.js clearkeys)
// The licence endpoint (POST /license) answers W3C Clear Key requests from --keys, and GET /key/KID
// returns a raw key (HLS KEYFORMAT="identity"); --wrong-key makes them (and inline mode) hand out a
// different key for every KID, so playback must fail.
// --expect play         load, play >= 2 s, seek to the middle and play on, switch to every video
//                       rendition (checked through the player's API and video.videoHeight)
//          fail         an error must be reported and playback must not progress
//          no-playable  the player must refuse the asset (no playable variant), cleanly
//          subtitles    the player must list a text track with --text-lang (and --text-name, its
//                       label), show it, and, played from 0 to the end at 2x, hold in
//                       video.textTracks cues covering every cue of CUES.json ([{start, end, text}],
//                       seconds; text compared without tags/entities) and no cue of other text
// --url           play the manifest at this URL (another origin, e.g. an object store's HTTP
//                 endpoint) instead of OUT/--manifest served by the harness (--dir then unused).
// --hold FILE     after the first 2 s played, pause and create FILE.loaded, then wait until FILE.go
//                 exists and go on (seek, switch): the test changes the origin in between.
// Exit status 0 when the expectation is met, 1 when not, 2 on bad usage. JSON result on stdout.
import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const opts = {
    drm: 'none', expect: 'play', port: 0, timeout: 90, keys: new Map(), wrongKey: false,
    verbose: false, expectHeights: null, textLang: null, textName: null, expectCues: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--dir': opts.dir = path.resolve(next()); break;
      case '--url': opts.url = next(); break;
      case '--hold': opts.hold = path.resolve(next()); break;
      case '--player': opts.player = next(); break;
      case '--protocol': opts.protocol = next(); break;
      case '--manifest': opts.manifest = next(); break;
      case '--drm': opts.drm = next(); break;
      case '--keys':
        for (const pair of next().split(',').filter(Boolean)) {
          const [kid, key] = pair.split(/[=:]/);
          if (!/^[0-9a-fA-F]{32}$/.test(kid ?? '') || !/^[0-9a-fA-F]{32}$/.test(key ?? '')) {
            usage(`bad --keys entry ${pair} (want 32-hex-kid=32-hex-key)`);
          }
          opts.keys.set(kid.toLowerCase(), key.toLowerCase());
        }
        break;
      case '--wrong-key': opts.wrongKey = true; break;
      case '--expect': opts.expect = next(); break;
      case '--expect-heights': opts.expectHeights = next().split(',').map(Number); break;
      case '--port': opts.port = Number(next()); break;
      case '--timeout': opts.timeout = Number(next()); break;
      case '--verbose': opts.verbose = true; break;
      case '--text-lang': opts.textLang = next(); break;
      case '--text-name': opts.textName = next(); break;
      case '--expect-cues': opts.expectCues = JSON.parse(fs.readFileSync(next(), 'utf8')); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!opts.url && (!opts.dir || !fs.existsSync(opts.dir))) usage('--dir OUT must exist');
  opts.dir ??= os.tmpdir();
  if (!['shaka', 'dashjs', 'hlsjs'].includes(opts.player)) usage('--player shaka|dashjs|hlsjs');
  if (!['dash', 'hls'].includes(opts.protocol)) usage('--protocol dash|hls');
  if (!['none', 'server', 'manifest', 'inline'].includes(opts.drm)) usage('bad --drm');
  if (!['play', 'fail', 'no-playable', 'subtitles'].includes(opts.expect)) usage('bad --expect');
  if (opts.expect === 'subtitles' && (!opts.textLang || !opts.expectCues)) {
    usage('--expect subtitles needs --text-lang and --expect-cues');
  }
  if (opts.drm !== 'none' && opts.keys.size === 0) usage('--drm needs --keys');
  opts.manifest ??= opts.protocol === 'dash' ? 'manifest.mpd' : 'master.m3u8';
  return opts;
}

function usage(msg) {
  process.stderr.write(`run.mjs: ${msg}\n`);
  process.exit(2);
}

const hexToB64url = (hex) => Buffer.from(hex, 'hex').toString('base64url');
const b64urlToHex = (b64) => Buffer.from(b64, 'base64url').toString('hex');
// A wrong key that is still a valid 16-byte key: every bit flipped.
const corrupt = (hex) => Buffer.from(hex, 'hex').map((b) => b ^ 0xff).toString('hex');

const CONTENT_TYPES = {
  '.mpd': 'application/dash+xml', '.m3u8': 'application/vnd.apple.mpegurl', '.mp4': 'video/mp4',
  '.m4s': 'video/iso.segment', '.m4a': 'audio/mp4', '.m4v': 'video/mp4', '.js': 'text/javascript',
  '.mjs': 'text/javascript', '.html': 'text/html', '.json': 'application/json', '.vtt': 'text/vtt',
};

const LIBS = {
  shaka: 'shaka-player/dist/shaka-player.compiled.js',
  dashjs: 'dashjs/dist/modern/umd/dash.all.min.js',
  hlsjs: 'hls.js/dist/hls.min.js',
};

/** Static files for OUT, the players and the pages, plus a W3C Clear Key licence endpoint. */
function startServer(opts, log) {
  const stats = { licenseRequests: 0, licenseKids: [], notFound: [] };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Headers', '*');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Expose-Headers', '*');
    res.setHeader('Cache-Control', 'no-store');
    if (req.method === 'OPTIONS') return res.writeHead(204).end();
    try {
      if (url.pathname === '/license' && req.method === 'POST') return await license(req, res);
      if (url.pathname.startsWith('/key/')) return rawKey(url.pathname.slice('/key/'.length), res);
      let file;
      if (url.pathname.startsWith('/media/')) {
        file = safeJoin(opts.dir, decodeURIComponent(url.pathname.slice('/media/'.length)));
      } else if (url.pathname.startsWith('/lib/')) {
        const lib = LIBS[path.basename(url.pathname, '.js')];
        file = lib && path.join(here, 'node_modules', lib);
      } else if (url.pathname.startsWith('/harness/')) {
        file = safeJoin(path.join(here, 'pages'), url.pathname.slice('/harness/'.length));
      } else if (url.pathname === '/page.html') {
        return send(res, 200, 'text/html', pageHtml(opts.player));
      }
      if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
        if (url.pathname.startsWith('/media/')) stats.notFound.push(url.pathname);
        return send(res, 404, 'text/plain', `not found: ${url.pathname}`);
      }
      return await sendFile(req, res, file);
    } catch (e) {
      log(`server error on ${url.pathname}: ${e.stack}`);
      return send(res, 500, 'text/plain', String(e));
    }
  });

  async function license(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    stats.licenseRequests++;
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return send(res, 400, 'text/plain', 'licence request is not JSON');
    }
    const keys = [];
    for (const kidB64 of body.kids ?? []) {
      const kid = b64urlToHex(kidB64);
      stats.licenseKids.push(kid);
      const key = opts.keys.get(kid);
      if (!key) return send(res, 403, 'text/plain', `unknown kid ${kid}`);
      keys.push({ kty: 'oct', kid: kidB64, k: hexToB64url(opts.wrongKey ? corrupt(key) : key) });
    }
    return send(res, 200, 'application/json', JSON.stringify({ keys, type: body.type ?? 'temporary' }));
  }

  // HLS KEYFORMAT="identity" (RFC 8216 §5.1): the key URI returns the 16 raw key bytes. Shaka
  // Player reads Clear Key from HLS this way.
  function rawKey(kid, res) {
    stats.licenseRequests++;
    kid = kid.toLowerCase().replace(/^0x/, '');
    stats.licenseKids.push(kid);
    const key = opts.keys.get(kid);
    if (!key) return send(res, 403, 'text/plain', `unknown kid ${kid}`);
    return send(res, 200, 'application/octet-stream', Buffer.from(opts.wrongKey ? corrupt(key) : key, 'hex'));
  }

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve({ server, stats, port: server.address().port }));
  });
}

function safeJoin(root, rel) {
  const full = path.resolve(root, rel);
  return full.startsWith(path.resolve(root) + path.sep) ? full : null;
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type });
  res.end(body);
}

// Byte ranges matter: single-file output is addressed with Range requests (sidx / EXT-X-BYTERANGE).
async function sendFile(req, res, file) {
  const size = (await fsp.stat(file)).size;
  const type = CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream';
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (range) {
    let start = range[1] === '' ? size - Number(range[2]) : Number(range[1]);
    let end = range[1] === '' || range[2] === '' ? size - 1 : Number(range[2]);
    end = Math.min(end, size - 1);
    if (start > end || start < 0) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` });
      return res.end();
    }
    res.writeHead(206, {
      'Content-Type': type, 'Content-Length': end - start + 1,
      'Content-Range': `bytes ${start}-${end}/${size}`, 'Accept-Ranges': 'bytes',
    });
    return fs.createReadStream(file, { start, end }).pipe(res);
  }
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': size, 'Accept-Ranges': 'bytes' });
  fs.createReadStream(file).pipe(res);
}

function pageHtml(player) {
  return `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${player}</title></head>
<body><video id="video" muted playsinline width="640" height="360"></video>
<script src="/lib/${player}.js"></script>
<script type="module">
import { runScenario } from '/harness/scenario.mjs';
import { adapter } from '/harness/${player}.mjs';
window.runScenario = (cfg) => runScenario(adapter, cfg);
window.harnessReady = true;
</script></body></html>`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const logs = [];
  const log = (line) => {
    logs.push(line);
    if (opts.verbose) process.stderr.write(`${line}\n`);
  };
  for (const lib of Object.values(LIBS)) {
    if (!fs.existsSync(path.join(here, 'node_modules', lib))) {
      usage(`missing ${lib}: run 'npm ci' in tests/browser (scripts/test.sh does)`);
    }
  }
  const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!fs.existsSync(chromiumPath)) usage(`no Chromium at ${chromiumPath} (apt-get install chromium)`);

  const { server, stats, port } = await startServer(opts, log);
  const origin = `http://127.0.0.1:${port}`;
  const userDataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'vodpack-chromium-'));
  let context;
  let page;
  let result;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--autoplay-policy=no-user-gesture-required'],
    });
    page = context.pages()[0] ?? await context.newPage();
    page.on('console', (m) => log(`[console.${m.type()}] ${m.text()}`));
    page.on('pageerror', (e) => log(`[pageerror] ${e.message}`));
    await page.exposeFunction('harnessHold', async () => {
      await fsp.writeFile(`${opts.hold}.loaded`, '');
      while (!fs.existsSync(`${opts.hold}.go`)) await new Promise((r) => setTimeout(r, 100));
    });
    await page.goto(`${origin}/page.html`);
    await page.waitForFunction(() => window.harnessReady === true, null, { timeout: 15000 });
    const keysHex = Object.fromEntries(
      [...opts.keys].map(([kid, key]) => [kid, opts.wrongKey ? corrupt(key) : key]));
    const cfg = {
      url: opts.url ?? `${origin}/media/${opts.manifest}`,
      protocol: opts.protocol,
      drm: opts.drm,
      licenseUrl: `${origin}/license`,
      keysHex,
      expect: opts.expect,
      hold: Boolean(opts.hold),
      expectHeights: opts.expectHeights,
      textLang: opts.textLang,
      textName: opts.textName,
      expectCues: opts.expectCues,
    };
    result = await Promise.race([
      page.evaluate((c) => window.runScenario(c), cfg),
      new Promise((_, reject) => setTimeout(
        () => reject(new Error(`harness timed out after ${opts.timeout} s`)), opts.timeout * 1000)),
    ]);
  } catch (e) {
    // Keep what the scenario got through before it stalled.
    const partial = await page?.evaluate(() => window.harnessResult).catch(() => null);
    result = { ...(partial ?? { steps: [] }), ok: false };
    result.errors = [`harness: ${e.message}`, ...(partial?.errors ?? [])];
  } finally {
    await context?.close().catch(() => {});
    server.close();
    await fsp.rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }

  // Licence traffic is part of the proof: a protected asset played through a licence server must
  // have asked it for keys, and a clear one must not have.
  const problems = [];
  if (opts.expect === 'play' || opts.expect === 'subtitles') {
    if ((opts.drm === 'server' || opts.drm === 'manifest') && stats.licenseRequests === 0) {
      problems.push('played without any licence request: was the content really protected?');
    }
    if (opts.drm === 'none' && stats.licenseRequests > 0) problems.push('licence requested for clear content');
    if (stats.notFound.length) problems.push(`404 for ${[...new Set(stats.notFound)].join(', ')}`);
  }
  const ok = result.ok && problems.length === 0;
  const report = {
    ok, player: opts.player, protocol: opts.protocol, drm: opts.drm, wrongKey: opts.wrongKey,
    expect: opts.expect, ...result, errors: [...(result.errors ?? []), ...problems],
    licenseRequests: stats.licenseRequests, licenseKids: [...new Set(stats.licenseKids)],
    notFound: [...new Set(stats.notFound)],
  };
  if (!ok) report.log = logs.slice(-80);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  process.stderr.write(`run.mjs: ${e.stack}\n`);
  process.exit(1);
});
