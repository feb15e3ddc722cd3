/**
 * `@akb/protocol/mqtt`: the akb protocol over MQTT (mqtt.js, an optional peer dependency). The core
 * `@akb/protocol` never imports mqtt; only this subpath does.
 */
export * from './transport.js';
export * from './fanout.js';
export * from './topic-match.js';
export { MemoryBus, MemoryClient, type MemoryPublish } from './memory-bus.js';
export {
  AkbMqttClient,
  defaultDeath,
  type ClientStats,
  type HoldLimits,
  type CloseOptions,
  type DeviceConnectOptions,
  type DeathReason,
  type DeviceStatus,
  type StatusPayload,
  type MqttConnectOptions,
} from './client.js';
export { connectDevice, connectMqtt } from './connect.js';
export * from './brokers.js';
export * from './tls.js';
export { SUBSCRIBE_RECONNECT_TRIES } from './subscribe.js';
export { errorText } from './util.js';
export * from './rpc-server.js';
export * from './rpc-client.js';
