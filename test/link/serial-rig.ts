/**
 * A serial radio link on real pseudo-terminals: socat makes a pty pair, the ModemSim answers on one end as
 * an RN2483 or E32 would, the SerialLink driver opens the other; what the sim puts on air goes to a
 * RadioGatewaySim that publishes reassembled frames on the device's link/rx through a real broker (aedes).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fragmentSymbols, topics } from '@akb/protocol';
import { connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { ModemSim, RadioGatewaySim, SerialLink, type ModemSimOptions, type SerialLinkOptions } from '@akb/link';
import { Inbox, startAedes, uniqueId, type AedesHandle } from '../support/index.js';
import { socatPty, type SocatPty } from '../support/pty.js';

export const DEVICE = 'cam-radio';

export interface Rig {
  dir: string;
  broker: AedesHandle;
  client: AkbMqttClient;
  inbox: Inbox;
  gateway: RadioGatewaySim;
  pty: SocatPty;
  sim: ModemSim;
  /** Stops the modem's side (the pty pair and the sim): the port is unplugged. */
  unplug(): Promise<void>;
  /** A fresh pty pair at the same path and a fresh sim: plugged back in. */
  plugIn(): Promise<void>;
  link(o: Omit<SerialLinkOptions, 'path' | 'modem'> & Partial<Pick<SerialLinkOptions, 'modem'>>): Promise<SerialLink>;
  stop(): Promise<void>;
}

export async function startRig(sim: Omit<ModemSimOptions, 'path' | 'onAir'>): Promise<Rig> {
  const dir = await mkdtemp(join(tmpdir(), 'akb-serial-'));
  const broker = await startAedes();
  const client = await connectMqtt({ url: broker.url, clientId: uniqueId('radio') });
  const inbox = await Inbox.open(client, topics.linkRx(DEVICE), 0);
  const gateway = new RadioGatewaySim({ client, deviceId: DEVICE });
  const links: SerialLink[] = [];
  const rig: Rig = {
    dir,
    broker,
    client,
    inbox,
    gateway,
    pty: undefined as unknown as SocatPty,
    sim: undefined as unknown as ModemSim,
    unplug: async () => {
      await rig.sim.close();
      await rig.pty.stop();
    },
    plugIn: async () => {
      rig.pty = await socatPty(dir, 'modem', undefined);
      rig.sim = await ModemSim.open({ ...sim, path: `${rig.pty.path}.peer`, onAir: (p) => gateway.hear(p) });
    },
    link: async (o) => {
      const modem = o.modem ?? (sim.modem.kind === 'rn2483' ? { kind: 'rn2483' as const, sf: 7 as const, bwKhz: 125 as const, cr: 1 as const } : { kind: 'e32' as const, airBitsPerSecond: sim.modem.airBitsPerSecond, ...(sim.modem.packetBytes ? { packetBytes: sim.modem.packetBytes } : {}) });
      const l = await SerialLink.open({ ...o, path: rig.pty.path, modem });
      links.push(l);
      return l;
    },
    stop: async () => {
      for (const l of links) await l.close().catch(() => undefined);
      await rig.sim.close().catch(() => undefined);
      await rig.pty.stop();
      await client.close();
      await broker.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await rig.plugIn();
  return rig;
}

/** A float32 frame (one fragment), which a digital modem must refuse. */
export function float32Frame(): Uint8Array {
  const meta = { deviceId: 1, sessionId: 1, frameId: 1, actionId: 0, kbVersion: 1, timestampUs: 0 };
  return fragmentSymbols(meta, new Float32Array(16).fill(0.5), { mtu: 1024, dtype: 'float32' })[0]!;
}
