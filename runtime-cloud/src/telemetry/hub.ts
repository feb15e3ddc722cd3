/**
 * The fleet as it is now, in memory, and the stream of what changes: the ingest (telemetry, status,
 * alarms), the decoder (images) and the OTA job watcher feed it; the dashboard's WebSocket, `/metrics` and
 * the alarm rules read it. Bounded: at most `maxDevices` devices (the least recently seen is forgotten),
 * and per device only the latest of each kind.
 */
import type { AlarmMessage, OtaJob, StatusMessage, TelemetryMessage } from '@akb/protocol';
import { Fanout } from '@akb/protocol/mqtt';

/** A decoded image as the dashboard shows it: a small PNG of the reconstruction, with its figures. */
export interface ImageEvent {
  readonly device: string;
  readonly name: string | null;
  readonly modelSet: string;
  readonly width: number;
  readonly height: number;
  readonly psnr: number | null;
  readonly meanSnrDb: number | null;
  readonly complete: boolean;
  readonly finishedAt: number;
  /** PNG of the reconstruction, at most 256 pixels on its longer side. */
  readonly png: Uint8Array;
}

export type FleetEvent =
  | { readonly kind: 'telemetry'; readonly device: string; readonly receivedAt: number; readonly message: TelemetryMessage }
  | { readonly kind: 'status'; readonly device: string; readonly receivedAt: number; readonly message: StatusMessage }
  | { readonly kind: 'alarm'; readonly device: string; readonly receivedAt: number; readonly message: AlarmMessage }
  | { readonly kind: 'image'; readonly device: string; readonly receivedAt: number; readonly image: ImageEvent }
  | { readonly kind: 'job'; readonly job: string; readonly receivedAt: number; readonly message: OtaJob | null };

export interface DeviceState {
  readonly device: string;
  status?: StatusMessage;
  telemetry?: TelemetryMessage;
  alarm?: AlarmMessage;
  image?: ImageEvent;
  /** When the cloud last heard anything of the device, ms since the epoch. */
  lastSeen: number;
  /** When the last telemetry sample arrived. */
  lastTelemetryAt?: number;
}

export class FleetHub {
  readonly events = new Fanout<FleetEvent>();
  private readonly devices = new Map<string, DeviceState>();
  private readonly jobs = new Map<string, OtaJob>();

  constructor(readonly maxDevices = 10_000, readonly maxJobs = 100) {}

  /** Records the event in the current state, then tells every listener. */
  publish(event: FleetEvent): void {
    if (event.kind === 'job') {
      this.jobs.delete(event.job);
      if (event.message !== null) this.jobs.set(event.job, event.message);
      if (this.jobs.size > this.maxJobs) this.jobs.delete(this.jobs.keys().next().value as string);
    } else {
      const state = this.touch(event.device, event.receivedAt);
      if (event.kind === 'telemetry') {
        state.telemetry = event.message;
        state.lastTelemetryAt = event.receivedAt;
      } else if (event.kind === 'status') state.status = event.message;
      else if (event.kind === 'alarm') state.alarm = event.message;
      else state.image = event.image;
    }
    this.events.emit(event);
  }

  device(id: string): DeviceState | undefined {
    return this.devices.get(id);
  }

  /** Every device, sorted by id. */
  list(): DeviceState[] {
    return [...this.devices.values()].sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
  }

  /** OTA jobs by id, most recently changed last. */
  listJobs(): OtaJob[] {
    return [...this.jobs.values()];
  }

  get size(): number {
    return this.devices.size;
  }

  private touch(device: string, at: number): DeviceState {
    let state = this.devices.get(device);
    if (state === undefined) {
      state = { device, lastSeen: at };
      this.devices.set(device, state);
      if (this.devices.size > this.maxDevices) this.evictOldest();
    } else {
      // Re-insert so that iteration order is least recently seen first.
      this.devices.delete(device);
      this.devices.set(device, state);
    }
    state.lastSeen = Math.max(state.lastSeen, at);
    return state;
  }

  private evictOldest(): void {
    const oldest = this.devices.keys().next().value;
    if (oldest !== undefined) this.devices.delete(oldest);
  }
}
