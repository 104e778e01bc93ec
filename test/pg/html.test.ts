/**
 * --format html, rendered by a real browser (Debian's chromium, headless):
 * the DOM it builds has every plan node with its time share and estimate vs
 * actual, the finding beside its node, and the screenshot is not blank.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres, type TestPostgres } from '../support/postgres.js';
import { buildScenario, SCENARIO_QUERY } from '../../src/commands/pg/scenario.js';
import { opsctl } from './helpers.js';

const chromium = ['chromium', 'chromium-browser'].map((b) => spawnSync('which', [b], { encoding: 'utf8' }).stdout.trim()).find(Boolean);
const dir = mkdtempSync(path.join(os.tmpdir(), 'opsctl-html-'));
let server: TestPostgres;
let url: string;

beforeAll(async () => {
  server = await startPostgres();
  url = await server.createDatabase('html');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await buildScenario((q, p) => c.query(q, p as unknown[]), 20_000);
  await c.end();
}, 120_000);
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Decode an 8-bit RGB/RGBA PNG (what Chromium writes) into pixels. */
function decodePng(buf: Buffer): { width: number; height: number; channels: number; pixels: Uint8Array } {
  let pos = 8;
  let width = 0, height = 0, channels = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8) throw new Error('only 8-bit PNGs');
      channels = ({ 2: 3, 6: 4 } as Record<number, number>)[data[9]!]!;
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= channels ? out[y * stride + x - channels]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels]! : 0;
      const paeth = () => {
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      };
      const pred = [0, a, b, (a + b) >> 1, paeth()][filter]!;
      out[y * stride + x] = (v + pred) & 0xff;
    }
  }
  return { width, height, channels, pixels: out };
}

describe.skipIf(!chromium && !process.env.CI)('--format html in headless Chromium', () => {
  it('draws the plan as a tree with time shares, estimate vs actual and the findings beside their nodes', async () => {
    const r = await opsctl(['pg', 'explain', SCENARIO_QUERY, '--db', url, '--format', 'html']);
    expect(r.code, r.stderr).toBe(0);
    // Self-contained: nothing fetched from anywhere.
    expect(r.stdout).not.toMatch(/<script|<link|src=|https?:\/\//);
    const json = (await opsctl(['--json', 'pg', 'explain', SCENARIO_QUERY, '--db', url])).doc;
    const file = path.join(dir, 'plan.html');
    writeFileSync(file, r.stdout);
    const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${path.join(dir, 'profile')}`];
    const dom = spawnSync(chromium!, [...flags, '--dump-dom', `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
    expect(dom.status, dom.stderr).toBe(0);
    const nodes = [...dom.stdout.matchAll(/data-node="(\d+)"/g)].map((m) => Number(m[1]));
    expect(nodes.sort((a, b) => a - b)).toEqual(json.nodes.map((n: any) => n.id).sort((a: number, b: number) => a - b));
    // The finding sits in the same row as its node.
    const finding = json.findings.find((f: any) => f.kind === 'limit-order-index-filter');
    const row = new RegExp(`<div class="row"><div class="node[^"]*" data-node="${finding.nodeId}">[\\s\\S]*?</div></div><div class="finding [a-z]+" data-kind="limit-order-index-filter">`);
    expect(dom.stdout).toMatch(row);
    expect(dom.stdout).toMatch(/rows <span class="[^"]*">[\d,]+ actual \/ [\d,]+ est\.<\/span>/);
    expect(dom.stdout).toMatch(/<i style="width:\d+%">/);

    const png = path.join(dir, 'shot.png');
    const shot = spawnSync(chromium!, [...flags, '--hide-scrollbars', `--screenshot=${png}`, '--window-size=1200,900', `file://${file}`], { encoding: 'utf8', timeout: 60_000 });
    expect(shot.status, shot.stderr).toBe(0);
    if (process.env.KEEP_SHOT) writeFileSync(process.env.KEEP_SHOT, readFileSync(png));
    const img = decodePng(readFileSync(png));
    expect([img.width, img.height]).toEqual([1200, 900]);
    let ink = 0, red = 0;
    for (let i = 0; i < img.pixels.length; i += img.channels) {
      const [R, G, B] = [img.pixels[i]!, img.pixels[i + 1]!, img.pixels[i + 2]!];
      if (R < 200 || G < 200 || B < 200) ink++;
      // The hot path's red time bars and borders.
      if (R > 180 && G < 90 && B < 90) red++;
    }
    expect(ink / (img.width * img.height)).toBeGreaterThan(0.01);
    expect(red).toBeGreaterThan(100);
  }, 120_000);
});
