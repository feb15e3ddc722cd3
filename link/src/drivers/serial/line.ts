/** A serial port (node-serialport) as a byte line that says when it closes under us (a port unplugged). */
// Loaded when a port is opened, not with the package: a bundle for another architecture carries only that
// architecture's serialport addon, and the edge must start (and run its other links) without it.
import type { SerialPort } from 'serialport';
import { AkbError } from '@akb/protocol';

export interface ModemLine {
  write(bytes: Uint8Array | string): Promise<void>;
  onData(listener: (bytes: Uint8Array) => void): void;
  onClose(listener: (reason: string) => void): void;
  readonly open: boolean;
  close(): Promise<void>;
}

/** Opens `path` at `baudRate` 8N1; throws AkbError('PORT_OPEN') naming the path when it cannot. */
export async function openModemLine(path: string, baudRate: number): Promise<ModemLine> {
  const { SerialPort } = await import('serialport');
  const port = await new Promise<SerialPort>((resolve, reject) => {
    const p: SerialPort = new SerialPort({ path, baudRate }, (e) =>
      e ? reject(new AkbError('PORT_OPEN', `cannot open the modem's serial port ${path}: ${e.message}`, { hint: 'check the path, that the modem is plugged in, and your access to it (group dialout)' })) : resolve(p),
    );
  });
  let closedReason: string | undefined;
  const closers: ((reason: string) => void)[] = [];
  port.on('error', () => undefined); // a failing port also closes: reported there
  port.on('close', (e: unknown) => {
    closedReason = e instanceof Error ? `the serial port ${path} went away (${e.message})` : `the serial port ${path} closed`;
    for (const c of closers.splice(0)) c(closedReason);
  });
  return {
    write: (bytes) =>
      new Promise<void>((resolve, reject) => {
        if (!port.isOpen) return reject(new AkbError('LINE_CLOSED', closedReason ?? `the serial port ${path} is closed`));
        port.write(typeof bytes === 'string' ? bytes : Buffer.from(bytes), (e) => (e ? reject(new AkbError('LINE_CLOSED', `writing to ${path} failed: ${e.message}`)) : resolve()));
      }),
    onData: (listener) => void port.on('data', (b: Buffer) => listener(b)),
    onClose: (listener) => void (closedReason !== undefined ? listener(closedReason) : closers.push(listener)),
    get open() {
      return port.isOpen && closedReason === undefined;
    },
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}
