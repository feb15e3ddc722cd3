/**
 * PROTOCOL.md must agree with the code: the topic table with TOPIC_CATALOG and topics.ts, every message
 * kind documented, the reply-topic table with replyTopicFor, and the worked numbers (KB digest, KB
 * version, numeric device id, session, float16 NaN, nesting limit) with the functions that compute them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { numericDeviceId } from '../device-id.js';
import { float32BitsToFloat16Bits } from '../frame/float16.js';
import { MAX_JSON_DEPTH } from '../messages.js';
import { defaultSession } from '../mqtt/client.js';
import { replyTopicFor } from '../reply-topic.js';
import { KB_KINDS, OTA_KINDS, topics } from '../topics.js';
import { INTENT_SET_OP, KB_ENTRIES_OP, MESSAGE_KINDS, TOPIC_CATALOG, kbDigest, kbVersionOf } from './index.js';

const doc = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8');
const DEVICE = 'dev-x';
const CLIENT = 'client-y';
const JOB = 'job-z';

describe('PROTOCOL.md', () => {
  it('lists every topic of topics.ts in TOPIC_CATALOG, and nothing else', () => {
    const fromCode = [
      topics.status(DEVICE),
      topics.telemetry(DEVICE),
      topics.linkTx(DEVICE),
      topics.linkRx(DEVICE),
      topics.linkMeta(DEVICE),
      topics.feedback(DEVICE),
      topics.cmdReq(DEVICE),
      topics.cmdRes(DEVICE),
      ...OTA_KINDS.map((k) => topics.ota(DEVICE, k)),
      ...KB_KINDS.map((k) => topics.kb(DEVICE, k)),
      topics.kbAnnounce(),
      topics.fleetCmdReq(),
      topics.cloudReq(),
      topics.cloudOpsReq(),
      topics.cloudRes(CLIENT),
      topics.otaJob(JOB),
      topics.otaJobAbort(JOB),
      topics.alarm(DEVICE),
      topics.linkCtlReq(),
      topics.linkCtlRes(CLIENT),
    ].sort();
    const fromCatalog = TOPIC_CATALOG.map((t) => t.topic.replace('{device}', DEVICE).replace('{client}', CLIENT).replace('{job}', JOB)).sort();
    expect(fromCatalog).toEqual(fromCode);
  });

  it('has a topic table row matching each catalogue entry', () => {
    for (const t of TOPIC_CATALOG) {
      const payload = t.payload === 'frame' ? 'binary frame' : `\`${t.payload}\``;
      const carried = t.carries === undefined ? '' : ` (${t.topic.endsWith('/req') ? 'args' : 'data'}: \`${t.carries}\`)`;
      const row = `| \`${t.topic}\` | ${t.direction} | ${payload}${carried} | ${t.qos} | ${t.retained ? 'yes' : 'no'} | ${t.publishers} |`;
      expect(doc, `row for ${t.topic}`).toContain(row);
    }
  });

  it('documents every message kind and points at its schema', () => {
    for (const kind of MESSAGE_KINDS) expect(doc, kind).toContain(`\`${kind}\``);
    expect(doc).toContain('schema/<kind>.schema.json');
  });

  it('gives a KB digest example that kbDigest reproduces', () => {
    const digest = kbDigest([
      { embedding: [0.5, -0.25], prior: 0.75 },
      { embedding: [1, 2], prior: 0.25 },
    ]);
    expect(doc).toContain(digest);
  });

  it('states the reply-topic table that replyTopicFor implements', () => {
    const section = doc.slice(doc.indexOf('### Reply topics'), doc.indexOf('### Operations'));
    const rows = [...section.matchAll(/^\| `(akb\/v1\/[^`]+)` \| `(akb\/v1\/[^`]+)`/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(rows.length).toBe(6);
    const fill = (t: string): string => t.replace('{device}', 'cam-01').replace('{self}', 'cam-07').replace('{from}', 'tool-1');
    for (const [request, reply] of rows) {
      expect(replyTopicFor(fill(request), { from: 'tool-1' }, { deviceId: 'cam-07' }), request).toBe(fill(reply));
    }
  });

  it('lists the operations the protocol names', () => {
    for (const op of [KB_ENTRIES_OP, INTENT_SET_OP, 'ping', 'fleet.list', 'channel.set', 'channel.get']) expect(doc).toContain(`| \`${op}\` |`);
  });

  it('says on which cloud topic each cloud operation is served: cloud/req only ping and kb.entries', () => {
    // The cloud's own split is tested in runtime-cloud (operations.ts); here, the table's topic column.
    const section = doc.slice(doc.indexOf('### Operations'), doc.indexOf('## JSON messages'));
    const cloudRows = [...section.matchAll(/^\| `([a-z.]+)` \| ([^|]*\(cloud[^|]*) \|/gm)].map((m) => [m[1]!, m[2]!] as const);
    expect(cloudRows.map(([op]) => op).sort()).toEqual(
      ['cloud.stats', 'decoder.stats', 'fleet.list', 'images.recent', 'images.tiles', INTENT_SET_OP, 'kb.reload', KB_ENTRIES_OP, 'ping', 'telemetry.query'].sort(),
    );
    for (const [op, served] of cloudRows) {
      expect(served, op).toContain('`cloud/ops/req`');
      expect(served.includes('`cloud/req`'), op).toBe(op === 'ping' || op === KB_ENTRIES_OP);
    }
  });

  it('gives worked numbers that the code reproduces', () => {
    const hex = (n: number): string => `0x${n.toString(16).toUpperCase()} = ${n}`;
    expect(doc).toContain(`\`cam-01\` gives ${hex(numericDeviceId('cam-01'))}`);
    expect(doc).toContain(`\`kbVersion\` is ${hex(kbVersionOf([[0.5, -0.25], [1, 2]]))}`);
    expect(doc).toContain(`2025-11-25T18:47:00Z\ngives ${defaultSession(Date.parse('2025-11-25T18:47:00Z'))}`);
    expect(doc).toContain(`2026-01-01T00:00:00Z gives ${defaultSession(Date.parse('2026-01-01T00:00:00Z'))}`);
    expect(doc).toContain(`unixMillis - ${Date.UTC(2024, 0, 1)}`);
    expect(doc).toContain(`**0x${float32BitsToFloat16Bits(0x7fc00000).toString(16).toUpperCase()}**`);
    expect(doc).toContain(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  });

  it('keeps every section filled', () => {
    expect(doc).not.toMatch(/<!-- SECTION:(overview|topics|messages|versioning) -->/);
  });
});
