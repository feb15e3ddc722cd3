/**
 * Decoding and encoding of the JSON messages named in `messageSchemas`. A decoder faces hostile bytes:
 * whatever it is given, it returns a valid message or throws a ProtocolError (TOO_LARGE, BAD_JSON or
 * SCHEMA_VIOLATION), never anything else. The checks run cheapest first: size, UTF-8, nesting depth,
 * JSON syntax, then the schema.
 */
import { ProtocolError } from './errors.js';
import { parseOrThrow } from './schemas/issues.js';
import { isMessageKind, messageSchemas, type MessageInput, type MessageKind, type MessageOf } from './schemas/index.js';

/** Largest message accepted or written, bytes of UTF-8 JSON. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** Deepest nesting of arrays and objects accepted. */
export const MAX_JSON_DEPTH = 64;

export interface CodecOptions {
  /** Size limit in bytes (default MAX_MESSAGE_BYTES). */
  maxBytes?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function checkKind(kind: unknown): asserts kind is MessageKind {
  if (!isMessageKind(kind)) {
    throw new ProtocolError('SCHEMA_VIOLATION', `unknown message kind ${JSON.stringify(String(kind)).slice(0, 80)}`, {
      hint: 'use one of the keys of messageSchemas',
    });
  }
}

function tooLarge(kind: string, bytes: number, max: number): ProtocolError {
  return new ProtocolError('TOO_LARGE', `${kind}: message of ${bytes} bytes exceeds the limit of ${max}`, {
    hint: 'split the content (e.g. page KB entries) or raise maxBytes on both sides',
  });
}

function toText(kind: string, input: Uint8Array | string, max: number): string {
  if (typeof input === 'string') {
    // A string of n UTF-16 units is n to 3n UTF-8 bytes: count exactly only when it matters.
    if (input.length > max) throw tooLarge(kind, Buffer.byteLength(input, 'utf8'), max);
    if (input.length * 3 > max) {
      const bytes = Buffer.byteLength(input, 'utf8');
      if (bytes > max) throw tooLarge(kind, bytes, max);
    }
    return input;
  }
  if (!(input instanceof Uint8Array)) {
    throw new ProtocolError('BAD_JSON', `${kind}: expected bytes or a string, got ${typeof input}`);
  }
  if (input.byteLength > max) throw tooLarge(kind, input.byteLength, max);
  try {
    return utf8.decode(input);
  } catch (cause) {
    throw new ProtocolError('BAD_JSON', `${kind}: payload is not valid UTF-8`, { cause });
  }
}

/** Scans nesting depth without recursion, skipping string contents; throws past MAX_JSON_DEPTH. */
function checkDepth(kind: string, text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > MAX_JSON_DEPTH) {
        throw new ProtocolError('BAD_JSON', `${kind}: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
}

class ForbiddenKey extends Error {}

/** `__proto__` as a key is refused wherever it appears, so no consumer can be tricked by it. */
function refuseProtoKeys(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new ForbiddenKey();
  return value;
}

function parseJson(kind: string, text: string): unknown {
  checkDepth(kind, text);
  try {
    // A reviver slows parsing several-fold: use it only when a "__proto__" key is possible at all.
    const mayHaveProtoKey = text.includes('__proto__') || text.includes('\\u');
    return JSON.parse(text, mayHaveProtoKey ? refuseProtoKeys : undefined) as unknown;
  } catch (cause) {
    if (cause instanceof ForbiddenKey) {
      throw new ProtocolError('SCHEMA_VIOLATION', `${kind}: the key "__proto__" is not allowed`);
    }
    const detail = cause instanceof Error ? cause.message.replace(/\s+/g, ' ').slice(0, 120) : 'syntax error';
    throw new ProtocolError('BAD_JSON', `${kind}: payload is not JSON (${detail})`, { cause });
  }
}

/** Runs `body`, letting ProtocolErrors through and turning anything else (a bug) into one. */
function guarded<T>(kind: unknown, body: () => T): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new ProtocolError('BAD_JSON', `${String(kind).slice(0, 40)}: could not decode (${what.slice(0, 160)})`, { cause: error });
  }
}

/**
 * Decodes a message of `kind` from MQTT payload bytes (or a string). Returns the value with defaults
 * applied; throws ProtocolError `TOO_LARGE`, `BAD_JSON` or `SCHEMA_VIOLATION` and nothing else.
 */
export function decodeMessage<K extends MessageKind>(kind: K, input: Uint8Array | string, options: CodecOptions = {}): MessageOf<K> {
  return guarded(kind, () => {
    checkKind(kind);
    const text = toText(kind, input, options.maxBytes ?? MAX_MESSAGE_BYTES);
    const value = parseJson(kind, text);
    return parseOrThrow(kind, messageSchemas[kind], value) as MessageOf<K>;
  });
}

/** Validates an already parsed value (e.g. the `args` of an envelope) as `kind`. */
export function validateMessage<K extends MessageKind>(kind: K, value: unknown): MessageOf<K> {
  return guarded(kind, () => {
    checkKind(kind);
    return parseOrThrow(kind, messageSchemas[kind], value) as MessageOf<K>;
  });
}

/**
 * Validates `value` as `kind` and writes it as compact JSON (UTF-8 when published). Throws
 * SCHEMA_VIOLATION for an invalid value and TOO_LARGE past the size limit, so a writer never sends what
 * a reader must refuse.
 */
export function encodeMessage<K extends MessageKind>(kind: K, value: MessageInput<K>, options: CodecOptions = {}): string {
  const checked = validateMessage(kind, value);
  const text = JSON.stringify(checked);
  const max = options.maxBytes ?? MAX_MESSAGE_BYTES;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > max) throw tooLarge(kind, bytes, max);
  return text;
}
