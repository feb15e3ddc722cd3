import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { describe, expect, it } from 'vitest';
import type { InspectReport, Model } from '@akb/quantize';
import { addFeedsItself, cycleInIfBranch, inputDimsPast2p53, threeNodeCycle, trillionParameterInitializer, writeModel } from '../../../test/quantize/hostile.js';
import type { CliContext } from './define.js';
import { inspectCommand } from './inspect.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs `akb inspect ...` through yargs and the command's handler, capturing what it prints. */
async function akbInspect(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = { io: { out: (l) => out.push(l), err: (l) => err.push(l) }, exitCode: 0 };
  await yargs(['inspect', ...args]).strict().command(inspectCommand(ctx)).parseAsync();
  return { code: ctx.exitCode, out, err };
}

describe('akb inspect', () => {
  it('prints an aligned report of a zoo model', async () => {
    const r = await akbInspect(`${root}models/zoo/deepjscc-r6-snr13-dec/model.onnx`);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    const text = r.out.join('\n');
    expect(text).toMatch(/^opsets +ai\.onnx 17$/m);
    expect(text).toMatch(/^inputs +latent FLOAT \[N, \d+\]$/m);
    expect(text).toMatch(/^op type +count +MACs +quantizer$/m);
    expect(text).toMatch(/^ConvTranspose +\d+ +[\d.]+ M +quantized \(weights\)$/m);
    expect(text).toMatch(/^PRelu +\d+ +- +kept float$/m);
  });

  it('prints JSON with --json', async () => {
    const r = await akbInspect(`${root}models/zoo/akb-dqn-policy/model.onnx`, '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out.join('\n')) as InspectReport;
    expect(report.ops.map((o) => o.opType).sort()).toEqual(['Gemm', 'Relu']);
    expect(report.macs.total).toBeGreaterThan(0);
  });

  it('refuses a corrupt model with one line and exit 1 (thrown at it: a zoo model cut at 1000 bytes)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'akb-inspect-'));
    const path = join(dir, 'cut.onnx');
    writeFileSync(path, readFileSync(`${root}models/zoo/akb-dqn-policy/model.onnx`).subarray(0, 1000));
    const r = await akbInspect(path);
    expect(r.code).toBe(1);
    expect(r.out).toEqual([]);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(/^akb: .*cut\.onnx: corrupt ONNX protobuf: length \d+ runs past the end \(\d+ bytes left\) at byte \d+ \(in \w+\)$/);
  });

  it('refuses a missing file and a file that is not a model (thrown at it: no file, a JSON card)', async () => {
    const missing = await akbInspect('/nonexistent/model.onnx');
    expect(missing.code).toBe(1);
    expect(missing.err).toEqual(['akb: cannot read model /nonexistent/model.onnx: ENOENT: no such file or directory']);
    const card = await akbInspect(`${root}models/zoo/akb-dqn-policy/card.json`);
    expect(card.code).toBe(1);
    expect(card.err).toHaveLength(1);
    expect(card.err[0]).toMatch(/^akb: .*card\.json: (corrupt ONNX protobuf|not an ONNX model)/);
  });

  const hostile: [string, () => Model, RegExp][] = [
    ['a graph whose Add feeds itself', addFeedsItself, /main graph has a cycle: Add node 'add' reads 'y', which it computes itself$/],
    ['a four-node cycle', threeNodeCycle, /main graph has a cycle: 'add' -> 'relu' -> 'neg' -> 'abs' -> 'add'/],
    ["a cycle inside an If's branch", cycleInIfBranch, /subgraph 'then_branch' of If node 'if' has a cycle/],
    ['a model whose initializer claims 1.1 T elements', trillionParameterInitializer, /initializer 'w' declares FLOAT \[1048576, 1048576\] \(1\.1 T elements, 4\.4 TB\) but holds 16 bytes of raw data$/],
    ['an input whose dims multiply past 2^53', inputDimsPast2p53, /'x' \(main graph\) declares dims \[1073741824, 1073741824, 1073741824\]: .* past the limit of 1\.1 T \(2\^40\)/],
  ];
  for (const [what, make, message] of hostile) {
    it(`refuses ${what} with one line and exit 1`, async () => {
      const r = await akbInspect(writeModel('inspect', make()));
      expect(r.code).toBe(1);
      expect(r.out).toEqual([]);
      expect(r.err).toHaveLength(1);
      expect(r.err[0]).toMatch(/^akb: .*inspect\.onnx: /);
      expect(r.err[0]).toMatch(message);
    });
  }

  it('runs as users run it: the built bin prints JSON, and refuses a corrupt model with one line, exit 1, no stack', () => {
    // Thrown at it: the MLP policy cut at 5000 bytes. (npm test builds dist/ first, as for cli.test.ts.)
    const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
    const ok = spawnSync(process.execPath, [cli, 'inspect', `${root}models/zoo/akb-dqn-policy/model.onnx`, '--json'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect((JSON.parse(ok.stdout) as InspectReport).inputs[0]?.name).toBe('state');
    const dir = mkdtempSync(join(tmpdir(), 'akb-inspect-bin-'));
    writeFileSync(join(dir, 'cut.onnx'), readFileSync(`${root}models/zoo/akb-dqn-policy/model.onnx`).subarray(0, 5000));
    const bad = spawnSync(process.execPath, [cli, 'inspect', join(dir, 'cut.onnx')], { encoding: 'utf8', env: { ...process.env, AKB_DEBUG: '' } });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^akb: .*cut\.onnx: corrupt ONNX protobuf: .* at byte \d+/);
  });
});
