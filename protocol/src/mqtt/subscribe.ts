/**
 * A SUBSCRIBE that survives the connection dropping while it is pending. mqtt.js rejects such a
 * subscription with "Connection closed" although it will reconnect; the subscription is sent again after
 * the reconnect, at most SUBSCRIBE_RECONNECT_TRIES times, then AkbError('SUBSCRIBE_FAILED'). Closing the
 * client ends the wait with AkbError('CLOSED').
 */
import type { ISubscriptionGrant, ISubscriptionMap, MqttClient } from 'mqtt';
import { AkbError } from '../errors.js';
import type { QoS } from './transport.js';
import { errorText } from './util.js';

/** How many times a subscription lost to a dropped connection is sent again after reconnecting. */
export const SUBSCRIBE_RECONNECT_TRIES = 5;

/** mqtt.js's rejection of a packet that was pending when the connection closed. */
function isConnectionLoss(e: unknown): boolean {
  const text = e instanceof Error ? e.message : String(e);
  return /connection closed|client disconnecting|client disconnected/i.test(text);
}

/** Resolves once `raw` is connected again; rejects with AkbError('CLOSED') when it ends first. */
function reconnected(raw: MqttClient): Promise<void> {
  if (raw.connected) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      raw.off('connect', onConnect);
      raw.off('end', onEnd);
    };
    const onConnect = (): void => {
      done();
      resolve();
    };
    const onEnd = (): void => {
      done();
      reject(new AkbError('CLOSED', 'the MQTT client closed while waiting to reconnect'));
    };
    raw.on('connect', onConnect);
    raw.on('end', onEnd);
  });
}

/** Subscribes `filter` on `raw`, sending it again after each lost connection; `closing` says the caller closes. */
export async function subscribeThroughDrops(raw: MqttClient, filter: string, qos: QoS, closing: () => boolean): Promise<ISubscriptionGrant[]> {
  for (let tries = 1; ; tries++) {
    try {
      // After a loss mqtt.js counts the topic as subscribed and would answer a plain call at once with
      // nothing granted: `resubscribe` makes it send a SUBSCRIBE whose SUBACK this waits for.
      return await (tries === 1 ? raw.subscribeAsync(filter, { qos }) : raw.subscribeAsync({ [filter]: { qos }, resubscribe: true } as ISubscriptionMap));
    } catch (e) {
      if (closing()) throw new AkbError('CLOSED', `the MQTT client closed before the subscription to ${filter} was granted`, { cause: e });
      if (!isConnectionLoss(e)) throw new AkbError('SUBSCRIBE_FAILED', `cannot subscribe to ${filter}: ${errorText(e)}`, { cause: e });
      if (tries >= SUBSCRIBE_RECONNECT_TRIES) {
        throw new AkbError('SUBSCRIBE_FAILED', `cannot subscribe to ${filter}: the connection was lost ${tries} times while it was pending`, {
          hint: 'check that the broker stays up and accepts this client (a second client with the same id takes its connection over)',
          cause: e,
        });
      }
      await reconnected(raw);
    }
  }
}
