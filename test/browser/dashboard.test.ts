/**
 * The web dashboard in a real browser (Debian's chromium, off the network) against a real broker: the
 * cloud service with its telemetry (ingest, memory store, alarm rules), a simulated device that connects (birth, then
 * telemetry through MQTT), an OTA job state published by a tool. The page shows the device, its chart
 * grows as samples arrive, the alarm the rules raise is highlighted, hostile text stays text, every
 * request stays on the dashboard's origin, and the latency hook fills; once on aedes, once on Mosquitto.
 * The screenshots are saved as test/.artifacts/dashboard-aedes.png and dashboard-mosquitto.png.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { topics, type TelemetryMessage } from '@akb/protocol';
import { connectDevice, connectMqtt, type AkbMqttClient } from '@akb/protocol/mqtt';
import { CloudService } from '../../runtime-cloud/src/control/service.js';
import { FleetHub } from '../../runtime-cloud/src/telemetry/hub.js';
import { MemoryTelemetryStore } from '../../runtime-cloud/src/telemetry/memory-store.js';
import { startDashboard, type Dashboard } from '../../runtime-cloud/src/dashboard/index.js';
import { thumbnail } from '../../runtime-cloud/src/dashboard/thumbnail.js';
import { CHROMIUM, describeBrokers, describeWithProgram, launchChromium, testBirth, uniqueId, type BrokerHandle } from '../support/index.js';
import { birth, imageEvent, job, telemetry } from '../cloud/dashboard-fixtures.js';

const ARTIFACTS = fileURLToPath(new URL('../.artifacts/', import.meta.url));

interface Hook {
  snapshots: number;
  latencies: number[];
  latenciesFromReceipt: number[];
  connected: boolean;
  selected: string | null;
  chartPoints(): number;
  chartRedraws(): number;
}

/** Reads the page's hook (window.__akbDashboard) through the DevTools protocol (the page's CSP forbids eval in it). */
const hook = <T>(page: Page, read: (h: Hook) => T): Promise<T> => page.evaluate<T>(`(${read.toString()})(window.__akbDashboard)`);
/** Waits until `test` holds of the hook (once the page has made it). */
const waitHook = async (page: Page, test: (h: Hook) => boolean): Promise<void> => {
  await expect.poll(async () => (await hook(page, (h) => h !== undefined)) && (await hook(page, test)), { timeout: 15_000 }).toBe(true);
};

describeWithProgram(CHROMIUM.name, CHROMIUM.debianPackage, 'dashboard in chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  describeBrokers('a live fleet', (kind) => {
    let broker: BrokerHandle;
    let service: CloudService;
    let tool: AkbMqttClient;
    let dash: Dashboard;
    const device = uniqueId('cam');
    let seq = 0;
    let cam: AkbMqttClient | undefined;

    const sample = (over: Partial<TelemetryMessage> = {}): Promise<void> =>
      cam!.publish(topics.telemetry(device), JSON.stringify(telemetry(device, seq++, { ts: Date.now(), ...over })), { qos: 1 });

    beforeAll(async () => {
      broker = await kind.start();
      service = await CloudService.start({
        brokerUrl: broker.url,
        clientId: uniqueId('cloud'),
        telemetry: { store: new MemoryTelemetryStore(), alarms: { thresholds: { psnrDb: 20 } } },
      });
      tool = await connectMqtt({ url: broker.url, clientId: uniqueId('tool') });
      dash = await startDashboard({ hub: service.hub, store: service.telemetry!.store, metrics: service.telemetry!.metrics, port: 0 });
    });
    afterAll(async () => {
      await dash?.close();
      await cam?.close({ force: true });
      await tool?.close({ force: true });
      await service?.stop();
      await broker?.close();
    });

    it('shows a device that connects, charts its telemetry live, highlights an alarm, keeps hostile text as text', async () => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const requests: string[] = [];
      const failed: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('requestfailed', (r) => failed.push(r.url()));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(dash.url);
      await waitHook(page, (h) => h.connected);
      expect(await page.locator('#fleet-empty').isVisible()).toBe(true);

      // The device connects: birth (retained status), then telemetry through the broker.
      cam = await connectDevice({ url: broker.url, deviceId: device, birth: testBirth(device) });
      for (let i = 0; i < 5; i++) await sample();
      const row = page.locator(`#fleet tr[data-device="${device}"]`);
      await row.waitFor();
      await expect.poll(() => row.locator('.col-status').innerText()).toBe('online');
      expect(await row.locator('.col-profile').innerText()).toBe('rpi-5');
      await expect.poll(() => hook(page, (h) => [h.selected, h.chartPoints() >= 5]), { timeout: 15_000 }).toEqual([device, true]);
      expect(await page.locator('#charts canvas').count()).toBe(5);

      // More samples: the selected device's chart gets more points, live.
      const before = await hook(page, (h) => h.chartPoints());
      for (let i = 0; i < 5; i++) await sample();
      await expect.poll(() => hook(page, (h) => h.chartPoints()), { timeout: 15_000 }).toBeGreaterThanOrEqual(before + 5);
      await expect.poll(() => row.locator('.col-snr').innerText()).toBe(telemetry(device, seq - 1).snrDb!.toFixed(1));

      // A poor reconstruction: the cloud's rule raises link-quality; the page highlights it.
      await sample({ quality: { psnr: 12.5 } });
      const alarmItem = page.locator('#alarms li.alarm', { hasText: device });
      await alarmItem.waitFor();
      expect(await alarmItem.innerText()).toContain('link-quality');
      expect(await alarmItem.innerText()).toMatch(/PSNR 12\.5 dB below 20(\.0)? dB/);
      await expect.poll(() => row.getAttribute('class')).toContain('alarm');
      expect(await page.locator('#alarms-section').isVisible()).toBe(true);

      // Thrown at it: markup in an OTA job's message (from the broker) and in an image name.
      const hostile = '<img src=x onerror="window.pwned=1">';
      await tool.publish(topics.otaJob('roll-1'), JSON.stringify(job('roll-1', Date.now(), `halted ${hostile}`)), { qos: 1, retain: true });
      const jobRow = page.locator('#jobs tr[data-job="roll-1"]');
      await jobRow.waitFor();
      expect(await jobRow.innerText()).toContain(`halted ${hostile}`);
      const gradient = new Float32Array(3 * 96 * 64).map((_, i) => (i % 96) / 95);
      const png = await thumbnail({ width: 96, height: 64, data: gradient });
      service.hub.publish({ kind: 'image', device, receivedAt: Date.now(), image: imageEvent(device, png, `${hostile}.png`) });
      const figure = page.locator(`#images figure.thumb[data-device="${device}"]`);
      await figure.waitFor();
      expect(await figure.locator('.image-name').innerText()).toBe(`${hostile}.png`);
      await expect.poll(() => figure.locator('img').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(96);
      expect(await page.locator('img[src="x"]').count()).toBe(0);
      expect(await page.evaluate('window.pwned')).toBeUndefined();

      // The latency hook: one value per telemetry sample drawn, each a finite number of milliseconds.
      await expect.poll(() => hook(page, (h) => h.latencies.length), { timeout: 15_000 }).toBeGreaterThanOrEqual(seq);
      const latencies = await hook(page, (h) => h.latencies);
      expect(latencies.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
      expect((await hook(page, (h) => h.latenciesFromReceipt)).length).toBe(latencies.length);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: `${ARTIFACTS}dashboard-${kind.name}.png`, fullPage: true });

      // The device shuts down: the death shows.
      await cam.close();
      cam = undefined;
      await expect.poll(() => row.locator('.col-status').innerText()).toBe('offline');

      // Nothing left the dashboard's origin, nothing failed, no script error.
      expect(requests.filter((u) => !u.startsWith(dash.url) && !u.startsWith('data:'))).toEqual([]);
      expect(failed).toEqual([]);
      expect(errors).toEqual([]);
      await page.close();
    });

  });

  it('says when akb-cloud is gone and takes a new snapshot when it is back', async () => {
    const hub = new FleetHub();
    hub.publish({ kind: 'status', device: 'cam-back', receivedAt: Date.now(), message: birth('cam-back') });
    let own = await startDashboard({ hub, port: 0 });
    const port = own.port;
    const page = await browser.newPage();
    try {
      await page.goto(own.url);
      await waitHook(page, (h) => h.connected && h.snapshots === 1);
      await own.close();
      await expect.poll(() => page.locator('#connection').getAttribute('data-state')).toBe('offline');
      expect(await page.locator('#connection').innerText()).toMatch(/^disconnected: retrying in \d+ s$/);
      // Meanwhile the fleet changed: a second device. The page reconnects (1 s, then 2 s...) and shows it.
      hub.publish({ kind: 'status', device: 'cam-new', receivedAt: Date.now(), message: birth('cam-new') });
      own = await startDashboard({ hub, port });
      await waitHook(page, (h) => h.connected && h.snapshots === 2);
      await page.locator('#fleet tr[data-device="cam-new"]').waitFor();
      expect(await page.locator('#connection').innerText()).toBe('live');
    } finally {
      await page.close();
      await own.close();
    }
  });
});
