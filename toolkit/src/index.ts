export { startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded.js';
export { createLogger } from '@akb/protocol/log';
