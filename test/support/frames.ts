/**
 * Protocol frames of a chosen encoded size, built with the frame codec (int8 symbols, one fragment), with
 * payload bytes that differ per frame so a swapped or corrupted message shows.
 */
import { encodeFrame, FRAME_CRC_LENGTH, FRAME_HEADER_LENGTH, type FrameHeaderInit } from '@akb/protocol';

/** An encoded frame of exactly `totalBytes` bytes (header, int8 payload, CRC). */
export function makeFrame(totalBytes: number, frameId: number): Uint8Array {
  const payloadBytes = totalBytes - FRAME_HEADER_LENGTH - FRAME_CRC_LENGTH;
  if (payloadBytes < 0 || payloadBytes % 2 !== 0) {
    throw new Error(`a frame of ${totalBytes} bytes needs an even payload of at least 0 bytes`);
  }
  const payload = new Uint8Array(payloadBytes);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + frameId * 7) & 0xff;
  const symbols = payloadBytes / 2;
  const header: FrameHeaderInit = {
    dtype: 'int8',
    hasKbEntry: true,
    endOfSession: false,
    actionId: 3,
    deviceId: 42,
    sessionId: 7,
    frameId,
    fragmentIndex: 0,
    fragmentCount: 1,
    kbVersion: 12,
    kbEntry: 5,
    totalSymbols: symbols,
    symbolOffset: 0,
    scale: Math.fround(1 / 64),
    timestampUs: 1_764_000_000_000_000 + frameId,
  };
  return encodeFrame(header, payload);
}
