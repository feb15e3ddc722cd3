/**
 * The daemon's pipeline wiring, once the agent is connected: link driver (link-open.ts), EdgePipeline, telemetry, image
 * source and pump, and the operations they add to the agent (`intent.set`, `image.send`,
 * `pipeline.stats`). `akb-edge` calls this; a test or another program can too.
 */
import type { ModelVersion, SymbolDtype } from '@akb/protocol';
import type { AkbMqttClient, RpcHandlers } from '@akb/protocol/mqtt';
import type { EdgeAttachment } from '../agent.js';
import { TrackedLink, type BuiltinLinks, type LinkRegistry } from '@akb/link';
import type { BackendName, BackendRegistry, ModelSet } from '@akb/jscc';
import { formatPolicyMode, parseIntentArgs } from '../policy/index.js';
import { DirectorySource, IMAGE_SEND_OP, IngestSource, WatchSource, pumpImages, type ImageSource, type PumpStats } from '../sources/index.js';
import { TelemetryReporter } from '../telemetry/reporter.js';
import { openEdgeLink, type EdgeLinkSpec } from './link-open.js';
import { EdgePipeline } from './pipeline.js';
import type { ImageReport } from './report.js';

export type SourceSpec = { kind: 'directory'; dir: string } | { kind: 'watch'; dir: string; existing?: boolean } | { kind: 'ingest' };

export interface EdgeRuntimeOptions {
  deviceId: string;
  /** Device profile id (intents may target profiles). */
  profile: string;
  /** The set to run; the runtime keeps it without its ONNX bytes once the sessions exist. */
  set: ModelSet;
  /**
   * `mqtt` (frames on link/tx for a gateway or the emulator service, default), `emulated` (AWGN in process,
   * frames on link/rx), or an edge configuration's `link` section (any driver of the link registry).
   */
  link?: EdgeLinkSpec;
  /** Overrides the link section's tileBudgetMs: the time a tile may take on a rated link, ms (0: no ceiling). */
  tileBudgetMs?: number;
  /** Where link drivers come from (default createLinkRegistry()). */
  linkRegistry?: LinkRegistry<BuiltinLinks>;
  /** Emulated channel: AWGN at this SNR, dB (default 10), seeded. */
  channelSnrDb?: number;
  seed?: number;
  mtu?: number;
  dtype?: SymbolDtype;
  /** `dqn`, `channel-kb` or `fixed:<id>` (default: dqn for an AKB set, fixed:0 otherwise). */
  policy?: string;
  epsilon?: number;
  /** Telemetry period, ms; 0 for none (default 1000). */
  telemetryMs?: number;
  source?: SourceSpec;
  /** The registry sessions come from (default: jscc's defaultBackends()). */
  backends?: BackendRegistry;
  /** Backends to try, in order: the device profile's (default onnxruntime-node-cpu). */
  backendOrder?: readonly BackendName[];
  /** Most tiles per session.run (default 32; akb-edge passes the profile's, see profile.ts). */
  maxBatch?: number;
  /** `off` withholds an AKB set's source KB (EdgePipelineOptions.sourceKb; default `on`). */
  sourceKb?: 'on' | 'off';
  /** Merged into status.get (akb-edge: the profile, how it was chosen, its limits). */
  snapshot?: object;
  onReport?: (report: ImageReport) => void;
  onError?: (error: unknown, name: string, corrupt: boolean) => void;
}

export interface EdgeRuntime {
  readonly pipeline: EdgePipeline;
  readonly telemetry: TelemetryReporter | undefined;
  readonly source: ImageSource | undefined;
  /** Resolves when the source is exhausted (a folder) or closed. */
  readonly done: Promise<PumpStats>;
  readonly attachment: EdgeAttachment;
}

/** The models of a set as a birth lists them. */
export function modelVersions(set: ModelSet): ModelVersion[] {
  const models = [set.encoder, set.decoder, set.embedder, set.policy].filter((m) => m !== undefined);
  return models.flatMap((m) => {
    const role = m.card.role;
    if (role !== 'encoder' && role !== 'decoder' && role !== 'policy' && role !== 'embedder' && role !== 'vision-encoder') return [];
    return [{ role, name: m.card.name, version: m.card.version, sha256: m.card.onnx.sha256 }];
  });
}

export async function startEdgeRuntime(client: AkbMqttClient, options: EdgeRuntimeOptions): Promise<EdgeRuntime> {
  const { deviceId, profile } = options;
  const opened = await openEdgeLink(client, options.link, {
    deviceId, channelSnrDb: options.channelSnrDb, seed: options.seed ?? 1,
    ...(options.mtu ? { mtu: options.mtu } : {}),
    ...(options.tileBudgetMs !== undefined ? { tileBudgetMs: options.tileBudgetMs } : {}),
    ...(options.linkRegistry ? { registry: options.linkRegistry } : {}),
  });
  // Watched for telemetry's link health (down on a fault that stops sending, up at the next send that goes through).
  const link = new TrackedLink(opened.link);
  let pipeline: EdgePipeline;
  try {
    pipeline = await EdgePipeline.create({
      deviceId, set: options.set, link, transport: client, dtype: options.dtype, backends: options.backends, backendOrder: options.backendOrder, maxBatch: options.maxBatch,
      ...(options.sourceKb ? { sourceKb: options.sourceKb } : {}),
      ...(opened.tileBudgetMs !== undefined ? { tileBudgetMs: opened.tileBudgetMs } : {}),
      ...(opened.burstSymbols ? { burstSymbols: opened.burstSymbols } : {}),
      policy: { ...(options.policy ? { mode: options.policy } : {}), ...(options.epsilon !== undefined ? { epsilon: options.epsilon } : {}), seed: options.seed ?? 1 },
    });
  } catch (e) {
    await link.close();
    throw e;
  }
  const telemetry = (options.telemetryMs ?? 1000) > 0
    ? new TelemetryReporter({ transport: client, deviceId, pipeline, intervalMs: options.telemetryMs ?? 1000, framesMalformed: () => link.stats.feedbackMalformed, linkHealth: () => link.health() })
    : undefined;
  telemetry?.start();
  const spec = options.source;
  let source: ImageSource | undefined;
  try {
    if (spec?.kind === 'directory') source = new DirectorySource(spec.dir);
    else if (spec?.kind === 'watch') source = await WatchSource.open(spec.dir, { existing: spec.existing ?? false });
    else if (spec?.kind === 'ingest') source = new IngestSource();
  } catch (e) {
    await telemetry?.stop();
    await pipeline.close();
    throw e;
  }
  const pump: PumpStats = { sent: 0, corrupt: 0, failed: 0 };
  const done = source
    ? pumpImages(source, pipeline, { stats: pump, onReport: options.onReport, onError: options.onError })
    : Promise.resolve(pump);
  done.catch(() => undefined); // the caller awaits it; until then a failing source must not crash the process
  // Closures below keep `pipeline.set` (no ONNX bytes), never `options`, which holds the set as loaded.
  const { policy, set } = pipeline;
  const extra = options.snapshot;
  const handlers: RpcHandlers = {
    'pipeline.stats': () => ({
      session: pipeline.sessionId,
      counters: pipeline.counters,
      link: link.stats,
      policy: {
        mode: formatPolicyMode(policy.mode), ...policy.stats, weights: policy.weights, constraints: policy.constraints ?? null,
        linkCeiling: policy.linkCeiling ?? null, learnedCells: policy.correction?.learned ?? 0,
      },
      source: source ? { kind: source.kind, ...source.stats, ...pump } : null,
    }),
    ...(source instanceof IngestSource ? { [IMAGE_SEND_OP]: source.handler } : {}),
  };
  const attachment: EdgeAttachment = {
    handlers,
    intent: (args) => {
      const update = parseIntentArgs(args, { deviceId, profile, tileSide: pipeline.encoder.tile });
      if (update.kind === 'not-for-me') return { applied: false };
      if (update.kind === 'weights') return { applied: true, weights: policy.setWeights(update.weights) };
      policy.setConstraints(update.constraints);
      return { applied: true, constraints: update.constraints, notEnforced: update.notEnforced };
    },
    snapshot: () => ({
      ...extra, set: set.name, backends: pipeline.backends, linkSession: pipeline.sessionId, policy: formatPolicyMode(policy.mode), counters: pipeline.counters,
    }),
    stop: async () => {
      await source?.close();
      await done.catch(() => undefined);
      await telemetry?.stop();
      await pipeline.close();
    },
  };
  return { pipeline, telemetry, source, done, attachment };
}
