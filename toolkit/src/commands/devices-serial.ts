/**
 * A serial port as the byte line devices' ShellProbe needs, opened with node-serialport (imported lazily:
 * its native binding loads only when a port is opened). Opening is bounded in time, and a port that
 * cannot be opened is one AkbError naming it.
 */
import { AkbError } from '@akb/protocol';
import type { ByteLine } from '@akb/devices';

export interface OpenedLine {
  readonly line: ByteLine;
  close(): Promise<void>;
}

export async function openSerialLine(path: string, baudRate: number): Promise<OpenedLine> {
  if (!Number.isInteger(baudRate) || baudRate <= 0 || baudRate > 16_000_000) {
    throw new AkbError('BAD_OPTION', `--baud must be a positive whole number of bits per second, got ${String(baudRate)}`, { exitCode: 2 });
  }
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((error) =>
      error
        ? reject(new AkbError('PORT_OPEN', `cannot open the serial port ${path}: ${error.message}`, { hint: 'akb devices ports lists the ports; check the path and your access to it (group dialout)' }))
        : resolve(),
    ),
  );
  port.on('error', () => undefined); // errors after opening surface as a silent console in the probe
  return {
    line: {
      write: (bytes) => new Promise<void>((resolve, reject) => port.write(Buffer.from(bytes), (error) => (error ? reject(error) : resolve()))),
      onData: (listener) => {
        port.on('data', listener);
        return () => port.off('data', listener);
      },
    },
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  };
}
