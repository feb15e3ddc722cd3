/**
 * `akb-edge --no-kb` (build first: npx tsc -b). Thrown at it: --no-kb with a Deep JSCC set, which has no
 * source KB: refused in one line, exit 2, before any broker is tried. Accepted with an AKB set: it gets as
 * far as the (closed) broker.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

function edge(args: string[]) {
  return spawnSync(process.execPath, ['runtime-edge/dist/main.js', '--device', 'cam-nokb', '--broker', 'mqtt://127.0.0.1:1', '--models', 'models/zoo', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, AKB_PROFILE: '', AKB_BACKENDS: '', AKB_SET: '' },
  });
}

describe('akb-edge --no-kb', () => {
  it('refuses a set without a source KB in one line, exit 2', () => {
    const r = edge(['--set', 'deepjscc-r12-snr7', '--no-kb']);
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe('akb-edge: --no-kb: deepjscc-r12-snr7 has no source KB to withhold (use --no-kb with an AKB set such as akb-k256)');
  });

  it('takes it with an AKB set (and goes on to the broker)', () => {
    const r = edge(['--set', 'akb-k256', '--no-kb']);
    expect(r.stderr).toMatch(/cannot connect to mqtt:\/\/127\.0\.0\.1:1/);
    expect(r.stderr).not.toMatch(/source KB/);
  });
});
