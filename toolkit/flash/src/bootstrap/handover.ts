/**
 * The hand-over from the shell to the framed protocol: the agent the bootstrap installed is started in
 * the foreground of the login shell as `akb-agent receive --port "$(tty)"` (the console's own tty: the
 * shell then reads nothing, so every byte on the line is the agent's), its log in `<boardDir>/receive.log`
 * (not on the line, where it would sit between frames), trusting the keys the bootstrap sent. The
 * tty is made raw before the agent starts (frames sent while node starts would otherwise meet a
 * terminal that turns a 0x03 byte into SIGINT for the agent) and restored after. The sender
 * (`sendBundle`, which repeats its HELLO while the agent starts) takes the line from there.
 */
import { randomBytes } from 'node:crypto';
import { AkbError } from '@akb/protocol';
import { shellWord, type BoardShell } from './shell.js';

export interface ReceiverStart {
  boardDir: string;
  baud: number;
  /** The install root on the board (`--root`; default the profile's). */
  root?: string;
  /** The device id for the health check and status (default: the board's hostname). */
  deviceId?: string;
  /** The broker the health check's probe uses on the board (`--broker`; default the agent's). */
  broker?: string;
  /** The bootstrap sent trusted keys to `<boardDir>/keys` (else the agent's default trust folder). */
  keysSent: boolean;
}

/** Starts `akb-agent receive` on the board's console; resolves once the shell has started it. */
export async function startFramedReceiver(shell: BoardShell, o: ReceiverStart): Promise<void> {
  const d = o.boardDir;
  const args = [
    `--port "$(tty)"`,
    `--baud ${Math.trunc(o.baud)}`,
    `--device ${o.deviceId === undefined ? '"$(hostname)"' : shellWord(o.deviceId)}`,
    ...(o.keysSent ? [`--trust ${shellWord(`${d}/keys`)}`] : []),
    ...(o.root === undefined ? [] : [`--root ${shellWord(o.root)}`]),
    ...(o.broker === undefined ? [] : [`--broker ${shellWord(o.broker)}`]),
  ];
  const id = randomBytes(4).toString('hex');
  shell.console.clear();
  await shell.console.write(
    `old=$(stty -g); stty raw -echo -ixon; printf '%s%s\\n' '@@s${id}' '@@'; ${shellWord(`${d}/bin/akb-agent`)} receive ${args.join(' ')} > ${shellWord(`${d}/receive.log`)} 2>&1; st=$?; stty "$old"; printf '%s%s %s\\n' '@@x${id}' '@@' "$st"\n`,
  );
  if (!(await shell.console.waitFor(new RegExp(`@@s${id}@@`, 'u'), shell.timeoutMs))) {
    throw new AkbError('CONSOLE_SILENT', `the board's shell did not start the agent's receiver (last heard: ${shell.console.tail()})`, {
      hint: 'check the line and run akb flash --bootstrap again',
    });
  }
}
