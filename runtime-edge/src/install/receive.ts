/**
 * `akb-agent receive --port <tty> [--baud N]`: the board's end of serial flashing. Opens the tty raw (stty,
 * no native addon), runs @akb/flash's SerialReceiver with the partial file under `<data>/serial/`
 * (default `<root>/incoming`), and installs the received bundle exactly as `akb-agent install` does
 * (run.ts: boot recovery, verify, slots, the slot's own probe as health check, rollback), each phase
 * sent back to the sender as BUSY. Waits for one bundle, answers repeated DONEs for 3 s, then returns the
 * outcome (the CLI exits 0 committed, 3 refused, 4 rolled back or failed).
 */
import { join } from 'node:path';
import { openTtyLine, SerialReceiver, type ReceiveInstallOutcome } from '@akb/flash';
import { installBundle, type AgentRunOptions } from './run.js';

export interface ReceiveRunOptions extends Omit<AgentRunOptions, 'out'> {
  port: string;
  baud: number;
  /** Where the partial transfer lives (default `<root>/incoming`). */
  dataDir?: string;
  out: (line: string) => void;
  /** How long to keep answering after the result, ms (default 3000). */
  lingerMs?: number;
}

export async function receiveOverSerial(o: ReceiveRunOptions): Promise<ReceiveInstallOutcome> {
  const line = await openTtyLine(o.port, o.baud);
  const receiver = new SerialReceiver(line, {
    dir: o.dataDir ?? join(o.root, 'incoming'),
    log: o.out,
    install: async (file, { force, onPhase }) => {
      const result = await installBundle(file, {
        ...o,
        force,
        out: (l) => {
          o.out(l);
          onPhase(l);
        },
      });
      return { status: result.status, ...(result.code ? { code: result.code } : {}), message: result.message };
    },
  });
  o.out(`akb-agent: waiting for a bundle on ${o.port} at ${o.baud} baud`);
  receiver.start();
  try {
    const outcome = await receiver.firstResult;
    await new Promise((resolve) => setTimeout(resolve, o.lingerMs ?? 3000));
    return outcome;
  } finally {
    await receiver.close();
    await line.close();
  }
}
