/**
 * PROTOCOL.md's "Access control" shows the Mosquitto ACL that `akb topics --acl` prints, line for line, and
 * the section `--tool ops` appends; the sentence on `--gateway` names the topics a gateway section grants.
 * Under test/ because the protocol package may not import the toolkit.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { topicsCommand } from '../../toolkit/src/commands/topics.js';
import { runAkbCommand } from '../cloud/support.js';

const doc = readFileSync(new URL('../../protocol/PROTOCOL.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('### Access control'), doc.indexOf('## Request/response'));
/** The fenced blocks of the section, each as its lines. */
const blocks = [...section.matchAll(/^```\n([\s\S]*?)\n```$/gm)].map((m) => m[1]!.split('\n'));

async function printed(...args: string[]): Promise<string[]> {
  const r = await runAkbCommand(topicsCommand, ['topics', '--acl', ...args]);
  expect(r.code).toBe(0);
  return r.out;
}

describe('PROTOCOL.md, Access control', () => {
  it('shows exactly what akb topics --acl prints', async () => {
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toEqual(await printed());
  });

  it('shows exactly the section akb topics --acl --tool ops appends', async () => {
    const base = await printed();
    const withTool = await printed('--tool', 'ops');
    expect(withTool.slice(0, base.length)).toEqual(base);
    expect(withTool.slice(base.length)).toEqual(['', ...blocks[1]!]);
    expect(blocks[1]).toContain('topic write akb/v1/cloud/ops/req');
  });

  it('names in its sentence on --gateway the topics a gateway section grants', async () => {
    const base = await printed();
    const gateway = (await printed('--gateway', 'gw')).slice(base.length).filter((l) => l.startsWith('topic '));
    expect(gateway.length).toBeGreaterThan(0);
    const sentence = section.slice(section.indexOf('`--gateway <user>`'));
    for (const line of gateway) expect(sentence).toContain(`\`${line.split(' ')[2]!}\``);
  });

  it('grants no device, by a pattern, write access to cloud/ops/req', () => {
    expect(blocks[0]!.filter((l) => l.startsWith('pattern') && l.includes('cloud/ops'))).toEqual([]);
  });
});
