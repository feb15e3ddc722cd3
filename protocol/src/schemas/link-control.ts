/**
 * Channel control (protocol 1.2): a tool asks a channel emulator (or a gateway that emulates) to change
 * the channel while it runs, so a sweep needs no restart. Requests go on `akb/v1/link/ctl/req` and are
 * answered on `akb/v1/link/ctl/res/{from}` (the reply-topic table). Operations:
 *
 * - `channel.set` with `channel-set` args: from now on, the SNR of one device's channel (or, without
 *   `device`, of every device's, including devices not seen yet) is `snrDb`, replacing its SNR trace;
 *   fading and loss models stay as they are. Data: `{"devices": [ids changed], "all": boolean, "snrDb"}`.
 * - `channel.get`, args `{"device"?: id}`: data `{"default": {"snrDb": number or null}, "devices":
 *   [{"device", "snrDb": number or null, "pinned": boolean}]}` (at most 1000 devices), where `snrDb` is
 *   the SNR the channel applies now (null before its first fragment when it follows a trace) and `pinned`
 *   says a `channel.set` fixed it.
 */
import { z } from 'zod';
import { DeviceId } from './common.js';

export const CHANNEL_SET_OP = 'channel.set';
export const CHANNEL_GET_OP = 'channel.get';

/** The SNRs a `channel.set` may ask for, dB. */
export const CHANNEL_SNR_RANGE = { min: -50, max: 60 } as const;

export const ChannelSetArgs = z
  .strictObject({
    device: DeviceId.optional().describe('The device whose channel changes; absent: every device, and the default for new ones.'),
    snrDb: z.number().min(CHANNEL_SNR_RANGE.min).max(CHANNEL_SNR_RANGE.max).describe('Channel SNR from now on, dB (-50 to 60).'),
  })
  .meta({ title: 'Channel set', description: 'Args of channel.set on akb/v1/link/ctl/req (protocol 1.2).' });
export type ChannelSetArgs = z.infer<typeof ChannelSetArgs>;

export const ChannelGetArgs = z
  .strictObject({ device: DeviceId.optional().describe('Only this device; absent: every device.') })
  .describe('Args of channel.get on akb/v1/link/ctl/req.');
export type ChannelGetArgs = z.infer<typeof ChannelGetArgs>;
