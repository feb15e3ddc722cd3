/** Periodic telemetry of the edge: latency, action, link and quality estimates, resources, counters. */
export { TelemetryReporter, type TelemetryReporterOptions } from './reporter.js';
export { CpuMeter, THERMAL_ZONE, Thermometer, peakRssBytes } from './system.js';
