/**
 * E32/E22-style transparent-mode modules: bytes written to the UART go on air as they are, in packets of
 * at most `packetBytes` (E32: 58 bytes at 0.3–19.2 kb/s air rates; E22: 32, 64, 128 or 240), no framing,
 * no acknowledgement. A module starts a packet when its buffer holds a packet's worth or the UART has
 * been idle for a few byte times; it buffers 512 bytes and drops what comes beyond. The driver therefore
 * writes one link segment per packet and waits out its time on air.
 */
export const E32_PACKET_BYTES = 58;
export const E32_BUFFER_BYTES = 512;
export const E32_AIR_RATES = [300, 1200, 2400, 4800, 9600, 19200] as const;
export const E22_PACKET_SIZES = [32, 64, 128, 240] as const;
export const E32_BAUD = 9600;
