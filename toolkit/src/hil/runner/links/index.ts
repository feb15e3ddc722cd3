/** The link path of a local rig, by the plan's `link.driver` (one module per driver, the same interface). */
import { startEmulatedPath } from './emulated.js';
import { startSdrUdpPath } from './sdr-udp.js';
import { startSerialPath } from './serial.js';
import type { LinkPath, LinkPathOptions } from './types.js';

export type { LinkCounters, LinkPath, LinkPathOptions } from './types.js';
export { channelConfig } from './emulated.js';

export function startLinkPath(o: LinkPathOptions): Promise<LinkPath> {
  const link = o.link;
  switch (link.driver) {
    case 'emulated':
      return startEmulatedPath(o);
    case 'sdr-udp':
      return startSdrUdpPath({ ...o, link });
    case 'serial':
      return startSerialPath({ ...o, link });
  }
}
