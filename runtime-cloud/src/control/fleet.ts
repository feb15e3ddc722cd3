/**
 * The fleet registry: every device's retained status, kept current from `akb/v1/dev/+/status`. A death
 * from an older connection (a late last will) never overwrites a newer birth; malformed statuses are
 * counted, never fatal.
 */
import { decodeMessage, parseDeviceTopic, type StatusMessage } from '@akb/protocol';
import type { AkbMessage } from '@akb/protocol/mqtt';

export interface FleetEntry {
  device: string;
  state: 'online' | 'offline';
  session: number;
  profile: string | undefined;
  since: number;
  reason: string | undefined;
}

export class FleetRegistry {
  private readonly devices = new Map<string, FleetEntry>();
  malformed = 0;
  stale = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Feeds one message from the status filter; returns the entry it changed, if any. */
  accept(message: AkbMessage): FleetEntry | undefined {
    if (message.payload.length === 0) return undefined; // a cleared retained status
    let status: StatusMessage;
    let device: string;
    try {
      device = parseDeviceTopic(message.topic).device;
      status = decodeMessage('status', message.payload);
    } catch {
      this.malformed += 1;
      return undefined;
    }
    if (status.device !== device) {
      this.malformed += 1;
      return undefined;
    }
    const current = this.devices.get(device);
    // The install agent's state changes (its own process and session) say nothing of the runtime's presence.
    if (status.state === 'updating') return undefined;
    if (current && status.session < current.session) {
      this.stale += 1;
      return undefined;
    }
    const entry: FleetEntry = {
      device,
      state: status.state,
      session: status.session,
      profile: status.state === 'online' ? status.profile : current?.profile,
      since: this.now(),
      reason: status.state === 'offline' ? status.reason : undefined,
    };
    this.devices.set(device, entry);
    return entry;
  }

  list(): FleetEntry[] {
    return [...this.devices.values()].sort((a, b) => a.device.localeCompare(b.device));
  }

  get(device: string): FleetEntry | undefined {
    return this.devices.get(device);
  }
}
