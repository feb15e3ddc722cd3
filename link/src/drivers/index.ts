/** Link drivers: the interface the edge sends frames through, the built-in drivers and their registry. */
export { LinkBase, preferredDtype, type LinkCapabilities, type LinkDriver, type LinkRate, type LinkStats } from './driver.js';
export { LINK_DOWN_CODES, TrackedLink } from './health.js';
export { MqttLink, type MqttLinkOptions } from './mqtt.js';
export { SdrUdpLink, type SdrUdpLinkOptions } from './sdr-udp.js';
export { EmulatedLink, type EmulatedDelivery, type EmulatedLinkOptions } from './emulated.js';
export {
  LinkRegistry,
  createLinkRegistry,
  linkOptionsFromConfig,
  type BuiltinLinks,
  type ConfiguredLink,
  type LinkContext,
  type LinkFactory,
  type LinkOptionsMap,
} from './registry.js';
export * from './serial/index.js';
