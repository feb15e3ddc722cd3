/** The cloud's telemetry: store back ends, ingest, alarm rules, Prometheus metrics (see each file's header). */
export * from './store.js';
export * from './hub.js';
export { MemoryTelemetryStore } from './memory-store.js';
export { SqliteTelemetryStore } from './sqlite-store.js';
export { PostgresTelemetryStore, postgresTarget, type PostgresTarget } from './postgres-store.js';
export { openStore, storeTarget, DEFAULT_DATA_DIR, DEFAULT_SQLITE_FILE, type OpenStoreOptions, type StoreTarget } from './open-store.js';
export { SCHEMA_VERSION } from './store-errors.js';
export { TelemetryIngest, REJECT_REASONS, DROP_REASONS, MAX_TELEMETRY_BYTES, DEFAULT_RETENTION_MS, type IngestOptions, type IngestStats, type RejectReason, type DropReason, type StoreWrite } from './ingest.js';
export { AlarmRules, type AlarmRulesOptions, type AlarmStats } from './alarms.js';
export { DEFAULT_THRESHOLDS, DEFAULT_RSS_BYTES, MARGINS, checkSample, rssThresholdOf, type AlarmThresholds } from './alarm-checks.js';
export { createTelemetryMetrics } from './metrics.js';
export { Telemetry, type TelemetryOptions } from './telemetry.js';
export { parseDuration } from './duration.js';
export { RateLimiter } from './rate-limit.js';
export { BoundedQueue } from './bounded-queue.js';
export { telemetryQuery, TelemetryQueryArgs, TELEMETRY_QUERY_OP, MAX_QUERY_PAGE, type TelemetryQueryPage } from './query-op.js';
export { loadProfileMemory } from './profiles.js';
