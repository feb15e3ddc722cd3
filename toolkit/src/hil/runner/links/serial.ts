/**
 * The `serial` link path (plan `link: {driver: serial, modem, airtimeScale?, dutyCycle?}`): the edge's
 * SerialLink drives a ModemSim (RN2483 LoRa AT or E32 transparent) on a socat pseudo-terminal pair; what
 * the sim puts on air goes to a RadioGatewaySim, which reassembles the frames. A digital modem carries the
 * int8 symbols bit-exact, so the gateway publishes each frame on the device's link/tx, where a
 * ChannelEmulator applies the plan's channel as for `emulated`: the modem moves the symbols; the plan's
 * channel is then applied as an analog channel would; a high SNR measures the modem alone.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topics } from '@akb/protocol';
import { ModemSim, RadioGatewaySim, SerialLink, startPtyPair, type SerialModemOptions } from '@akb/link';
import type { LinkPlan } from '../../plan.js';
import { startEmulator } from './emulated.js';
import type { LinkPath, LinkPathOptions } from './types.js';

type SerialPlan = Extract<LinkPlan, { driver: 'serial' }>;

export async function startSerialPath(o: LinkPathOptions & { link: SerialPlan }): Promise<LinkPath> {
  const l = o.link;
  const stops: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), 'akb-hil-serial-'));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const pty = await startPtyPair(join(dir, 'modem'));
    stops.push(() => pty.stop());
    const gateway = new RadioGatewaySim({ client: await o.connect('radio-gateway'), deviceId: o.device, topic: topics.linkTx(o.device) });
    const sim = await ModemSim.open({
      path: pty.peerPath,
      modem: l.modem.kind === 'rn2483' ? { kind: 'rn2483' } : { kind: 'e32', airBitsPerSecond: l.modem.airBitsPerSecond, ...(l.modem.packetBytes ? { packetBytes: l.modem.packetBytes } : {}) },
      airtimeScale: l.airtimeScale,
      seed: o.seed,
      onAir: (p) => gateway.hear(p),
    });
    stops.push(() => sim.close());
    const emulator = await startEmulator(o, await o.connect('channel'));
    stops.push(() => emulator.close());
    const modem: SerialModemOptions = l.modem.kind === 'rn2483' ? { kind: 'rn2483', sf: l.modem.sf, bwKhz: l.modem.bwKhz, cr: l.modem.cr } : { kind: 'e32', airBitsPerSecond: l.modem.airBitsPerSecond, ...(l.modem.packetBytes ? { packetBytes: l.modem.packetBytes } : {}) };
    const link = await SerialLink.open({ path: pty.path, modem, airtimeScale: l.airtimeScale, dutyCycle: l.dutyCycle, client: o.edgeClient, deviceId: o.device });
    return {
      link,
      counters: () => {
        const s = link.stats;
        return { serial: { packetsSent: s.packetsSent, packetsLost: s.packetsLost, packetsRetried: s.packetsRetried, airtimeMs: s.airtimeMs } };
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
