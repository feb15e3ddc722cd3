/**
 * `akb-agent ota`: the OTA receiver (ota.ts) as a process on a board. It loads the trusted keys (none:
 * refused, as for install), runs the agent's boot recovery, connects to the broker as `<device>-ota` (user
 * name the device id, so a per-device ACL gives it only its own `ota/*`), and installs what it is offered
 * with the real health check (the new slot's `bin/akb-edge --probe`). Offers must be signed by one of
 * the trusted keys (the same list bundles are checked against), with the replay floor in
 * `<root>/signed-seq.json`; every agent event is a line and an
 * "updating" status, as for `akb-agent install`. It runs until SIGINT or SIGTERM, or with `--once` until
 * its first result (exit 0 installed, 4 failed or refused).
 */
import { AkbError } from '@akb/protocol';
import { connectMqtt } from '@akb/protocol/mqtt';
import { InstallAgent, loadTrustedKeys } from '@akb/flash';
import { probeHealthCheck } from './health.js';
import { OtaReceiver } from './ota.js';
import { StatusReporter } from './reporter.js';
import { tlsFromEnv } from './tls-env.js';

export interface OtaRunOptions {
  root: string;
  profile: string;
  trust: readonly string[];
  deviceId: string;
  brokerUrl: string;
  username?: string;
  password?: string;
  healthTimeoutS: number;
  maxSize?: number;
  once: boolean;
  out: (line: string) => void;
}

export async function runOta(o: OtaRunOptions): Promise<number> {
  if (!Number.isFinite(o.healthTimeoutS) || o.healthTimeoutS < 1 || o.healthTimeoutS > 86400) {
    throw new AkbError('BAD_OPTION', `--health-timeout ${o.healthTimeoutS} is not a number of seconds from 1 to 86400`, { exitCode: 2 });
  }
  if (o.maxSize !== undefined && (!Number.isInteger(o.maxSize) || o.maxSize < 1 || o.maxSize > 2 ** 32 - 1)) {
    throw new AkbError('BAD_OPTION', `--max-size ${o.maxSize} is not a number of bytes from 1 to 4294967295`, { exitCode: 2 });
  }
  const trustedKeys = await loadTrustedKeys(o.trust);
  if (trustedKeys.length === 0) {
    throw new AkbError('NO_TRUSTED_KEYS', `no trusted keys in ${o.trust.join(', ') || '(none given)'}: nothing offered could be verified`, {
      hint: "put the release key's .pub in /etc/akb/keys, or pass --trust <pub|folder>",
    });
  }
  const reporter = await StatusReporter.open({ deviceId: o.deviceId, brokerUrl: o.brokerUrl, username: o.username, password: o.password, out: o.out });
  let receiver: OtaReceiver | undefined;
  const agent = new InstallAgent({
    root: o.root,
    profile: o.profile,
    trustedKeys,
    healthCheck: probeHealthCheck({ deviceId: o.deviceId, brokerUrl: o.brokerUrl, timeoutMs: o.healthTimeoutS * 1000 }),
    onEvent: (e) => {
      reporter.report(e);
      receiver?.agentEvent(e);
    },
  });
  try {
    await agent.boot();
    // The agent's --ca/--cert/--key (or AKB_TLS_*), as its status reporter and probe use them.
    const tls = await tlsFromEnv(o.brokerUrl, process.env);
    const client = await connectMqtt({ url: o.brokerUrl, clientId: `${o.deviceId}-ota`, username: o.username ?? o.deviceId, password: o.password, ...(tls ? { tls } : {}) });
    try {
      receiver = new OtaReceiver({
        transport: client, deviceId: o.deviceId, profile: o.profile, agent, root: o.root,
        trustedKeys, out: o.out,
        ...(o.maxSize !== undefined ? { maxSize: o.maxSize } : {}),
      });
      const first = receiver.nextResult();
      // Listening before the start: a SIGTERM during it (or right after the line below) still closes cleanly.
      const stop = new Promise<number>((resolve) => {
        process.once('SIGINT', () => resolve(0));
        process.once('SIGTERM', () => resolve(0));
      });
      await receiver.start();
      o.out(`akb-agent ota: ${o.deviceId} (${o.profile}) waiting for offers on ${o.brokerUrl.replace(/\/\/[^@/]*@/, '//***@')}`);
      const code = await Promise.race([stop, ...(o.once ? [first.then((r) => (r.status === 'ok' ? 0 : 4))] : [])]);
      await receiver.close();
      return code;
    } finally {
      await client.close();
    }
  } finally {
    await reporter.close();
  }
}
