/**
 * SigMF recordings of sdr-udp transmissions, checked against the specification's required fields and types
 * (checkSigmfMeta, written from the SigMF core namespace), and the checker itself on metadata that breaks
 * each rule.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '@akb/protocol';
import { SdrUdpLink, checkSigmfMeta, modulateFrame } from '@akb/link';
import { symbolFrame } from './sdr-support.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('SigMF recording of sdr-udp transmissions', () => {
  it('records each burst sent, and the recording meets the specification', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'akb-sdr-sigmf-'));
    dirs.push(dir);
    const sink = createSocket('udp4');
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
    const link = await SdrUdpLink.open({ port: sink.address().port, sampleRateHz: 2e6, record: { path: join(dir, 'tx'), description: 'sdr-udp test' } });
    const rand = seededRandom(3);
    const frames = [symbolFrame(100, 1, rand).frame, symbolFrame(250, 2, rand).frame];
    await link.send(frames);
    await link.close();
    sink.close();
    const meta: unknown = JSON.parse(readFileSync(join(dir, 'tx.sigmf-meta'), 'utf8'));
    const dataBytes = statSync(join(dir, 'tx.sigmf-data')).size;
    expect(checkSigmfMeta(meta, dataBytes)).toEqual([]);
    const bursts = frames.map((f) => modulateFrame(f));
    expect(dataBytes).toBe(4 * (bursts[0]!.length + bursts[1]!.length));
    expect(meta).toMatchObject({
      global: { 'core:datatype': 'cf32_le', 'core:sample_rate': 2e6, 'core:recorder': 'akb sdr-udp link', 'core:description': 'sdr-udp test' },
      annotations: [
        { 'core:sample_start': 0, 'core:sample_count': bursts[0]!.length / 2, 'core:label': 'frame' },
        { 'core:sample_start': bursts[0]!.length / 2, 'core:sample_count': bursts[1]!.length / 2, 'core:label': 'frame' },
      ],
    });
    const data = new Float32Array(readFileSync(join(dir, 'tx.sigmf-data')).buffer.slice(0));
    expect(data.subarray(0, bursts[0]!.length)).toEqual(bursts[0]);
  });
});

describe('checkSigmfMeta', () => {
  const valid = {
    global: { 'core:datatype': 'cf32_le', 'core:version': '1.0.0', 'core:sample_rate': 1e6 },
    captures: [{ 'core:sample_start': 0, 'core:datetime': '2026-12-02T22:00:00.000Z' }],
    annotations: [{ 'core:sample_start': 0, 'core:sample_count': 10, 'core:label': 'frame' }],
  };

  it('accepts a minimal valid recording and other datatypes of the grammar', () => {
    expect(checkSigmfMeta(valid, 80)).toEqual([]);
    for (const dt of ['ri16_be', 'cu8', 'ri8', 'cf64_le', 'ru32_le']) {
      expect(checkSigmfMeta({ ...valid, global: { ...valid.global, 'core:datatype': dt } })).toEqual([]);
    }
  });

  it('reports each broken rule', () => {
    // Thrown at it: not an object, an extra top-level key, missing required fields, bad datatypes and versions,
    // wrong types, unsorted and unbounded annotations, a lone frequency edge, a data file of partial samples.
    expect(checkSigmfMeta([])).toEqual(['the metadata is not a JSON object']);
    expect(checkSigmfMeta({ ...valid, extra: 1 })[0]).toMatch(/exactly global, captures and annotations/);
    expect(checkSigmfMeta({ ...valid, global: { 'core:version': '1.0.0' } })).toEqual(['global: core:datatype is required']);
    expect(checkSigmfMeta({ ...valid, global: { ...valid.global, 'core:datatype': 'cf32' } })[0]).toMatch(/does not follow/);
    expect(checkSigmfMeta({ ...valid, global: { ...valid.global, 'core:version': 'v1' } })[0]).toMatch(/not a version/);
    expect(checkSigmfMeta({ ...valid, global: { ...valid.global, 'core:sample_rate': '1e6' } })[0]).toMatch(/core:sample_rate must be a positive/);
    expect(checkSigmfMeta({ ...valid, global: { ...valid.global, 'core:bogus': 1 } })[0]).toMatch(/not a core field/);
    expect(checkSigmfMeta({ ...valid, captures: [{ 'core:datetime': 'yesterday' }] })).toEqual([
      'captures[0]: core:sample_start is required',
      'captures[0]: core:datetime must be an ISO-8601 UTC date-time string, not "yesterday"',
    ]);
    const unsorted = [{ 'core:sample_start': 5 }, { 'core:sample_start': 2, 'core:sample_count': -1 }];
    expect(checkSigmfMeta({ ...valid, annotations: unsorted })).toEqual([
      'annotations[1]: core:sample_count must be a uint, not -1',
      'annotations[1]: not sorted by core:sample_start (2 after 5)',
    ]);
    expect(checkSigmfMeta({ ...valid, annotations: [{ 'core:sample_start': 0, 'core:freq_lower_edge': 1 }] })[0]).toMatch(/go together/);
    expect(checkSigmfMeta(valid, 40)[0]).toMatch(/ends at sample 10, past the data's 5/);
    expect(checkSigmfMeta(valid, 81)).toEqual(["the data file's 81 bytes are not whole 8-byte samples"]);
  });
});
