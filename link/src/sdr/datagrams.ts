/**
 * cf32_le samples in UDP datagrams, as GNU Radio's network UDP source and sink carry them: an optional
 * 64-bit little-endian sequence number header (header type 1) and a payload size that counts the header
 * (1472 by default: 183 samples after the 8-byte header). The depacketizer is for hostile input: a
 * datagram that is not whole samples is dropped, a late or duplicated one is dropped, a gap is filled with
 * zero samples (so the burst keeps its timing) up to `maxGapDatagrams`, beyond which the stream restarts.
 */
import { AkbError } from '@akb/protocol';

export type UdpHeader = 'none' | 'seq';

export interface DatagramOptions {
  /** `seq`: GNU Radio header type 1 (default); `none`: raw samples. */
  header?: UdpHeader;
  /** UDP payload bytes, header included (default 1472; 24–65507). */
  payloadBytes?: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function headerBytes(h: UdpHeader): number {
  return h === 'seq' ? 8 : 0;
}

/** Samples per datagram for these options (throws AkbError('INVALID_SDR_FORMAT') for a bad size). */
export function samplesPerDatagram(o: DatagramOptions = {}): number {
  const payload = o.payloadBytes ?? 1472;
  if (!Number.isInteger(payload) || payload < 24 || payload > 65507) {
    throw new AkbError('INVALID_SDR_FORMAT', `payloadBytes must be an integer from 24 to 65507, not ${payload}`);
  }
  return Math.floor((payload - headerBytes(o.header ?? 'seq')) / 8);
}

/** Splits interleaved I,Q values into datagrams (the last zero-padded to a whole datagram), numbering from `seq`. */
export function packetize(values: Float32Array, seq: bigint, o: DatagramOptions = {}): Uint8Array[] {
  const header = o.header ?? 'seq';
  const per = samplesPerDatagram(o);
  const hb = headerBytes(header);
  const samples = Math.floor(values.length / 2);
  const out: Uint8Array[] = [];
  for (let at = 0; at < samples; at += per) {
    const d = new Uint8Array(hb + 8 * per);
    const view = new DataView(d.buffer);
    if (header === 'seq') view.setBigUint64(0, seq++, true);
    const n = Math.min(per, samples - at);
    for (let i = 0; i < 2 * n; i++) view.setFloat32(hb + 4 * i, values[2 * at + i]!, true);
    out.push(d);
  }
  return out;
}

export interface DepacketizerStats {
  datagrams: number;
  /** Not whole samples after the header, or shorter than it. */
  truncated: number;
  /** Sequence number at most maxGapDatagrams below the next one expected: a duplicate or a late (reordered) datagram. */
  late: number;
  /** Datagrams missing in gaps, filled with zero samples. */
  missing: number;
  /** Jumps of more than maxGapDatagrams either way (a restarted sender): the stream goes on from the new number. */
  restarts: number;
}

export interface DepacketizerOptions extends DatagramOptions {
  /** Largest gap filled with zeros, datagrams (default 64). */
  maxGapDatagrams?: number;
}

export class Depacketizer {
  readonly stats: DepacketizerStats = { datagrams: 0, truncated: 0, late: 0, missing: 0, restarts: 0 };
  private readonly header: UdpHeader;
  private readonly maxGap: number;
  private readonly fill: number;
  private next: bigint | undefined;

  constructor(o: DepacketizerOptions = {}) {
    this.header = o.header ?? 'seq';
    this.fill = samplesPerDatagram(o);
    this.maxGap = o.maxGapDatagrams ?? 64;
  }

  /** One datagram in; the samples to append to the stream out (zeros for a gap first), or [] when dropped. */
  push(datagram: Uint8Array): Float32Array[] {
    this.stats.datagrams++;
    const hb = headerBytes(this.header);
    if (datagram.length < hb + 8 || (datagram.length - hb) % 8 !== 0) {
      this.stats.truncated++;
      return [];
    }
    const out: Float32Array[] = [];
    if (this.header === 'seq') {
      const seq = new DataView(datagram.buffer, datagram.byteOffset, 8).getBigUint64(0, true);
      if (this.next !== undefined && seq < this.next && this.next - seq <= BigInt(this.maxGap)) {
        this.stats.late++;
        return [];
      }
      if (this.next !== undefined && seq < this.next) {
        this.stats.restarts++; // far behind: the sender started again
      } else if (this.next !== undefined && seq > this.next) {
        const gap = seq - this.next;
        if (gap <= BigInt(this.maxGap)) {
          this.stats.missing += Number(gap);
          out.push(new Float32Array(2 * this.fill * Number(gap)));
        } else {
          this.stats.restarts++;
        }
      }
      this.next = seq + 1n;
    }
    out.push(samplesOf(datagram.subarray(hb)));
    return out;
  }
}

function samplesOf(bytes: Uint8Array): Float32Array {
  const n = bytes.length / 4;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}
