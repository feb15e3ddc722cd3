/**
 * bench/flash: delivering bundles, each part against a baseline measured in the same run.
 * - serial.ts: the framed protocol's throughput through the pacing relay at 115200 and 921600 baud, as a
 *   share of the line rate (8N1);
 * - bootstrap.ts: the shell push through a real login at 115200 baud, as a share of the line rate;
 * - ota.ts: OTA through Mosquitto for 1 and 50 devices against raw QoS 1 publishes of the same bytes, and
 *   the time for a wave to halt after the failure threshold is passed.
 */
import { runFlashBootstrapBench } from './bootstrap.js';
import { runFlashOtaBench } from './ota.js';
import { runFlashSerialBench } from './serial.js';

export async function runFlashBench(): Promise<object> {
  return { serial: await runFlashSerialBench(), bootstrap: await runFlashBootstrapBench(), ota: await runFlashOtaBench() };
}
