/**
 * PROTOCOL.md must agree with the code: the topic table with TOPIC_CATALOG and topics.ts, every message
 * kind documented, the KB digest example computed by kbDigest.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KB_KINDS, OTA_KINDS, topics } from '../topics.js';
import { MESSAGE_KINDS, TOPIC_CATALOG, kbDigest } from './index.js';

const doc = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8');
const DEVICE = 'dev-x';
const CLIENT = 'client-y';

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
      topics.cloudRes(CLIENT),
    ].sort();
    const fromCatalog = TOPIC_CATALOG.map((t) => t.topic.replace('{device}', DEVICE).replace('{client}', CLIENT)).sort();
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

  it('keeps every section filled', () => {
    expect(doc).not.toMatch(/<!-- SECTION:(overview|topics|messages|versioning) -->/);
  });
});
