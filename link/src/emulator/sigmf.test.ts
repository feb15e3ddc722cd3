import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SigmfRecorder, sigmfPaths, type SigmfMeta } from './sigmf.js';

function readRecording(base: string): { meta: SigmfMeta; samples: Float32Array } {
  const meta = JSON.parse(readFileSync(`${base}.sigmf-meta`, 'utf8')) as SigmfMeta;
  const data = readFileSync(`${base}.sigmf-data`);
  const samples = new Float32Array(data.length / 4);
  for (let i = 0; i < samples.length; i++) samples[i] = data.readFloatLE(4 * i);
  return { meta, samples };
}

describe('SigMF recorder', () => {
  it('writes cf32_le samples and a meta of exactly global, captures and annotations', () => {
    const dir = mkdtempSync(join(tmpdir(), 'akb-sigmf-'));
    const rec = SigmfRecorder.open({ path: join(dir, 'run.sigmf-meta'), sampleRateHz: 1e6, description: 'test', startedAt: new Date(0) });
    expect(rec.paths.base).toBe(join(dir, 'run'));
    rec.append(new Float32Array([1, -1, 0.5, 0.25]), { label: 'a', comment: { frameId: 1, snrDb: 3 } });
    rec.append(new Float32Array([2, 3]), { label: 'b', comment: 'plain' });
    rec.close();
    rec.close(); // idempotent
    const { meta, samples } = readRecording(join(dir, 'run'));
    expect(Object.keys(meta)).toEqual(['global', 'captures', 'annotations']);
    expect(meta.global).toEqual({
      'core:datatype': 'cf32_le', 'core:version': '1.0.0', 'core:sample_rate': 1e6, 'core:description': 'test', 'core:recorder': 'akb channel emulator',
    });
    expect(meta.captures).toEqual([{ 'core:sample_start': 0, 'core:datetime': '1970-01-01T00:00:00.000Z' }]);
    expect(meta.annotations).toEqual([
      { 'core:sample_start': 0, 'core:sample_count': 2, 'core:label': 'a', 'core:comment': '{"frameId":1,"snrDb":3}' },
      { 'core:sample_start': 2, 'core:sample_count': 1, 'core:label': 'b', 'core:comment': 'plain' },
    ]);
    expect(Array.from(samples)).toEqual([1, -1, 0.5, 0.25, 2, 3]);
    expect(rec.samples).toBe(3);
    expect(() => rec.append(new Float32Array(2), { label: 'late' })).toThrow(/closed/);
  });

  it('leaves a readable recording when the process dies without closing it', () => {
    // Thrown at it: a recorder that is flushed once, then appended to and abandoned (no close).
    const dir = mkdtempSync(join(tmpdir(), 'akb-sigmf-'));
    const rec = SigmfRecorder.open({ path: join(dir, 'crash'), flushIntervalMs: 60_000 });
    expect(readRecording(join(dir, 'crash')).meta.annotations).toEqual([]); // a valid meta from the start
    for (let i = 0; i < 10; i++) rec.append(new Float32Array(8).fill(i), { label: `f${i}` });
    rec.flush();
    rec.append(new Float32Array(8), { label: 'unflushed' });
    const { meta, samples } = readRecording(join(dir, 'crash'));
    const annotated = meta.annotations.reduce((s, a) => s + Number(a['core:sample_count']), 0);
    expect(meta.annotations).toHaveLength(10);
    expect(annotated).toBe(40);
    expect(samples.length / 2).toBeGreaterThanOrEqual(annotated); // the data may run ahead, never behind
    expect(existsSync(`${join(dir, 'crash')}.sigmf-meta.tmp-${process.pid}`)).toBe(false);
    rec.close();
  });

  it('rewrites the meta by itself on its interval', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'akb-sigmf-'));
    const rec = SigmfRecorder.open({ path: join(dir, 'timer'), flushIntervalMs: 20 });
    rec.append(new Float32Array(4), { label: 'x' });
    const deadline = Date.now() + 3000;
    while (readRecording(join(dir, 'timer')).meta.annotations.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(readRecording(join(dir, 'timer')).meta.annotations).toHaveLength(1);
    rec.close();
    expect(statSync(`${join(dir, 'timer')}.sigmf-data`).size).toBe(16);
  });

  it('names the file in a typed error when the folder does not exist', () => {
    expect(() => SigmfRecorder.open({ path: '/nonexistent-akb-dir/x' })).toThrow(
      expect.objectContaining({ code: 'RECORDING_FAILED', message: expect.stringContaining('/nonexistent-akb-dir/x.sigmf-data') as string }) as Error,
    );
    expect(sigmfPaths('a/b.sigmf')).toEqual({ base: 'a/b', data: 'a/b.sigmf-data', meta: 'a/b.sigmf-meta' });
  });
});
