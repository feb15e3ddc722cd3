/**
 * The install agent's core (A/B slots, verify before switch, atomic durable switch, health check,
 * rollback, crash recovery at boot) and the file-system seam it runs on.
 */
export { InstallAgent, type AgentEvent, type HealthCheck, type HealthResult, type InstallAgentOptions, type InstallResult } from './agent.js';
export type { BootResult } from './boot.js';
export { CrashFs, PowerCut } from './crash-fs.js';
export { diskError, errnoOf, nodeAgentFs, writeFileSynced, type AgentFileHandle, type AgentFs, type AgentStat } from './fs.js';
export { currentBootId, holderAlive, type LockHolder } from './lock.js';
export { compareSemver } from './semver.js';
export { emptyState, layout as slotLayout, readState, type SlotId, type SlotRecord, type SlotState } from './state.js';
export { checkManifestSignature, slotMetaPaths, verifySlot, type SlotVerdict } from './verify-slot.js';
