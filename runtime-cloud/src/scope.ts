/**
 * Which devices this cloud serves (`akb-cloud --devices cam-01,cam-02,lab-*`). The default is every
 * device. A scope of plain ids is subscribed per device (one filter per id and topic, so the broker never
 * sends the cloud anything of another device); a scope with a glob pattern (`*` any run of id characters,
 * `?` one) is subscribed through the wildcard filter (`akb/v1/dev/+/…`) and every message is checked
 * here. What falls outside is ignored and counted (`ScopeCounters`), never answered.
 *
 * Requests on the shared `akb/v1/cloud/req` and `akb/v1/cloud/ops/req` cannot be subscribed per device:
 * with a scope, the cloud answers a request on cloud/req only when its `from` is in the scope or among
 * `clients` (tools, e.g. `akb images`), and one on cloud/ops/req only when its `from` is among `clients`,
 * so that clouds serving disjoint scopes do not answer the same requester twice.
 *
 * Partition (`akb-cloud --partition i/n`, partition.ts): a scope may also keep only the devices that
 * worker i of n owns. The filters stay what the ids and patterns make them (a hash cannot be subscribed
 * to), minus named ids another worker owns; `has` checks the owner.
 */
import { AkbError, TOPIC_ROOT, isClientId } from '@akb/protocol';
import type { Partition } from './partition.js';

/** The per-device topics the cloud subscribes to. */
export type ScopedTopic = 'status' | 'link/meta' | 'link/rx' | 'kb/req';

/** Messages ignored because their device (or a request's `from`) is outside the scope. */
export interface ScopeCounters {
  status: number;
  metas: number;
  frames: number;
  kbRequests: number;
  requests: number;
}

const ID_CHARS = /^[A-Za-z0-9._\-*?]{1,64}$/;

/** A set of device ids and glob patterns; `DeviceScope.all()` matches every device. */
export class DeviceScope {
  readonly counters: ScopeCounters = { status: 0, metas: 0, frames: 0, kbRequests: 0, requests: 0 };

  private constructor(
    readonly ids: ReadonlySet<string>,
    private readonly patterns: readonly { source: string; re: RegExp }[],
    private readonly any: boolean,
    /** Keep only the devices this worker owns (undefined: no partitioning). */
    readonly partition?: Partition,
  ) {}

  /** This scope, narrowed to the devices `partition` owns. */
  withPartition(partition: Partition): DeviceScope {
    return new DeviceScope(this.ids, this.patterns, this.any, partition.count === 1 ? undefined : partition);
  }

  static all(): DeviceScope {
    return new DeviceScope(new Set(), [], true);
  }

  /**
   * Parses comma-separated ids and patterns (several arguments are joined). Throws AkbError('BAD_DEVICES')
   * naming the first item that is neither a device id (1-64 of `A-Z a-z 0-9 . _ -`, not `.` or `..`) nor
   * a pattern of those characters with `*` or `?`.
   */
  static parse(spec: string | readonly string[]): DeviceScope {
    const items = (typeof spec === 'string' ? [spec] : spec).flatMap((s) => s.split(',')).map((s) => s.trim());
    if (items.length === 0 || items.every((s) => s === '')) throw badDevices('', 'name at least one device id or pattern');
    const ids = new Set<string>();
    const patterns: { source: string; re: RegExp }[] = [];
    for (const item of items) {
      if (item === '') throw badDevices(item, 'an empty item (two commas in a row?)');
      if (/[*?]/.test(item)) {
        if (!ID_CHARS.test(item)) throw badDevices(item, 'a pattern is 1-64 of A-Z a-z 0-9 . _ - with * and ?');
        if (item === '*') return DeviceScope.all();
        patterns.push({ source: item, re: globToRegExp(item) });
      } else if (isClientId(item)) {
        ids.add(item);
      } else {
        throw badDevices(item, 'a device id is 1-64 of A-Z a-z 0-9 . _ - (not "." or "..")');
      }
    }
    return new DeviceScope(ids, patterns, false);
  }

  /** True when no --devices was given (or it was `*`) and no partition narrows it. */
  get everything(): boolean {
    return this.any && this.partition === undefined;
  }

  /** Subscriptions are per device (only ids named), so nothing outside the scope arrives. */
  get exact(): boolean {
    return !this.any && this.patterns.length === 0;
  }

  has(device: string): boolean {
    const named = this.any || this.ids.has(device) || this.patterns.some((p) => p.re.test(device));
    return named && (this.partition === undefined || this.partition.owns(device));
  }

  /** The filters to subscribe to for one per-device topic (e.g. `link/rx`). */
  filters(topic: ScopedTopic): string[] {
    if (!this.exact) return [`${TOPIC_ROOT}/dev/+/${topic}`];
    const ids = this.partition === undefined ? [...this.ids] : [...this.ids].filter((id) => this.partition!.owns(id));
    return ids.map((id) => `${TOPIC_ROOT}/dev/${id}/${topic}`);
  }

  /** For logs and --help: "every device" or the items as given. */
  describe(): string {
    const named = this.any ? 'every device' : [...this.ids, ...this.patterns.map((p) => p.source)].join(',');
    return this.partition === undefined ? named : `${named} of partition ${this.partition.describe()}`;
  }
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.]/g, '\\.').replace(/\*/g, '[A-Za-z0-9._-]*').replace(/\?/g, '[A-Za-z0-9._-]');
  return new RegExp(`^${body}$`);
}

function badDevices(item: string, why: string): AkbError {
  return new AkbError('BAD_DEVICES', `--devices: ${JSON.stringify(item.slice(0, 80))} is not a device id or pattern: ${why}`, {
    hint: 'e.g. --devices cam-01,cam-02 or --devices "cam-*"',
  });
}
