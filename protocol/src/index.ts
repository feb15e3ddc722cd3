export * from './errors.js';
export * from './topics.js';
export * from './schemas/envelope.js';
