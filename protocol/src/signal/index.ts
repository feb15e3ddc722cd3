/**
 * The signal conventions every side must share to agree on an SNR: seeded random sources (so a run repeats
 * from its seed) and complex AWGN on unit-power symbols (σ² = 10^(−SNR/10) per complex symbol). The edge's
 * channel emulator, the cloud's SNR estimate, the quantizer's evaluation and the models' training all use
 * this one definition; PROTOCOL.md ("SNR convention") states it for peers.
 */
export { complexGaussian, deriveSeed, gaussian, seededRandom, type Complex, type RandomSource } from './random.js';
export { addAwgn, averagePower, measureSnrDb, noiseVariance, toDb, unitPowerSymbols } from './awgn.js';
