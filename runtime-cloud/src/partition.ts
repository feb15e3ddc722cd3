/**
 * Splitting the fleet's devices over several akb-cloud workers without the broker's help
 * (`akb-cloud --partition <i>/<n>`): a broker with no shared subscriptions (NATS's MQTT interface, aedes)
 * sends every worker every message, and each worker keeps only its own devices' and counts the rest as out
 * of scope (scope.ts). Devices, not messages, are split, so one worker sees all of a device's metas and
 * frames (an image is reassembled in one place) and answers its requests.
 *
 * Which worker owns a device: rendezvous (highest-random-weight) hashing. Each worker i has the id `w<i>`;
 * a device goes to the worker whose score hash(worker id, device id) is highest. Every worker computes the
 * same owner from the device id alone, nothing is exchanged, and going from n to n+1 workers moves only the
 * devices the new worker wins (about 1/(n+1) of them); none moves between the old workers. The score is
 * FNV-1a 32 of `w<i>/<device>` through the murmur3 finaliser (avalanche), ties to the lower index;
 * `partition.test.ts` checks the balance and the movement.
 *
 * MQTT wildcards cannot narrow this (`+` matches a whole level, and a hash is no prefix), so each worker
 * subscribes to `akb/v1/dev/+/…` and the broker's outbound traffic is n times the fleet's. Where the
 * broker has shared subscriptions (Mosquitto, EMQX, HiveMQ) `--shared` is the cheaper split; it and
 * `--partition` are not combined (a shared group hands a message to any worker, which may not own it).
 */
import { AkbError } from '@akb/protocol';

/** The most workers a partitioning takes. */
export const MAX_PARTITIONS = 256;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The score of `device` for worker `worker`: FNV-1a 32 over `worker/device`, then the murmur3 fmix32. */
export function rendezvousScore(worker: string, device: string): number {
  let h = FNV_OFFSET;
  const text = `${worker}/${device}`;
  for (let i = 0; i < text.length; i++) {
    // Ids are ASCII (device-id pattern), so a UTF-16 unit is a byte.
    h ^= text.charCodeAt(i) & 0xff;
    h = Math.imul(h, FNV_PRIME) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** The index in `workers` of the worker that owns `device` (highest score; ties to the lower index). */
export function rendezvousOwner(device: string, workers: readonly string[]): number {
  let best = -1;
  let bestScore = -1;
  for (let i = 0; i < workers.length; i++) {
    const s = rendezvousScore(workers[i]!, device);
    if (s > bestScore) {
      best = i;
      bestScore = s;
    }
  }
  return best;
}

/** Worker `index` of `count` (index from 0). */
export class Partition {
  readonly workers: readonly string[];

  constructor(
    readonly index: number,
    readonly count: number,
  ) {
    if (!(Number.isSafeInteger(count) && count >= 1 && count <= MAX_PARTITIONS)) {
      throw badPartition(`${index}/${count}`, `the worker count must be 1 to ${MAX_PARTITIONS}`);
    }
    if (!(Number.isSafeInteger(index) && index >= 0 && index < count)) {
      throw badPartition(`${index}/${count}`, `the worker index runs from 0 to ${count - 1}`);
    }
    this.workers = Array.from({ length: count }, (_, i) => `w${i}`);
  }

  /** Parses `<i>/<n>`, e.g. `0/3`; throws AkbError('BAD_PARTITION', exit 2) saying what is wrong. */
  static parse(spec: string): Partition {
    const m = /^\s*(\d{1,4})\s*\/\s*(\d{1,4})\s*$/.exec(spec);
    if (m === null) throw badPartition(spec, 'expected <index>/<count>, e.g. 0/3 for the first of three workers');
    return new Partition(Number(m[1]), Number(m[2]));
  }

  /** The index of the worker that owns `device`. */
  owner(device: string): number {
    return this.count === 1 ? 0 : rendezvousOwner(device, this.workers);
  }

  owns(device: string): boolean {
    return this.owner(device) === this.index;
  }

  /** `i/n`, as given to --partition. */
  describe(): string {
    return `${this.index}/${this.count}`;
  }
}

function badPartition(spec: string, why: string): AkbError {
  return new AkbError('BAD_PARTITION', `--partition ${JSON.stringify(spec.slice(0, 40))}: ${why}`, {
    hint: 'start n workers with --partition 0/n … --partition <n-1>/n',
    exitCode: 2,
  });
}
