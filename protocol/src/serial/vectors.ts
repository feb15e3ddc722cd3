/**
 * The golden vectors of serial flashing (protocol/vectors/serial/vectors.json), as frames: each is stored
 * with its wire bytes in hex (COBS block and the 0x00), and bad blocks with the error code they must give.
 * Binary fields are hex in the JSON. Used by the vectors test and by `regenerate` when the format changes.
 */
import type { SerialFrame } from './frames.js';

export interface SerialVector {
  name: string;
  /** The frame, binary fields as hex strings. */
  frame?: Record<string, unknown>;
  /** The bytes on the wire, hex. */
  wire: string;
  /** For a bad block: the ProtocolError code its decoding gives. */
  error?: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A frame as the JSON of a vector (Uint8Array fields as hex). */
export function frameToJson(f: SerialFrame): Record<string, unknown> {
  return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v instanceof Uint8Array ? hex(v) : v]));
}

/** The frames the vectors hold, in order. */
export function vectorFrames(): { name: string; frame: SerialFrame }[] {
  const sha = Uint8Array.from({ length: 32 }, (_, i) => i);
  return [
    { name: 'hello', frame: { type: 'HELLO', size: 123_456, sha256: sha, maxData: 1024, window: 8, force: false } },
    { name: 'hello-force-large', frame: { type: 'HELLO', size: 1024 * 1024 * 1024, sha256: sha, maxData: 4096, window: 256, force: true } },
    { name: 'ready-resume', frame: { type: 'READY', offset: 65_536, maxData: 1024, window: 8 } },
    { name: 'data-zeros', frame: { type: 'DATA', seq: 7, offset: 2048, data: new Uint8Array(8) } },
    { name: 'data-300', frame: { type: 'DATA', seq: 0xfffffffe, offset: 0, data: Uint8Array.from({ length: 300 }, (_, i) => (i * 37) & 0xff) } },
    { name: 'ack', frame: { type: 'ACK', seq: 7, offset: 2056, window: 8 } },
    { name: 'nak', frame: { type: 'NAK', offset: 1024 } },
    { name: 'done', frame: { type: 'DONE', size: 123_456 } },
    { name: 'result-committed', frame: { type: 'RESULT', status: 'committed', code: '', message: 'installed akb-edge 1.1.0 into slot B' } },
    { name: 'result-refused', frame: { type: 'RESULT', status: 'refused', code: 'DOWNGRADE', message: 'refused: 1.0.0 is older than the running 1.1.0' } },
    { name: 'busy', frame: { type: 'BUSY', phase: 'health-check' } },
  ];
}
