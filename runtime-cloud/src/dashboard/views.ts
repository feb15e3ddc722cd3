/**
 * What the dashboard sends: the hub's state and events as JSON. The same device view serves `/api/fleet`
 * and the WebSocket's snapshot; images travel as base64 PNG only over the WebSocket (the API leaves the
 * pixels out), and a snapshot carries the pixels of the newest few images only, so a fleet of thousands
 * of devices does not make one message of hundreds of megabytes.
 */
import type { AlarmMessage, OtaJob, StatusMessage, TelemetryMessage } from '@akb/protocol';
import type { DeviceState, FleetEvent, FleetHub, ImageEvent } from '../telemetry/hub.js';

export type DeviceStateName = 'online' | 'offline' | 'updating' | 'unknown';

export interface ImageView {
  readonly device: string;
  readonly name: string | null;
  readonly modelSet: string;
  readonly width: number;
  readonly height: number;
  readonly psnr: number | null;
  readonly meanSnrDb: number | null;
  readonly complete: boolean;
  readonly finishedAt: number;
  /** The thumbnail, base64 PNG (WebSocket only). */
  readonly png?: string;
}

export interface DeviceView {
  readonly device: string;
  /** From the latest status: online, offline, updating (an install is running), or unknown (no status yet). */
  readonly state: DeviceStateName;
  /** The profile of the latest birth, kept through an update or a death. */
  readonly profile: string | null;
  readonly lastSeen: number;
  readonly lastTelemetryAt: number | null;
  readonly status: StatusMessage | null;
  readonly telemetry: TelemetryMessage | null;
  readonly alarm: AlarmMessage | null;
  readonly image: ImageView | null;
}

/** A message of the WebSocket, server to page. `sentAt`: the server's clock when it was sent (ms). */
export type LiveMessage =
  | { readonly type: 'snapshot'; readonly sentAt: number; readonly devices: readonly DeviceView[]; readonly jobs: readonly OtaJob[] }
  | {
      readonly type: 'event';
      readonly sentAt: number;
      /** When the hub emitted the event (server clock, ms). */
      readonly at: number;
      readonly event: WireEvent;
    };

export type WireEvent =
  | Exclude<FleetEvent, { kind: 'image' }>
  | { readonly kind: 'image'; readonly device: string; readonly receivedAt: number; readonly image: ImageView };

export function imageView(image: ImageEvent, withPng: boolean): ImageView {
  const { png, ...rest } = image;
  return withPng ? { ...rest, png: Buffer.from(png.buffer, png.byteOffset, png.byteLength).toString('base64') } : rest;
}

export function wireEvent(event: FleetEvent): WireEvent {
  return event.kind === 'image' ? { ...event, image: imageView(event.image, true) } : event;
}

/**
 * The profile each device's latest birth named, so a device that is updating or gone still shows one.
 * Bounded by the hub: names of devices the hub forgot are dropped when the book grows past its size.
 */
export class ProfileBook {
  private readonly profiles = new Map<string, string>();

  constructor(private readonly hub: FleetHub) {}

  note(event: FleetEvent): void {
    if (event.kind !== 'status' || event.message.state !== 'online') return;
    this.profiles.delete(event.device);
    this.profiles.set(event.device, event.message.profile);
    if (this.profiles.size > this.hub.maxDevices) {
      for (const id of this.profiles.keys()) if (this.hub.device(id) === undefined) this.profiles.delete(id);
      // Still over (the hub holds them all): drop the oldest noted.
      while (this.profiles.size > this.hub.maxDevices) this.profiles.delete(this.profiles.keys().next().value as string);
    }
  }

  of(state: DeviceState): string | null {
    return state.status?.state === 'online' ? state.status.profile : (this.profiles.get(state.device) ?? null);
  }
}

function stateName(state: DeviceState): DeviceStateName {
  return state.status?.state ?? 'unknown';
}

/** Every device of the hub; the newest `imagesWithPixels` images carry their PNG, the others none. */
export function deviceViews(hub: FleetHub, profiles: ProfileBook, imagesWithPixels = 0): DeviceView[] {
  const devices = hub.list();
  const newest = new Set(
    devices
      .filter((d) => d.image !== undefined)
      .sort((a, b) => b.image!.finishedAt - a.image!.finishedAt)
      .slice(0, imagesWithPixels)
      .map((d) => d.device),
  );
  return devices.map((d) => ({
    device: d.device,
    state: stateName(d),
    profile: profiles.of(d),
    lastSeen: d.lastSeen,
    lastTelemetryAt: d.lastTelemetryAt ?? null,
    status: d.status ?? null,
    telemetry: d.telemetry ?? null,
    alarm: d.alarm ?? null,
    image: d.image ? imageView(d.image, newest.has(d.device)) : null,
  }));
}
