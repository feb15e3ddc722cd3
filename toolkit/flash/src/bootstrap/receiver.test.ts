/**
 * The bootstrap receivers (sh and python3) run for real on their input lines. Thrown at them: an end line
 * whose second digest was damaged on the way (one character changed, as a flipped bit in a hex digit
 * would): they ask again (AKB-NAK) and keep the file, where a single damaged digest used to fail it; the
 * undamaged end line then completes it. And a start command whose output path was damaged on the way
 * (one character changed after the host computed the path's SHA-256): AKB-RX-BADARG, exit 2, and no file
 * created at the damaged path or the intended one.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { receiverCommand, receiverScript } from './receiver.js';
import type { ReceiverKind } from './tools.js';

const dir = mkdtempSync(join(tmpdir(), 'akb-receiver-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe.each(['sh', 'python3'] as ReceiverKind[])('the %s receiver', (kind) => {
  it('answers a damaged end line with AKB-NAK and completes on the next one', () => {
    const data = Buffer.from('hello, board\n'.repeat(20));
    const whole = sha(data);
    const damaged = `${whole.slice(0, 10)}${whole[10] === '0' ? '1' : '0'}${whole.slice(11)}`;
    const script = join(dir, `rx-${kind}`);
    const out = join(dir, `out-${kind}`);
    writeFileSync(script, receiverScript(kind));
    const input = `C 0 ${sha(data)} ${data.toString('base64')}\nE 1 ${whole} ${damaged}\nE 1 ${whole} ${whole}\n`;
    const r = spawnSync('sh', ['-c', receiverCommand(kind, `'${script}'`, out)], { input, encoding: 'utf8', timeout: 10_000 });
    expect(r.stdout.trim().split('\n')).toEqual(['AKB-RX-READY', 'AKB-ACK 1', 'AKB-NAK 1', 'AKB-DONE 1']);
    expect(readFileSync(out)).toEqual(data);
  });

  it('refuses a path damaged on the way (AKB-RX-BADARG, exit 2) and creates nothing', () => {
    const script = join(dir, `rx-bad-${kind}`);
    writeFileSync(script, receiverScript(kind));
    const sub = mkdtempSync(join(dir, `bad-${kind}-`));
    const meant = join(sub, 'profile.json.akb-in');
    const command = receiverCommand(kind, `'${script}'`, meant);
    // one character of the path changed after the host computed its SHA-256, as a byte error would
    const damaged = command.replace('.akb-in', '.akb-im');
    const r = spawnSync('sh', ['-c', damaged], { input: 'C 0 x x\n', encoding: 'utf8', timeout: 10_000 });
    expect(r.stdout.trim()).toBe('AKB-RX-BADARG');
    expect(r.status).toBe(2);
    expect(readdirSync(sub)).toEqual([]);
    expect(existsSync(meant)).toBe(false);
  });
});
