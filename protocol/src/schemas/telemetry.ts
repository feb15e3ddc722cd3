/**
 * Telemetry samples, published by a device on `akb/v1/dev/{device}/telemetry` (QoS 1, not retained),
 * typically once a second or once per frame. A sample reports the last frame's latencies, the action the
 * channel KB chose, the link and quality estimates, the process's resource use and running counters.
 */
import { z } from 'zod';
import { Action, DeviceId, EpochMillis, NonNegativeInt, Slug, Uint32 } from './common.js';

const Millis = z.number().nonnegative().max(3_600_000);

export const StageLatencies = z
  .strictObject({
    capture: Millis.optional().describe('Reading and preprocessing the source image.'),
    encode: Millis.optional().describe('Running the JSCC encoder.'),
    policy: Millis.optional().describe('Choosing the action (channel KB lookup or policy network).'),
    frame: Millis.optional().describe('Quantizing symbols and building the binary frames.'),
    send: Millis.optional().describe('Handing the frames to the link driver until the last one is out.'),
    channel: Millis.optional().describe('Time in the channel (emulator or radio), when measured.'),
    decode: Millis.optional().describe('Running the decoder (reported by the receiver through feedback).'),
    total: Millis.optional().describe('End to end, from capture to the decoded image.'),
  })
  .describe('Per-stage latency of the last frame, in milliseconds; stages not measured are left out.');
export type StageLatencies = z.infer<typeof StageLatencies>;

export const QualityEstimate = z
  .strictObject({
    psnr: z.number().min(0).max(200).optional().describe('Peak signal-to-noise ratio of the reconstruction, dB.'),
    ssim: z.number().min(-1).max(1).optional().describe('Structural similarity of the reconstruction, -1..1.'),
  })
  .describe('Reconstruction quality as last reported by the receiver.');
export type QualityEstimate = z.infer<typeof QualityEstimate>;

export const LinkCounters = z
  .strictObject({
    framesSent: NonNegativeInt.describe('Frames (images) sent since the runtime started.'),
    framesDropped: NonNegativeInt.describe('Frames not sent (queue full, link down, deadline missed).'),
    framesMalformed: NonNegativeInt.describe('Incoming frames or messages rejected by a decoder.'),
    fragmentsSent: NonNegativeInt.optional().describe('Fragments (link packets) sent.'),
    fragmentsLost: NonNegativeInt.optional().describe('Fragments reported lost (erasures) by feedback.'),
    feedbackReceived: NonNegativeInt.optional().describe('Feedback messages received.'),
    bytesSent: NonNegativeInt.optional().describe('Bytes handed to the link driver.'),
  })
  .describe('Running counters since the runtime started; they only grow (until a restart).');
export type LinkCounters = z.infer<typeof LinkCounters>;

export const LinkHealth = z
  .strictObject({
    driver: Slug.max(32).describe('The link driver: emulated, mqtt, serial, sdr-udp, …'),
    up: z.boolean().describe('False while the link cannot send: the port is gone, the modem does not answer, the peer refuses datagrams.'),
    fault: z
      .strictObject({
        code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'an error code such as MODEM_TIMEOUT').describe('Error code, e.g. LINE_CLOSED, MODEM_TIMEOUT, SDR_PEER_UNREACHABLE.'),
        message: z.string().max(256).describe('For people.'),
        ts: EpochMillis.describe('When it happened.'),
      })
      .optional()
      .describe('The last fault the link reported (while down: the one that took it down).'),
    symbolEncoding: z.enum(['float32', 'float16', 'int8']).optional().describe('What the symbols travel as (a digital modem: int8 with their scale).'),
    airtimeMs: z.number().nonnegative().max(1e15).optional().describe('Radio time on air used since the start, ms.'),
    packetsLost: NonNegativeInt.optional().describe('Radio packets never sent (errors after retries, timeouts, a closed port).'),
    packetsRetried: NonNegativeInt.optional().describe('Radio packets sent again after an error.'),
    dutyCycleDrops: NonNegativeInt.optional().describe('Packets dropped to keep within the duty-cycle limit.'),
    sendFailures: NonNegativeInt.optional().describe('Fragments the link refused or failed to hand on.'),
  })
  .describe('The link\'s health (protocol 1.3).');
export type LinkHealth = z.infer<typeof LinkHealth>;

export const TelemetryMessage = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    device: DeviceId.describe('Device that sends the sample (the same as in the topic).'),
    ts: EpochMillis.describe('When the sample was taken.'),
    seq: Uint32.describe('Sample counter, +1 per sample, wrapping to 0 after 2^32-1; a gap means samples were lost.'),
    session: Uint32.optional().describe('Link session id, as in frame headers.'),
    frameId: Uint32.optional().describe('Id of the last frame the sample describes, as in frame headers.'),
    latencyMs: StageLatencies,
    action: Action.optional().describe('Action used for the last frame.'),
    snrDb: z.number().min(-100).max(100).nullable().describe('Current SNR estimate in dB, or null when there is none yet.'),
    quality: QualityEstimate.optional(),
    kbVersion: Uint32.nullable().optional().describe('Source-KB version in use, or null when none.'),
    cpuPercent: z.number().min(0).max(100 * 256).describe('CPU use of the runtime process since the last sample, % of one core (may exceed 100).'),
    memoryRssBytes: NonNegativeInt.describe('Resident set size of the runtime process, bytes.'),
    temperatureC: z.number().min(-100).max(200).optional().describe('Board (SoC) temperature in degrees Celsius, where the board reports one.'),
    counters: LinkCounters,
    link: LinkHealth.optional(),
  })
  .meta({ title: 'Telemetry sample', description: 'Published by a device on akb/v1/dev/{device}/telemetry, QoS 1.' });
export type TelemetryMessage = z.infer<typeof TelemetryMessage>;
