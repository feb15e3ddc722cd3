/**
 * @akb/flash: bundles (reproducible signed tars), their verification, and the install agent's A/B slots.
 */
export * from './bundle/index.js';
export * from './keys.js';
export * from './agent/index.js';
export * from './ota/index.js';
export * from './serial/index.js';
