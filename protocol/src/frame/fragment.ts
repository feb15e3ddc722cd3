/**
 * Splitting one frame's symbols into fragments that fit a link's MTU. Splits fall on complex-symbol
 * boundaries and every fragment carries the full header (and its own int8 scale), so a receiver decodes
 * whatever subset arrives and treats the rest as erasures.
 */
import { ProtocolError } from '../errors.js';
import { encodeFrameWith } from './codec.js';
import {
  BYTES_PER_VALUE,
  FRAME_CRC_LENGTH,
  FRAME_HEADER_LENGTH,
  MAX_FRAGMENT_COUNT,
  MAX_TOTAL_SYMBOLS,
  type SymbolDtype,
} from './header.js';
import { symbolScale, writeSymbols } from './symbols.js';

/** The frame-level fields a sender chooses; the fragment fields are filled in by fragmentSymbols. */
export interface FrameMeta {
  readonly deviceId: number;
  readonly sessionId: number;
  readonly frameId: number;
  readonly actionId: number;
  readonly kbVersion: number;
  /** The source-KB entry the frame relies on; leave out when there is none (the flag stays clear). */
  readonly kbEntry?: number | undefined;
  /** Set on every fragment, so any one that arrives tells the receiver. */
  readonly endOfSession?: boolean | undefined;
  readonly timestampUs: number;
}

export interface FragmentOptions {
  /** Largest encoded fragment (header + payload + CRC) the link carries, in bytes. */
  readonly mtu: number;
  readonly dtype: SymbolDtype;
}

/** Complex symbols that fit one fragment of at most `mtu` bytes. */
export function symbolsPerFragment(mtu: number, dtype: SymbolDtype): number {
  const bytesPerSymbol = 2 * BYTES_PER_VALUE[dtype];
  return Math.floor((mtu - FRAME_HEADER_LENGTH - FRAME_CRC_LENGTH) / bytesPerSymbol);
}

/**
 * Encodes `values` (interleaved I,Q) as fragments of at most `mtu` bytes each: every fragment but the
 * last holds as many symbols as fit. No symbols still gives one (empty) fragment, e.g. an end-of-session
 * marker. Throws ProtocolError('TOO_LARGE') when one symbol does not fit the MTU or more than 65535
 * fragments would be needed.
 */
export function fragmentSymbols(meta: FrameMeta, values: Float32Array, options: FragmentOptions): Uint8Array[] {
  const { mtu, dtype } = options;
  if (values.length % 2 !== 0) {
    throw new ProtocolError('BAD_LENGTH', `${values.length} values are not whole complex symbols`, {
      hint: 'interleave I and Q: two values per symbol',
    });
  }
  const totalSymbols = values.length / 2;
  if (totalSymbols > MAX_TOTAL_SYMBOLS) {
    throw new ProtocolError('TOO_LARGE', `frame of ${totalSymbols} symbols exceeds the limit of ${MAX_TOTAL_SYMBOLS}`, {
      hint: 'split the image into tiles, one frame each',
    });
  }
  const perFragment = Number.isFinite(mtu) ? symbolsPerFragment(mtu, dtype) : 0;
  if (!(perFragment >= 1)) {
    const smallest = FRAME_HEADER_LENGTH + FRAME_CRC_LENGTH + 2 * BYTES_PER_VALUE[dtype];
    throw new ProtocolError('TOO_LARGE', `an MTU of ${mtu} bytes cannot carry one ${dtype} symbol`, {
      hint: `the MTU must be at least ${smallest} bytes`,
    });
  }
  const fragmentCount = Math.max(1, Math.ceil(totalSymbols / perFragment));
  if (fragmentCount > MAX_FRAGMENT_COUNT) {
    throw new ProtocolError('TOO_LARGE', `${totalSymbols} symbols need ${fragmentCount} fragments at MTU ${mtu}`, {
      hint: `at most ${MAX_FRAGMENT_COUNT} fragments per frame: raise the MTU or send smaller tiles`,
    });
  }
  const fragments: Uint8Array[] = [];
  for (let index = 0; index < fragmentCount; index++) {
    const symbolOffset = index * perFragment;
    const count = Math.min(perFragment, totalSymbols - symbolOffset);
    const part = values.subarray(2 * symbolOffset, 2 * (symbolOffset + count));
    const scale = symbolScale(part, dtype);
    // Packed straight into the frame: no payload array per fragment (an off-heap allocation above 64 bytes) and no copy.
    fragments.push(
      encodeFrameWith(
        {
          dtype,
          hasKbEntry: meta.kbEntry !== undefined,
          endOfSession: meta.endOfSession === true,
          actionId: meta.actionId,
          deviceId: meta.deviceId,
          sessionId: meta.sessionId,
          frameId: meta.frameId,
          fragmentIndex: index,
          fragmentCount,
          kbVersion: meta.kbVersion,
          kbEntry: meta.kbEntry ?? 0,
          totalSymbols,
          symbolOffset,
          scale,
          timestampUs: meta.timestampUs,
        },
        part.length * BYTES_PER_VALUE[dtype],
        (payload) => writeSymbols(part, dtype, scale, payload),
      ),
    );
  }
  return fragments;
}
