/**
 * `@akb/edge/install`: the install agent's device side as a library, for `akb install` (the host CLI,
 * a folder standing for the board): the run functions, the probe health check and the status reporter.
 */
export { installBundle, bootSlots, slotStatus, describeSlotStatus, type AgentRunOptions, type SlotStatus } from './run.js';
export { probeHealthCheck, runSlotProbe, probeLineOf, DEFAULT_HEALTH_TIMEOUT_S, type ProbeHealthOptions } from './health.js';
export { StatusReporter, type ReporterOptions } from './reporter.js';
export { readInstalledSlot, installedFromEnv, type InstalledSlot } from './slot-info.js';
export { OtaReceiver, type OtaReceiverOptions, type OtaReceiverStats } from './ota.js';
