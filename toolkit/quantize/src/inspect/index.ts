export { inspectModel, type InspectReport, type InspectOptions, type OpSummary, type TensorSummary, type DataTypeSummary } from './inspect.js';
export { renderInspectReport, formatBytes, formatCount, alignColumns } from './render.js';
export { QUANTIZABLE_OPS, quantHandling, type QuantHandling } from './support.js';
export { MAC_OPS, nodeMacs } from './macs.js';
export { probeShapes, zeroFeeds, staticShapes } from './probe.js';
