/**
 * Serial ports of this machine, read from sysfs, with USB serial adapters (and boards' USB serial ports)
 * named by vendor:product id from the data file ports/usb-serial-adapters.json.
 *
 * Why not node-serialport's `SerialPort.list()`: on Linux it spawns `udevadm`, and where udevadm is absent
 * (a container, a minimal image, this project's build machine) the process dies of an uncaught
 * `spawn udevadm ENOENT`, which no caller can catch. sysfs has everything the list needs: each
 * /sys/class/tty/<name> with a `device` link is a real port, and walking up from that device reaches the
 * USB device with its idVendor, idProduct, manufacturer, product and serial. The sysfs root is a
 * parameter, so tests run on a tree built like the real one, symlinks included.
 */
import { readdir, readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AkbError } from '@akb/protocol';
import { packageRoot } from './catalogue.js';
import { readHead } from './detect.js';

/** A known adapter, from the data file. */
export interface UsbSerialAdapter {
  readonly vendorId: string;
  readonly productId: string;
  readonly name: string;
  readonly driver: string;
  readonly note?: string;
}

/** One serial port. */
export interface SerialPortInfo {
  /** The device node, e.g. /dev/ttyUSB0. */
  readonly path: string;
  /** `usb` for a USB serial port, `builtin` for a UART of the machine (platform, PCI, PNP). */
  readonly bus: 'usb' | 'builtin';
  readonly vendorId?: string;
  readonly productId?: string;
  readonly manufacturer?: string;
  readonly product?: string;
  readonly serialNumber?: string;
  /** The known adapter with this vendor:product id, if any. */
  readonly adapter?: UsbSerialAdapter;
}

export const ADAPTERS_FILE = join(packageRoot, 'ports', 'usb-serial-adapters.json');

/** Levels walked up from a tty's device to its USB device (port → interface → device is 2). */
const MAX_WALK = 6;
/** The most ttys listed: sysfs of a big server has a few hundred. */
const MAX_TTYS = 4096;
const MAX_ATTRIBUTE = 256;

/** The adapters of the data file. */
export async function loadUsbSerialAdapters(file: string = ADAPTERS_FILE): Promise<UsbSerialAdapter[]> {
  try {
    const json = JSON.parse(await readFile(file, 'utf8')) as { adapters?: unknown };
    if (!Array.isArray(json.adapters)) throw new Error('no "adapters" array');
    return json.adapters.filter(
      (a): a is UsbSerialAdapter =>
        typeof a === 'object' && a !== null && typeof (a as UsbSerialAdapter).vendorId === 'string' && typeof (a as UsbSerialAdapter).productId === 'string',
    );
  } catch (cause) {
    throw new AkbError('ADAPTERS_INVALID', `cannot read the USB serial adapter list ${file}`, { cause, hint: 'reinstall akb, or fix the file' });
  }
}

/** A sysfs attribute: its first bytes, trimmed, printable only; undefined when absent. */
async function attribute(dir: string, name: string): Promise<string | undefined> {
  try {
    const text = (await readHead(join(dir, name), MAX_ATTRIBUTE)).toString('utf8').trim();
    const clean = [...text].filter((c) => c >= ' ' && c !== '\u007f').join('');
    return clean === '' ? undefined : clean;
  } catch {
    return undefined;
  }
}

/** The USB device folder above `device` (the first ancestor with idVendor), or undefined. */
async function usbDeviceOf(device: string): Promise<string | undefined> {
  let dir = device;
  for (let i = 0; i < MAX_WALK && dir !== dirname(dir); i++, dir = dirname(dir)) {
    if ((await attribute(dir, 'idVendor')) !== undefined) return dir;
  }
  return undefined;
}

export interface ListPortsOptions {
  /** The sysfs root (default /sys). */
  sysfs?: string;
  /** Where device nodes are (default /dev). */
  dev?: string;
  adapters?: readonly UsbSerialAdapter[];
}

/**
 * The serial ports sysfs knows, sorted by path. The placeholder ports of the legacy 8250 driver (ttyS*
 * whose device is the `serial8250` platform device: there on every PC, wired to nothing) are left out.
 */
export async function listSerialPorts(options: ListPortsOptions = {}): Promise<SerialPortInfo[]> {
  const sysfs = options.sysfs ?? '/sys';
  const dev = options.dev ?? '/dev';
  const adapters = options.adapters ?? (await loadUsbSerialAdapters());
  const classDir = join(sysfs, 'class', 'tty');
  let names: string[];
  try {
    names = (await readdir(classDir)).slice(0, MAX_TTYS);
  } catch (cause) {
    throw new AkbError('NO_SYSFS', `cannot read ${classDir}`, { cause, hint: 'serial ports are listed from Linux sysfs; is /sys mounted?' });
  }
  const ports: SerialPortInfo[] = [];
  for (const name of names.sort()) {
    let device: string;
    try {
      device = await realpath(join(classDir, name, 'device'));
    } catch {
      continue; // a virtual terminal or pty: no device behind it
    }
    if (basename(device) === 'serial8250') continue;
    const usb = await usbDeviceOf(device);
    if (usb === undefined) {
      ports.push({ path: join(dev, name), bus: 'builtin' });
      continue;
    }
    const vendorId = (await attribute(usb, 'idVendor'))?.toLowerCase();
    const productId = (await attribute(usb, 'idProduct'))?.toLowerCase();
    const adapter = adapters.find((a) => a.vendorId === vendorId && a.productId === productId);
    const info: Record<string, unknown> = { path: join(dev, name), bus: 'usb', vendorId, productId };
    for (const [key, file] of [['manufacturer', 'manufacturer'], ['product', 'product'], ['serialNumber', 'serial']] as const) {
      const value = await attribute(usb, file);
      if (value !== undefined) info[key] = value;
    }
    if (adapter !== undefined) info.adapter = adapter;
    ports.push(info as unknown as SerialPortInfo);
  }
  return ports;
}
