/**
 * The credentials of a test fleet, made as users make them: `akb fleet provision` (toolkit's provision(),
 * which calls the openssl program) for the fleet CA, the broker's server certificate (127.0.0.1), each
 * device (password, key, certificate, edge.json) and each service user (the cloud, a tool); plus a second,
 * unrelated CA and a device certificate it signs, which the broker must refuse. The password file holds
 * the `$7$` lines provision computed in Node, so Mosquitto reading it checks them too.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { provision, type Provisioned } from '../../toolkit/src/commands/fleet.js';
import { readFile } from 'node:fs/promises';

export interface TestPki {
  dir: string;
  /** The fleet CA's certificate. */
  ca: string;
  broker: { cert: string; key: string };
  users: Record<string, Provisioned & { password: string }>;
  /** A Mosquitto password file with every user's line. */
  passwordFile: string;
  /** A device certificate and key signed by another CA (CN d1). */
  stranger: { cert: string; key: string; ca: string };
  close: () => Promise<void>;
}

export async function makePki(options: { devices: string[]; services: string[]; brokerUrl?: string }): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'akb-pki-'));
  try {
    const caDir = join(dir, 'ca');
    const broker = await provision({ id: 'broker', caDir, out: join(dir, 'broker'), broker: 'mqtts://127.0.0.1:8883', serverNames: ['127.0.0.1', 'localhost'] });
    const users: TestPki['users'] = {};
    for (const id of [...options.devices, ...options.services]) {
      const service = options.services.includes(id);
      const made = await provision({ id, caDir, out: join(dir, id), broker: options.brokerUrl ?? 'mqtts://127.0.0.1:8883', service });
      users[id] = { ...made, password: (await readFile(made.files.password!, 'utf8')).trim() };
    }
    const passwordFile = join(dir, 'passwords');
    await writeFile(passwordFile, Object.values(users).map((u) => `${u.passwordLine}\n`).join(''), { mode: 0o600 });
    const other = await provision({ id: 'd1', caDir: join(dir, 'other-ca'), out: join(dir, 'stranger'), broker: 'mqtts://127.0.0.1:8883', service: true });
    return {
      dir,
      ca: join(caDir, 'ca.crt'),
      broker: { cert: broker.files.cert, key: broker.files.key },
      users,
      passwordFile,
      stranger: { cert: other.files.cert, key: other.files.key, ca: join(dir, 'other-ca', 'ca.crt') },
      close: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The PEM contents connectMqtt takes for `user` (its certificate and key, and the fleet CA). */
export async function tlsOf(pki: TestPki, user: string): Promise<{ ca: string; cert: string; key: string }> {
  const u = pki.users[user]!;
  const [ca, cert, key] = await Promise.all([readFile(pki.ca, 'utf8'), readFile(u.files.cert, 'utf8'), readFile(u.files.key, 'utf8')]);
  return { ca, cert, key };
}
