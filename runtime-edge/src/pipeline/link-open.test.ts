/**
 * The edge's link from a configuration section or a shorthand, through the link registry: the shorthands
 * expand as akb-edge documents them, `--mtu` overrides a section's MTU, and an sdr-udp section (a real UDP
 * socket, nobody listening) gives the policy its burst model: at 20,000 samples/s a tile budget of one
 * second holds the bursts of the uses it allows and not one use more.
 */
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '@akb/protocol/mqtt';
import { EdgeConfig } from '@akb/protocol';
import { burstLayout, burstSamples } from '@akb/link';
import { linkUseCeiling, tileTimeMs } from '../policy/link-ceiling.js';
import { linkSection, openEdgeLink } from './link-open.js';

describe('openEdgeLink', () => {
  it('expands the shorthands and lets --mtu override the section', async () => {
    expect(linkSection('mqtt')).toEqual({ driver: 'mqtt', mtu: 1024 });
    expect(linkSection('emulated', { channelSnrDb: 5, seed: 3 })).toEqual({ driver: 'emulated', where: 'in-process', channel: 'awgn', snrDb: 5, seed: 3 });
    const client = new MemoryBus().client();
    const opened = await openEdgeLink(client, 'emulated', { deviceId: 'cam', mtu: 512 });
    try {
      expect(opened.link.name).toBe('emulated');
      expect(opened.link.capabilities.mtu).toBe(512);
      expect(opened.tileBudgetMs).toBeUndefined();
    } finally {
      await opened.link.close();
    }
  });

  it("opens sdr-udp with its section's pacing and tile budget, and models its bursts for the ceiling", async () => {
    const client = new MemoryBus().client();
    const section = EdgeConfig.parse({ deviceId: 'cam', link: { driver: 'sdr-udp', port: 9, sampleRateHz: 20_000, tileBudgetMs: 1000 } }).link;
    const opened = await openEdgeLink(client, section, { deviceId: 'cam' });
    try {
      expect(opened.link.name).toBe('sdr-udp');
      expect(opened.link.capabilities.rate).toEqual({ symbolsPerSecond: 20_000 });
      expect(opened.tileBudgetMs).toBe(1000);
      const burst = opened.burstSymbols!;
      // 183 samples per 1472-byte datagram; a burst is padded with two datagrams and sent in whole ones.
      expect(burst(100)).toBe(Math.ceil((burstSamples(burstLayout(), 100) + 366) / 183) * 183);
      const model = { mtu: opened.link.capabilities.mtu, dtype: 'float32' as const, symbolsPerSecond: 20_000, burstSymbols: burst };
      const c = linkUseCeiling(model, 1000)!;
      expect(c.maxUses).toBeGreaterThan(0);
      expect(tileTimeMs(c.maxUses, model)).toBeLessThanOrEqual(1000);
      expect(tileTimeMs(c.maxUses + 1, model)).toBeGreaterThan(1000);
    } finally {
      await opened.link.close();
    }
  });
});
