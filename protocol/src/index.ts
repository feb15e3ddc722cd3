export * from './errors.js';
export * from './topics.js';
export * from './schemas/envelope.js';
export * from './schemas/index.js';
export * from './messages.js';
export * from './frame/index.js';
export { jsonSchemaFiles, jsonSchemaOf, schemaFileName } from './schemas/json-schema.js';
