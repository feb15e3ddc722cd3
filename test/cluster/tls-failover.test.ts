/**
 * Failover over TLS (Mosquitto): each broker's certificate must be checked against the host name of the
 * broker actually reached. Broker A's certificate names only `localhost`, broker B's only `127.0.0.1`;
 * mqtt.js sets the TLS server name from the first host and would keep `localhost` for B, which B's
 * certificate does not name (brokers.ts, followServerNames). Certificates are made by `akb fleet
 * provision` (openssl).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectMqtt } from '@akb/protocol/mqtt';
import { provision } from '../../toolkit/src/commands/fleet.js';
import { describeWithProgram, startMosquitto, uniqueId, type MosquittoHandle } from '../support/index.js';

describeWithProgram('mosquitto', 'mosquitto', 'failover between TLS brokers of different host names (Mosquitto)', () => {
  let dir: string;
  let a: MosquittoHandle;
  let b: MosquittoHandle;
  let ca: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'akb-tls-fo-'));
    const caDir = join(dir, 'ca');
    const certA = await provision({ id: 'broker-a', caDir, out: join(dir, 'a'), broker: 'mqtts://localhost:8883', serverNames: ['localhost'] });
    const certB = await provision({ id: 'broker-b', caDir, out: join(dir, 'b'), broker: 'mqtts://127.0.0.1:8883', serverNames: ['127.0.0.1'] });
    ca = await readFile(join(caDir, 'ca.crt'), 'utf8');
    const start = (c: typeof certA): Promise<MosquittoHandle> =>
      startMosquitto({ tlsListeners: [{ cafile: join(caDir, 'ca.crt'), certfile: c.files.cert, keyfile: c.files.key }] });
    [a, b] = await Promise.all([start(certA), start(certB)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reaches B under its own name after A goes', async () => {
    const portA = new URL(a.tlsUrls[0]!).port;
    const urlB = b.tlsUrls[0]!;
    const client = await connectMqtt({ url: [`mqtts://localhost:${portA}`, urlB], clientId: uniqueId('tls-fo'), tls: { ca }, reconnectPeriodMs: 200 });
    const errors: string[] = [];
    client.errors.on((e) => void errors.push(e.message));
    const ports: number[] = [];
    client.connected.on(() => void ports.push(Number(client.raw.options.port)));
    expect(Number(client.raw.options.port)).toBe(Number(portA));
    const down = a.restart({ downMs: 4000 });
    await expect.poll(() => ports, { timeout: 10_000 }).toContain(Number(new URL(urlB).port));
    expect(errors.filter((m) => /altname|certificate|Hostname/i.test(m))).toEqual([]);
    await client.close({ force: true });
    await down;
  });
});
