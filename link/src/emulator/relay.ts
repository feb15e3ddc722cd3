/**
 * One fragment through the channel, at the frame level: decode the transmitted frame, pass its symbols
 * through the device's Channel, and encode what was received as a float32 frame with the same header
 * fields (a receiver hands on what it measured: no second quantization). Shared by the emulator service
 * and the in-process `emulated` link.
 */
import { AkbError, decodeFrame, encodeFrame, isAkbError, packSymbols, unpackSymbols, type FrameHeader } from '@akb/protocol';
import type { Channel, ChannelSideInfo } from '../channel/index.js';

export interface RelayedFragment {
  readonly kind: 'relayed';
  readonly device: string;
  /** The transmitted fragment's header. */
  readonly header: FrameHeader;
  /** The received fragment, encoded (float32). */
  readonly bytes: Uint8Array;
  /** Its interleaved I,Q values (a view of the same numbers as in `bytes`). */
  readonly values: Float32Array;
  readonly side: ChannelSideInfo;
  /** How long the channel holds it, ms. */
  readonly delayMs: number;
}

export interface LostFragment {
  readonly kind: 'lost';
  readonly device: string;
  readonly header: FrameHeader;
  readonly snrDb: number;
}

export interface MalformedFragment {
  readonly kind: 'malformed';
  readonly device: string;
  /** The decoder's (or channel's) typed error; its `code` says why, e.g. CRC_MISMATCH. */
  readonly error: AkbError;
}

export type RelayOutcome = RelayedFragment | LostFragment | MalformedFragment;

/** The key block fading uses: one frame of one sender's session. */
export function frameKey(device: string, h: FrameHeader): string {
  return `${device}/${h.deviceId}/${h.sessionId}/${h.frameId}`;
}

/**
 * Relays one message of `device` through `channel` at `timeMs` (ms, the channel's clock). Never throws:
 * what cannot be decoded comes back as `malformed`.
 */
export function relayFragment(channel: Channel, device: string, message: Uint8Array, timeMs: number): RelayOutcome {
  try {
    const { header, payload } = decodeFrame(message);
    const sent = unpackSymbols(payload, header.dtype, header.scale);
    const out = channel.transmit(sent, { frameKey: frameKey(device, header), timeMs });
    if (out.lost) return { kind: 'lost', device, header, snrDb: out.snrDb };
    const { values, delayMs, lost: _lost, ...side } = out;
    const bytes = encodeFrame(
      {
        dtype: 'float32',
        hasKbEntry: header.hasKbEntry,
        endOfSession: header.endOfSession,
        actionId: header.actionId,
        deviceId: header.deviceId,
        sessionId: header.sessionId,
        frameId: header.frameId,
        fragmentIndex: header.fragmentIndex,
        fragmentCount: header.fragmentCount,
        kbVersion: header.kbVersion,
        kbEntry: header.kbEntry,
        totalSymbols: header.totalSymbols,
        symbolOffset: header.symbolOffset,
        scale: 1,
        timestampUs: header.timestampUs,
      },
      packSymbols(values, 'float32').payload, // little-endian on any host
    );
    return { kind: 'relayed', device, header, bytes, values, side, delayMs };
  } catch (e) {
    const error = isAkbError(e)
      ? e
      : new AkbError('CHANNEL_FAILED', `the channel failed on a fragment of ${device}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    return { kind: 'malformed', device, error };
  }
}
