/** What a CloudDecoder is started with (decoder.ts): its client, model sets, lanes, timeouts, limits and scope. */
import type { ModelSet } from '@akb/jscc';
import type { MqttTransport } from '@akb/protocol/mqtt';
import type { DeviceScope } from '../scope.js';
import type { KbStore } from '../control/kb-service.js';
import type { ImageResult, ReferenceResolver } from './images.js';
import type { ImageLimits } from './limits.js';
import type { RewardWeights } from './reward.js';
import type { TileDecoderOptions } from './tile-decoder.js';

export interface CloudDecoderOptions {
  /** A connected client (AkbMqttClient, or any MqttTransport). */
  client: MqttTransport;
  /** The model sets this cloud decodes; metas name them. */
  sets: readonly ModelSet[];
  /** Where frames' KB versions are looked up (default: the sets' own KBs). */
  kb?: KbStore;
  /** Receive frames through a shared subscription (default false; aedes has none). */
  shared?: boolean;
  /** Shared-subscription group (default "cloud"). */
  group?: string;
  /** Decode lanes per model set (worker threads), default 1. */
  workers?: number;
  lane?: 'thread' | 'inline';
  intraOpThreads?: number;
  maxBatch?: number;
  /** Makes the decode lanes instead (see TileDecoderOptions.laneFactory). */
  laneFactory?: TileDecoderOptions['laneFactory'];
  references?: ReferenceResolver;
  onImage?: (result: ImageResult) => unknown;
  /** Results kept for `recent()` (default 16). */
  ringSize?: number;
  /** A frame whose fragments stop arriving is decoded this long after its first one (default 300 ms). */
  fragmentTimeoutMs?: number;
  /** An image is finished this long after its meta or latest tile (default 3000 ms). */
  imageTimeoutMs?: number;
  /** A frame whose meta has not arrived waits this long (default 2000 ms). */
  metaWaitMs?: number;
  /** Frames remembered against double decoding (default 200 000). */
  dedupeCapacity?: number;
  /** Size limits and budgets of images (limits.ts; defaults DEFAULT_IMAGE_LIMITS). */
  limits?: Partial<ImageLimits>;
  /** The devices this decoder takes frames and metas from (default every device). */
  scope?: DeviceScope;
  /** Reward weights per device (intents); default the channel KB's. */
  weights?: (device: string) => RewardWeights;
  onError?: (error: unknown, context: object) => void;
  now?: () => number;
}
