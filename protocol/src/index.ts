export * from './errors.js';
export * from './topics.js';
export * from './reply-topic.js';
export * from './device-id.js';
export * from './schemas/envelope.js';
export * from './schemas/index.js';
export * from './messages.js';
export * from './frame/index.js';
export * from './signal/index.js';
export { jsonSchemaFiles, jsonSchemaOf, schemaFileName } from './schemas/json-schema.js';
export * from './serial/index.js';
export * from './link-segment/index.js';
export * from './signing.js';
// The TLS flags as plain data (mqtt/tls.ts loads no MQTT library), so a CLI declares them without mqtt.js.
export { TLS_FLAGS, type TlsFlagValues } from './mqtt/tls.js';
