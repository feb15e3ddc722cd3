/**
 * bench/flash/serial: effective throughput of serial flashing's framed protocol (toolkit/flash/src/serial)
 * as a share of the line rate, at 115200 and 921600 baud. The line is test/support/line-relay.ts: two
 * socat pty pairs and a relay that paces each direction to baud/10 bytes a second (8N1: 10 bits a byte),
 * so the share is honest: bundle bytes acknowledged per second of transfer (first DATA to last ACK) over
 * baud/10. The payload is random bytes (incompressible, as a gzip bundle is), sent by sendBundle to a
 * SerialReceiver writing its partial file in a temp folder; its install step is a pass (this measures the
 * line, not the health check). The ceiling with 1024-byte frames is 1024/(1024+18+5+1) = 0.977 (header,
 * CRC, COBS, delimiter). Also a run at 921600 with byte errors at 1e-4 (retransmissions counted).
 * Run alone: `npx tsx bench/flash/serial.ts`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTtyLine, sendBundle, SerialReceiver } from '../../toolkit/flash/src/index.js';
import { LineRelay } from '../../test/support/line-relay.js';

async function once(baud: number, bytes: number, byteErrorRate: number): Promise<Record<string, number | string>> {
  const dir = await mkdtemp(join(tmpdir(), 'akb-bench-serial-'));
  const relay = await LineRelay.start({ baud, dir, faults: { byteErrorRate } });
  const board = await openTtyLine(relay.boardPath, baud);
  const host = await openTtyLine(relay.hostPath, baud);
  const receiver = new SerialReceiver(board, { dir: join(dir, 'data'), install: () => Promise.resolve({ status: 'committed', message: 'not installed (bench)' }) });
  try {
    receiver.start();
    const file = join(dir, 'payload.bin');
    await writeFile(file, randomBytes(bytes));
    const report = await sendBundle(host, file, { baud });
    const bytesPerSecond = report.size / (report.transferMs / 1000);
    return {
      baud,
      bytes,
      byteErrorRate,
      status: report.status,
      transferS: Number((report.transferMs / 1000).toFixed(2)),
      share: Number((bytesPerSecond / (baud / 10)).toFixed(3)),
      frames: report.frames,
      retransmissions: report.retransmissions,
      naks: report.naks,
      timeouts: report.timeouts,
      corruptedBytes: relay.counts.corrupted,
    };
  } finally {
    await receiver.close();
    await host.close();
    await board.close();
    await relay.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runFlashSerialBench(): Promise<object> {
  return {
    lineCoding: '8N1, 10 bits a byte',
    runs: [await once(115_200, 128 * 1024, 0), await once(921_600, 1024 * 1024, 0), await once(921_600, 1024 * 1024, 1e-4)],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runFlashSerialBench(), null, 2));
}
