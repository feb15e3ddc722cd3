/**
 * Every JSON message and document of the protocol, and the registry that names them. A kind name is
 * what `decodeMessage`/`encodeMessage` take and what `schema/<kind>.schema.json` is called.
 */
import type { z } from 'zod';
import { BundleManifest } from './bundle.js';
import { CloudConfig, EdgeConfig } from './config.js';
import { DeviceProfile } from './device-profile.js';
import { RequestEnvelope, ResponseEnvelope } from './envelope.js';
import { FeedbackMessage, IntentMessage } from './feedback.js';
import { ImageMetaMessage } from './image-meta.js';
import { KbAnnounce, KbEntryRequest, KbEntryResponse } from './kb.js';
import { ModelCard } from './model-card.js';
import { OtaBlock, OtaGet, OtaOffer, OtaResult } from './ota.js';
import { OtaAbort, OtaJob, OtaProgress } from './ota-job.js';
import { StatusMessage } from './status.js';
import { TelemetryMessage } from './telemetry.js';
import { AlarmMessage } from './alarm.js';
import { ChannelSetArgs } from './link-control.js';

export * from './common.js';
export * from './status.js';
export * from './telemetry.js';
export * from './alarm.js';
export * from './link-control.js';
export * from './feedback.js';
export * from './image-meta.js';
export * from './kb.js';
export * from './kb-digest.js';
export * from './ota.js';
export * from './ota-job.js';
export * from './model-card.js';
export * from './bundle.js';
export * from './device-profile.js';
export * from './config.js';
export * from './topic-catalog.js';
export { formatPath, describeIssues, schemaViolation } from './issues.js';

/** Schema of every message kind. Messages on the wire first, then documents (files). */
export const messageSchemas = {
  status: StatusMessage,
  telemetry: TelemetryMessage,
  feedback: FeedbackMessage,
  'image-meta': ImageMetaMessage,
  intent: IntentMessage,
  request: RequestEnvelope,
  response: ResponseEnvelope,
  'kb-announce': KbAnnounce,
  'kb-entry-request': KbEntryRequest,
  'kb-entry-response': KbEntryResponse,
  'ota-offer': OtaOffer,
  'ota-get': OtaGet,
  'ota-block': OtaBlock,
  'ota-result': OtaResult,
  'ota-progress': OtaProgress,
  'ota-job': OtaJob,
  'ota-abort': OtaAbort,
  alarm: AlarmMessage,
  'channel-set': ChannelSetArgs,
  'model-card': ModelCard,
  'bundle-manifest': BundleManifest,
  'device-profile': DeviceProfile,
  'edge-config': EdgeConfig,
  'cloud-config': CloudConfig,
} as const satisfies Record<string, z.ZodType>;

export type MessageSchemas = typeof messageSchemas;
export type MessageKind = keyof MessageSchemas;
/** The value a decoded message of `K` has (defaults applied). */
export type MessageOf<K extends MessageKind> = z.output<MessageSchemas[K]>;
/** What a writer may give for `K` (fields with defaults may be left out). */
export type MessageInput<K extends MessageKind> = z.input<MessageSchemas[K]>;

export const MESSAGE_KINDS = Object.keys(messageSchemas) as MessageKind[];

export function isMessageKind(kind: unknown): kind is MessageKind {
  return typeof kind === 'string' && Object.prototype.hasOwnProperty.call(messageSchemas, kind);
}
