/**
 * The brokers every broker suite runs on. `describeBrokers` runs a suite once per broker, skipping (or,
 * under AKB_REQUIRE_ALL=1, failing) the Mosquitto one when mosquitto is not installed:
 *
 *   describeBrokers('pub/sub', (kind) => {
 *     let broker: BrokerHandle;
 *     beforeAll(async () => { broker = await kind.start(); });
 *     afterAll(() => broker.close());
 *     it.skipIf(!kind.v5)('MQTT 5 only', …);
 *   });
 *
 * `describe.each(availableBrokerKinds())` does the same without the skip message in the report.
 */
import { describe } from 'vitest';
import { startAedes } from './aedes.js';
import type { BrokerHandle, BrokerKindName } from './broker-handle.js';
import { startMosquitto, type MosquittoOptions } from './mosquitto.js';
import { requireProgram } from './programs.js';
import { describeWithProgram } from './suites.js';

export interface BrokerKind {
  name: BrokerKindName;
  start: () => Promise<BrokerHandle>;
  /** The program it needs, with the Debian package that has it; none for the embedded broker. */
  program?: { name: string; debianPackage: string };
  /** Speaks MQTT 5 (response topic, correlation data). */
  v5: boolean;
  /** Honours `$share/<group>/<filter>`; when not, `sharedSubscriptionsNote` says why. */
  sharedSubscriptions: boolean;
  sharedSubscriptionsNote?: string;
}

export const brokerKinds: readonly BrokerKind[] = [
  {
    name: 'aedes',
    start: () => startAedes(),
    v5: false,
    sharedSubscriptions: false,
    sharedSubscriptionsNote:
      'aedes 1.2 has no shared subscriptions: "$share/g/t" is kept as a literal filter that no topic matches ' +
      '(test/broker/shared.test.ts checks this), so cloud workers needing load sharing must use Mosquitto, EMQX or similar',
  },
  {
    name: 'mosquitto',
    start: () => startMosquitto(),
    program: { name: 'mosquitto', debianPackage: 'mosquitto' },
    v5: true,
    sharedSubscriptions: true,
  },
];

export function brokerKind(name: BrokerKindName): BrokerKind {
  const k = brokerKinds.find((b) => b.name === name);
  if (!k) throw new Error(`unknown broker kind ${name}`);
  return k;
}

/** The kinds whose program is present (all of them under AKB_REQUIRE_ALL=1). */
export function availableBrokerKinds(): BrokerKind[] {
  return brokerKinds.filter((k) => k.program === undefined || requireProgram(k.program.name, k.program.debianPackage));
}

/** `describe(`${title} [${kind}]`)` once per broker kind. */
export function describeBrokers(title: string, body: (kind: BrokerKind) => void, kinds: readonly BrokerKind[] = brokerKinds): void {
  for (const kind of kinds) {
    const t = `${title} [${kind.name}]`;
    if (kind.program === undefined) describe(t, () => body(kind));
    else describeWithProgram(kind.program.name, kind.program.debianPackage, t, () => body(kind));
  }
}

/** A Mosquitto kind with options (password file, ACL, persistence). */
export function mosquittoWith(options: MosquittoOptions): BrokerKind {
  return { ...brokerKind('mosquitto'), start: () => startMosquitto(options) };
}
