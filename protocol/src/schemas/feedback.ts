/**
 * The two messages that close the loop. Feedback goes from the receiver (cloud decoder) to the edge
 * after each decoded frame, on `akb/v1/dev/{device}/feedback`; the edge adapts its channel KB from it.
 * An intent tells one device or the whole fleet what to aim for: a quality target within a bandwidth
 * budget. It is sent as the `args` of an `intent.set` request (see PROTOCOL.md, request/response).
 */
import { z } from 'zod';
import { DeviceId, EpochMillis, NonNegativeInt, PositiveInt, ProfileId, Uint16, Uint32 } from './common.js';

export const FeedbackMessage = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    session: Uint32.describe('Link session id of the frame, as in its header.'),
    frameId: Uint32.describe('Id of the frame this feedback is about, as in its header.'),
    ts: EpochMillis.describe('When the receiver finished decoding the frame.'),
    snrDb: z.number().min(-100).max(100).describe('SNR the receiver measured over the frame, dB.'),
    psnr: z.number().min(0).max(200).optional().describe('PSNR of the reconstruction, dB, when the receiver knows the reference (tests, pilots).'),
    ssim: z.number().min(-1).max(1).optional().describe('SSIM of the reconstruction, when known.'),
    erasures: z
      .strictObject({
        fragmentsExpected: Uint16.describe('Fragment count of the frame, from its headers.'),
        fragmentsLost: Uint16.describe('Fragments that never arrived or failed their CRC; decoded as erasures.'),
        symbolsErased: NonNegativeInt.optional().describe('Complex symbols erased in total.'),
      })
      .refine((e) => e.fragmentsLost <= e.fragmentsExpected, { message: 'fragmentsLost exceeds fragmentsExpected', path: ['fragmentsLost'] })
      .describe('What the link lost of this frame.'),
    reward: z.number().min(-1e6).max(1e6).optional().describe('Reward for the action taken, when the receiver computes it for the RL agent.'),
    kbVersion: Uint32.describe('Source-KB version the receiver decoded with.'),
    kbVersionMismatch: z.boolean().describe('True when the frame named a KB version the receiver does not hold; the edge should resync (kb/req).'),
    decodeMs: z.number().nonnegative().max(3_600_000).optional().describe('Decoder latency, ms.'),
  })
  .meta({ title: 'Feedback', description: 'Receiver to edge, on akb/v1/dev/{device}/feedback, after each decoded frame.' });
export type FeedbackMessage = z.infer<typeof FeedbackMessage>;

/** Operation name of the request whose `args` is an IntentMessage (on cmd/req or fleet/cmd/req). */
export const INTENT_SET_OP = 'intent.set';

export const IntentTarget = z
  .discriminatedUnion('scope', [
    z.strictObject({
      scope: z.literal('device').describe('One device.'),
      device: DeviceId.describe('The device the intent is for.'),
    }),
    z.strictObject({
      scope: z.literal('fleet').describe('Every device, or every device of some profiles.'),
      profiles: z.array(ProfileId).min(1).max(64).optional().describe('Only devices running these profiles; all when absent.'),
    }),
  ])
  .describe('Who the intent is for.');
export type IntentTarget = z.infer<typeof IntentTarget>;

export const IntentMessage = z
  .strictObject({
    v: z.literal(1).describe('Message format version.'),
    id: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'intent id: 1-64 of [A-Za-z0-9._:-]').describe('Intent id; a newer intent with the same id replaces the older.'),
    ts: EpochMillis.describe('When the intent was issued.'),
    target: IntentTarget,
    quality: z
      .strictObject({
        metric: z.enum(['psnr', 'ssim']).describe('Quality metric the target is stated in.'),
        min: z.number().min(-1).max(200).describe('Smallest acceptable value: dB for psnr, -1..1 for ssim.'),
      })
      .describe('Quality target.'),
    bandwidth: z
      .strictObject({
        maxSymbolsPerFrame: PositiveInt.max(2 ** 24).optional().describe('Most complex channel symbols one frame may use.'),
        maxBandwidthRatio: z.number().positive().max(1).optional().describe('Largest bandwidth ratio k/n (channel symbols per source value).'),
        maxBytesPerSecond: PositiveInt.optional().describe('Most link bytes per second, headers included.'),
      })
      .refine((b) => Object.keys(b).length > 0, 'name at least one bandwidth limit')
      .meta({ description: 'Bandwidth budget: one or more limits, all of which hold.', minProperties: 1 }),
    priority: z.enum(['quality', 'bandwidth']).default('bandwidth').describe('Which gives way when both cannot be met; default bandwidth (the budget holds).'),
    expires: EpochMillis.optional().describe('When the intent lapses and the device returns to its configured defaults.'),
  })
  .meta({ title: 'Intent', description: 'Quality target and bandwidth budget for a device or the fleet; args of the intent.set request.' });
export type IntentMessage = z.infer<typeof IntentMessage>;
