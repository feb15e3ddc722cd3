/** Radios: LoRa time on air and duty cycle, the RN2483 and E32 modem dialects, and their simulators. */
export * from './airtime.js';
export * from './rn2483.js';
export * from './e32.js';
export * from './sim/index.js';
