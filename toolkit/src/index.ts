export { startEmbeddedBroker, type EmbeddedBroker } from './broker/embedded.js';
export { createLogger } from '@akb/protocol/log';
export { renderReport, type ReportInput, type ReportImage, type ReportPoint } from './demo/report.js';
