/**
 * `@akb/link`: how symbol frames cross a channel. Channel models (AWGN, block Rayleigh, Gauss-Markov fading,
 * Gilbert-Elliott loss, latency, SNR traces, mobility), the link-driver interface with its registry and
 * drivers (`emulated`, `mqtt`), the channel emulator service and SigMF recording. Depends on
 * `@akb/protocol` alone.
 */
export * from './channel/index.js';
export * from './drivers/index.js';
export * from './emulator/index.js';
export * from './radio/index.js';
export * from './sdr/index.js';
