/**
 * What the OTA receiver (ota.ts) takes and reports: its options, its counters, and how an install error
 * becomes a result reason.
 */
import type { OtaResult, SigKey } from '@akb/protocol';
import type { MqttTransport } from '@akb/protocol/mqtt';
import type { InstallAgent } from '@akb/flash';

export type Failure = Extract<OtaResult, { status: 'failed' }>['reason'];
export type Phase = 'downloading' | 'verifying' | 'installing' | 'health-check';

export interface OtaReceiverOptions {
  transport: MqttTransport;
  deviceId: string;
  profile: string;
  agent: InstallAgent;
  /** Install root of the agent: the partial download lives in `<root>/ota/`. */
  root: string;
  /**
   * The trust store (the keys bundles are checked against): an offer must be signed by one of them, and
   * the bundle it offers must name one of them.
   */
  trustedKeys: readonly SigKey[];
  /** Where the replay floor of offers is kept (default `<root>/signed-seq.json`). */
  seqPath?: string;
  /** Largest bundle taken (bytes, default 2 GiB). */
  maxSize?: number;
  /** Blocks asked per get (default 16, at most 256). */
  window?: number;
  /** Ask again for what is missing after this long without a block (ms, default 2000). */
  retryMs?: number;
  /** Give up (TRANSFER_TIMEOUT) after this long without a block (ms, default 60 000). */
  timeoutMs?: number;
  /** One line per event (stdout in akb-agent). */
  out?: (line: string) => void;
  now?: () => number;
}

export interface OtaReceiverStats {
  /** Offers decoded (this device's topic only). */
  offers: number;
  blocks: number;
  /** Blocks and offers dropped: malformed, another transfer or device, outside the window, wrong size. */
  dropped: number;
  gets: number;
  results: OtaResult[];
  /** Offers refused by the signature rule, by reason (SIG_MISSING, SIG_UNKNOWN_KEY, SIG_BAD, SIG_EXPIRED, SIG_REPLAYED). */
  refusals: Record<string, number>;
  /** Signed offers received again with the seq last accepted (QoS 1 duplicates): handled as that offer. */
  duplicates: number;
}

/** Install error codes and the OTA result reason each gives. */
export const REASONS: Readonly<Record<string, Failure>> = {
  BUNDLE_BAD_SIGNATURE: 'BAD_SIGNATURE',
  BUNDLE_UNTRUSTED_KEY: 'UNTRUSTED_KEY',
  WRONG_PROFILE: 'INCOMPATIBLE_PROFILE',
  DOWNGRADE: 'DOWNGRADE_REFUSED',
  ALREADY_INSTALLED: 'DOWNGRADE_REFUSED',
  DISK_FULL: 'NO_SPACE',
};
/** The OTA result reason of an error thrown while installing (INSTALL_FAILED for anything else). */
export const reasonOf = (e: unknown): Failure => REASONS[String((e as { code?: unknown } | null)?.code)] ?? 'INSTALL_FAILED';
