/**
 * The golden rule vectors under protocol/vectors/rules/: the reply-topic table (through the pure rule and
 * through RpcServer), numericDeviceId, kbVersion, the status session number, float16 NaN bits and strict
 * base64. Message vectors are run by messages.vectors.test.ts, frame vectors by frame/vectors.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MemoryTransport } from '../testing/memory-transport.js';
import { numericDeviceId } from './device-id.js';
import { ProtocolError } from './errors.js';
import { float16BitsToFloat32, float32BitsToFloat16Bits } from './frame/float16.js';
import { decodeFrame } from './frame/codec.js';
import { buildExtensionRules } from '../scripts/generate-extension-rules.js';
import { defaultSession } from './mqtt/client.js';
import { RpcServer } from './mqtt/rpc-server.js';
import { replyTopicFor, type ReplyRuleContext } from './reply-topic.js';
import { Base64, base64ByteLength } from './schemas/common.js';
import { kbKeysSha256, kbVersionOf } from './schemas/kb-digest.js';

const dir = fileURLToPath(new URL('../vectors/rules/', import.meta.url));
const load = <T>(file: string): T => JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as T;
const RUNNERS = ['reply-topics.json', 'numeric-device-id.json', 'kb-version.json', 'session.json', 'float16-nan.json', 'base64.json', 'frame-extensions.json'];

it('runs every file of vectors/rules/', () => {
  expect(readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual([...RUNNERS].sort());
});

interface ReplyVector {
  name: string;
  requestTopic: string;
  server?: ReplyRuleContext;
  envelope: Record<string, unknown>;
  responseTopic?: string;
  expectedReplyTopic: string | null;
  replyToIgnored: boolean;
}

describe('reply-topics.json', () => {
  const { vectors } = load<{ vectors: ReplyVector[] }>('reply-topics.json');
  for (const v of vectors) {
    it(`${v.name}: replyTopicFor`, () => {
      expect(replyTopicFor(v.requestTopic, v.envelope, v.server)).toBe(v.expectedReplyTopic);
    });
    it(`${v.name}: RpcServer`, async () => {
      const t = new MemoryTransport(v.responseTopic === undefined ? 4 : 5);
      const server = new RpcServer(t, { requestTopic: v.requestTopic, handlers: { ping: () => 'pong' }, ...v.server });
      const options = v.responseTopic === undefined ? {} : { responseTopic: v.responseTopic, correlationData: Buffer.from('corr') };
      await server.handle(t.message(v.requestTopic, JSON.stringify(v.envelope), options));
      expect(t.topics()).toEqual(v.expectedReplyTopic === null ? [] : [v.expectedReplyTopic]);
      expect(server.stats.dropped).toBe(v.expectedReplyTopic === null ? 1 : 0);
      expect(server.stats.replyToIgnored).toBe(v.replyToIgnored ? 1 : 0);
    });
  }
});

describe('numeric-device-id.json', () => {
  const doc = load<{ valid: { deviceId: string; numeric: number; hex: string }[]; invalid: { deviceId: string; error: string }[] }>('numeric-device-id.json');
  it.each(doc.valid)('$deviceId → $hex', ({ deviceId, numeric, hex }) => {
    expect(numericDeviceId(deviceId)).toBe(numeric);
    expect(Number.parseInt(hex, 16)).toBe(numeric);
  });
  it.each(doc.invalid)('$deviceId is refused', ({ deviceId, error }) => {
    expect(() => numericDeviceId(deviceId)).toThrow(ProtocolError);
    expect(() => numericDeviceId(deviceId)).toThrow(expect.objectContaining({ code: error }) as Error);
  });
});

describe('kb-version.json', () => {
  const { vectors } = load<{ vectors: { name: string; embeddings: number[][]; keysSha256: string; kbVersion: number; hex: string }[] }>('kb-version.json');
  it.each(vectors)('$name → $hex', ({ embeddings, keysSha256, kbVersion, hex }) => {
    expect(kbKeysSha256(embeddings)).toBe(keysSha256);
    expect(kbVersionOf(embeddings)).toBe(kbVersion);
    expect(keysSha256.slice(0, 8)).toBe(hex.slice(2));
  });
});

describe('session.json', () => {
  const { vectors } = load<{ vectors: { time: string; ms: number; session: number }[] }>('session.json');
  it.each(vectors)('$time → $session', ({ time, ms, session }) => {
    expect(Date.parse(time)).toBe(ms);
    expect(defaultSession(ms)).toBe(session);
  });
});

describe('float16-nan.json', () => {
  const doc = load<{ encode: { float32Bits: string; float16Bits: string }[]; decode: { float16Bits: string; value: number | string }[] }>('float16-nan.json');
  it.each(doc.encode)('float32 $float32Bits → $float16Bits', ({ float32Bits, float16Bits }) => {
    expect(float32BitsToFloat16Bits(Number.parseInt(float32Bits, 16))).toBe(Number.parseInt(float16Bits, 16));
  });
  it.each(doc.decode)('float16 $float16Bits → $value', ({ float16Bits, value }) => {
    expect(float16BitsToFloat32(Number.parseInt(float16Bits, 16))).toBe(typeof value === 'number' ? value : Number(value));
  });
});

describe('base64.json', () => {
  const doc = load<{ valid: { text: string; bytes: number }[]; invalid: { text: string; why: string }[] }>('base64.json');
  it.each(doc.valid)('"$text" is $bytes bytes', ({ text, bytes }) => {
    expect(base64ByteLength(text)).toBe(bytes);
    expect(Base64.safeParse(text).success).toBe(true);
    expect(Buffer.from(text, 'base64').toString('base64')).toBe(text);
  });
  it.each(doc.invalid)('"$text" is refused ($why)', ({ text }) => {
    expect(base64ByteLength(text)).toBeUndefined();
    expect(Base64.safeParse(text).success).toBe(false);
  });
  it('checks strict base64 of the largest OTA block (174,764 characters) in linear time', () => {
    const text = Buffer.alloc(128 * 1024, 0xa5).toString('base64');
    expect(base64ByteLength(text)).toBe(128 * 1024);
    expect(base64ByteLength(`${text.slice(0, -4)}AB==`)).toBeUndefined();
  });
});

describe('frame-extensions.json', () => {
  const doc = load<{ cases: { name: string; hex: string; rxSnrDb: number | null }[] }>('frame-extensions.json');
  it('matches what its generator builds', () => {
    expect(readFileSync(`${dir}frame-extensions.json`, 'utf8')).toBe(buildExtensionRules());
  });
  it.each(doc.cases)('$name', ({ hex, rxSnrDb }) => {
    const { header } = decodeFrame(new Uint8Array(Buffer.from(hex, 'hex')));
    expect(header.rxSnrDb ?? null).toBe(rxSnrDb);
  });
});
