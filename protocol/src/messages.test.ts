import { describe, expect, expectTypeOf, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { MAX_JSON_DEPTH, MAX_MESSAGE_BYTES, decodeMessage, encodeMessage, validateMessage } from './messages.js';
import {
  EdgeConfig,
  MESSAGE_KINDS,
  PROTOCOL_VERSION,
  StatusOnline,
  decodeEmbedding,
  encodeEmbedding,
  formatPath,
  kbDigest,
  makeLastWill,
  messageSchemas,
  type StatusMessage,
  type TelemetryMessage,
} from './schemas/index.js';

const death = { v: 1, device: 'cam-01', session: 3, ts: 1_700_000_000_000, state: 'offline', reason: 'will' } as const;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    const error = e as ProtocolError;
    expect(error.message).not.toMatch(/[\n\r]/);
    return error.code;
  }
  return undefined;
}

describe('decodeMessage', () => {
  it('decodes bytes and strings alike, and the type follows the kind', () => {
    const text = JSON.stringify(death);
    const fromString = decodeMessage('status', text);
    const fromBytes = decodeMessage('status', new TextEncoder().encode(text));
    expect(fromBytes).toEqual(fromString);
    expectTypeOf(fromString).toEqualTypeOf<StatusMessage>();
    expectTypeOf<ReturnType<typeof decodeMessage<'telemetry'>>>().toEqualTypeOf<TelemetryMessage>();
    if (fromString.state === 'offline') expect(fromString.reason).toBe('will');
  });

  it('accepts a UTF-8 byte order mark and non-ASCII text', () => {
    const body = new TextEncoder().encode(JSON.stringify({ ...death, state: 'offline', reason: 'shutdown', message: 'arrêt propre ✓' }));
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...body]);
    expect(decodeMessage('status', withBom)).toMatchObject({ message: 'arrêt propre ✓' });
  });

  it('refuses more than the size limit, in bytes, before parsing', () => {
    const big = `{"pad":"${'x'.repeat(MAX_MESSAGE_BYTES)}"}`;
    expect(codeOf(() => decodeMessage('status', big))).toBe('TOO_LARGE');
    expect(codeOf(() => decodeMessage('status', Buffer.from(big)))).toBe('TOO_LARGE');
    // 100k three-byte characters: under the limit in UTF-16 units, over it in UTF-8 bytes.
    expect(codeOf(() => decodeMessage('status', `"${'€'.repeat(100_000)}"`))).toBe('TOO_LARGE');
    expect(codeOf(() => decodeMessage('status', JSON.stringify(death), { maxBytes: 20 }))).toBe('TOO_LARGE');
  });

  it('reports bad UTF-8, bad JSON and non-byte input as BAD_JSON', () => {
    expect(codeOf(() => decodeMessage('status', new Uint8Array([0x7b, 0xc3, 0x28, 0x7d])))).toBe('BAD_JSON');
    expect(codeOf(() => decodeMessage('status', '{"v":1,'))).toBe('BAD_JSON');
    expect(codeOf(() => decodeMessage('status', ''))).toBe('BAD_JSON');
    expect(codeOf(() => decodeMessage('status', 42 as unknown as string))).toBe('BAD_JSON');
  });

  it('counts nesting outside strings only', () => {
    const deep = `{"v":1,"op":"x","id":"a","args":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`;
    expect(codeOf(() => decodeMessage('request', deep))).toBe('BAD_JSON');
    const shallow = `{"v":1,"op":"x","id":"a","args":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}`;
    expect(decodeMessage('request', shallow).op).toBe('x');
    const inString = JSON.stringify({ v: 1, op: 'x', id: 'a', args: `\\"${'['.repeat(500)}` });
    expect(decodeMessage('request', inString).args).toBe(`\\"${'['.repeat(500)}`);
  });

  it('refuses __proto__ keys anywhere, even escaped or inside free-form args', () => {
    expect(codeOf(() => decodeMessage('request', '{"v":1,"id":"a","op":"x","args":{"__proto__":{"admin":true}}}'))).toBe('SCHEMA_VIOLATION');
    expect(codeOf(() => decodeMessage('request', '{"v":1,"id":"a","op":"x","args":{"\\u005f_proto__":1}}'))).toBe('SCHEMA_VIOLATION');
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(decodeMessage('request', '{"v":1,"id":"a","op":"x","args":{"constructor":1}}').args).toEqual({ constructor: 1 });
  });

  it('names the path and the problem of a schema violation in one line', () => {
    const bad = { ...death, session: -1, extra: 1 };
    expect(() => decodeMessage('status', JSON.stringify(bad))).toThrow(/^status: at (session|\(root\)): .+\(and 1 more issue\)$/);
    expect(() => decodeMessage('edge-config', '{}')).toThrow('edge-config: at deviceId: required field is missing');
    expect(() => decodeMessage('telemetry', '[]')).toThrow(/telemetry: at \(root\): .*expected object/);
  });

  it('turns huge and non-finite numbers into schema violations', () => {
    expect(codeOf(() => decodeMessage('status', JSON.stringify(death).replace('"session":3', '"session":1e400')))).toBe('SCHEMA_VIOLATION');
    expect(codeOf(() => decodeMessage('status', JSON.stringify(death).replace('"session":3', '"session":12345678901234567890')))).toBe('SCHEMA_VIOLATION');
  });

  it('refuses unknown kinds with a ProtocolError', () => {
    expect(codeOf(() => decodeMessage('nope' as 'status', '{}'))).toBe('SCHEMA_VIOLATION');
    expect(codeOf(() => decodeMessage('toString' as 'status', '{}'))).toBe('SCHEMA_VIOLATION');
  });
});

describe('encodeMessage and validateMessage', () => {
  it('applies defaults and writes compact JSON that decodes to the same value', () => {
    const text = encodeMessage('edge-config', { deviceId: 'cam-01' });
    const decoded = decodeMessage('edge-config', text);
    expect(decoded).toEqual(EdgeConfig.parse({ deviceId: 'cam-01' }));
    expect(decoded.link).toMatchObject({ driver: 'emulated', channel: 'awgn', snrDb: 10 });
    expect(text).not.toContain('\n');
  });

  it('refuses to write what a reader would refuse', () => {
    expect(codeOf(() => encodeMessage('status', { ...death, device: 'a/b' }))).toBe('SCHEMA_VIOLATION');
    const args = { pad: 'x'.repeat(MAX_MESSAGE_BYTES) };
    expect(codeOf(() => encodeMessage('request', { v: 1, id: 'a', op: 'x', args }))).toBe('TOO_LARGE');
  });

  it('validates already parsed values, e.g. envelope args', () => {
    expect(validateMessage('kb-entry-request', { kbVersion: 3, offset: 0, count: 8 })).toEqual({ kbVersion: 3, offset: 0, count: 8 });
    expect(codeOf(() => validateMessage('kb-entry-request', { kbVersion: 3, offset: 0, count: 0 }))).toBe('SCHEMA_VIOLATION');
  });
});

describe('schema helpers', () => {
  it('builds the last will before connecting, valid as a status message', () => {
    const will = makeLastWill('cam-01', 9, 1234);
    expect(will).toEqual({ v: 1, device: 'cam-01', session: 9, ts: 1234, state: 'offline', reason: 'will' });
    expect(decodeMessage('status', encodeMessage('status', will))).toEqual(will);
    expect(codeOf(() => makeLastWill('bad/id', 0))).toBe('SCHEMA_VIOLATION');
  });

  it('states a protocol version that a birth accepts', () => {
    expect(StatusOnline.shape.versions.shape.protocol.safeParse(PROTOCOL_VERSION).success).toBe(true);
  });

  it('formats odd paths readably and safely', () => {
    expect(formatPath(['a', 0, 'b'])).toBe('a[0].b');
    expect(formatPath([])).toBe('(root)');
    expect(formatPath(['we ird\nkey'])).toBe('["we ird key"]');
    expect(formatPath(['k'.repeat(100)]).length).toBeLessThan(50);
  });

  it('computes the KB digest over float32 embeddings and priors', () => {
    const entries = [
      { embedding: [0.5, -0.25], prior: 0.75 },
      { embedding: [1, 2], prior: 0.25 },
    ];
    const digest = kbDigest(entries);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(kbDigest(entries.map((e) => ({ embedding: decodeEmbedding(encodeEmbedding(e.embedding)), prior: e.prior })))).toBe(digest);
    expect(kbDigest([...entries].reverse())).not.toBe(digest);
    // Golden value: SHA-256 of f32le(0.5, -0.25, 0.75, 1, 2, 0.25), also in PROTOCOL.md.
    expect(digest).toBe('dd8978f69af566c5eb88a775f94f2c76fa049b3c70efbf881955452924c58690');
  });

  it('has a registry entry with a JSON-Schema-friendly name for every kind', () => {
    for (const kind of MESSAGE_KINDS) {
      expect(kind).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(messageSchemas[kind]).toBeDefined();
    }
  });
});
