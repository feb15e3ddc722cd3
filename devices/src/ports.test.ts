/**
 * Serial port listing from a sysfs tree built like the real one (class links into /sys/devices, a
 * `device` link per tty, the USB device two levels above a ttyUSB and one above a ttyACM's interface).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listSerialPorts, loadUsbSerialAdapters } from './ports.js';

const temps: string[] = [];
afterEach(async () => {
  await Promise.all(temps.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function link(target: string, at: string): Promise<void> {
  await mkdir(dirname(at), { recursive: true });
  await symlink(relative(dirname(at), target), at);
}

/** A tty under `parent` (the folder its `device` link points at), linked from class/tty. */
async function tty(sys: string, parent: string, name: string, ttyDir = join(parent, 'tty', name)): Promise<void> {
  await mkdir(ttyDir, { recursive: true });
  await link(parent, join(ttyDir, 'device'));
  await link(ttyDir, join(sys, 'class', 'tty', name));
}

async function usbDevice(dir: string, attributes: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, value] of Object.entries(attributes)) await writeFile(join(dir, name), `${value}\n`);
}

async function sysfsTree(): Promise<string> {
  const sys = await mkdtemp(join(tmpdir(), 'akb-sysfs-'));
  temps.push(sys);
  const hub = join(sys, 'devices', 'pci0000:00', '0000:00:14.0', 'usb1');
  // An FTDI cable: ttyUSB0 under its usb-serial port folder, under the interface, under the device.
  const ftdi = join(hub, '1-2');
  await usbDevice(ftdi, { idVendor: '0403', idProduct: '6001', manufacturer: 'FTDI', product: 'FT232R USB UART', serial: 'A10K1234' });
  const ftdiPort = join(ftdi, '1-2:1.0', 'ttyUSB0');
  await tty(sys, ftdiPort, 'ttyUSB0', join(ftdiPort, 'tty', 'ttyUSB0'));
  // A Jetson in USB device mode: ttyACM0 under the interface.
  const jetson = join(hub, '1-3');
  await usbDevice(jetson, { idVendor: '0955', idProduct: '7020', manufacturer: 'NVIDIA', product: 'Linux for Tegra', serial: '1421223060532' });
  await tty(sys, join(jetson, '1-3:1.2'), 'ttyACM0');
  // Thrown at it: an unknown adapter whose product string carries terminal escapes and is overlong.
  const odd = join(hub, '1-4');
  await usbDevice(odd, { idVendor: '1234', idProduct: 'ABCD', product: `\u001b[31mEvil${'x'.repeat(1000)}` });
  await tty(sys, join(odd, '1-4:1.0', 'ttyUSB1'), 'ttyUSB1');
  // A built-in UART, the legacy 8250 placeholders, and a virtual terminal without a device.
  await tty(sys, join(sys, 'devices', 'platform', '107d001000.serial'), 'ttyAMA10');
  await tty(sys, join(sys, 'devices', 'platform', 'serial8250'), 'ttyS0');
  await tty(sys, join(sys, 'devices', 'platform', 'serial8250'), 'ttyS1');
  await mkdir(join(sys, 'devices', 'virtual', 'tty', 'tty0'), { recursive: true });
  await link(join(sys, 'devices', 'virtual', 'tty', 'tty0'), join(sys, 'class', 'tty', 'tty0'));
  return sys;
}

describe('listSerialPorts', () => {
  it('lists USB and built-in ports from sysfs and names the known adapters', async () => {
    const ports = await listSerialPorts({ sysfs: await sysfsTree() });
    expect(ports.map((p) => p.path)).toEqual(['/dev/ttyACM0', '/dev/ttyAMA10', '/dev/ttyUSB0', '/dev/ttyUSB1']);
    const [acm, ama, usb0, usb1] = ports;
    expect(acm).toMatchObject({ bus: 'usb', vendorId: '0955', productId: '7020', serialNumber: '1421223060532' });
    expect(acm?.adapter?.name).toMatch(/L4T USB device mode/);
    expect(ama).toEqual({ path: '/dev/ttyAMA10', bus: 'builtin' });
    expect(usb0).toMatchObject({ bus: 'usb', vendorId: '0403', productId: '6001', manufacturer: 'FTDI', product: 'FT232R USB UART', serialNumber: 'A10K1234' });
    expect(usb0?.adapter?.name).toBe('FTDI FT232R');
    expect(usb1).toMatchObject({ vendorId: '1234', productId: 'abcd' });
    expect(usb1?.adapter).toBeUndefined();
    // The escape character is dropped and the attribute is cut at its bound.
    expect(usb1?.product?.startsWith('[31mEvil')).toBe(true);
    expect(usb1?.product?.length).toBeLessThanOrEqual(256);
  });

  it('knows the adapters the issue names, each id once', async () => {
    const adapters = await loadUsbSerialAdapters();
    const ids = adapters.map((a) => `${a.vendorId}:${a.productId}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ['0403:6001', '0403:6010', '0403:6014', '0403:6015', '10c4:ea60', '1a86:7523', '1a86:55d3', '1a86:55d4', '067b:2303', '0955:7020', '2e8a:000c']) {
      expect(ids).toContain(id);
    }
  });

  it('reads this machine without spawning anything, and says so in one line without sysfs', async () => {
    expect(Array.isArray(await listSerialPorts())).toBe(true);
    // Thrown at it: a sysfs root that does not exist.
    await expect(listSerialPorts({ sysfs: join(tmpdir(), 'no-such-sysfs') })).rejects.toMatchObject({ code: 'NO_SYSFS' });
  });
});
