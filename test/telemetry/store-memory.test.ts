import { MemoryTelemetryStore } from '../../runtime-cloud/src/telemetry/memory-store.js';
import { storeSuite } from './store-suite.js';

storeSuite('telemetry store: memory', { open: () => Promise.resolve(new MemoryTelemetryStore()) });
