/**
 * link/gnuradio/sdr_channel.py as a ChannelTarget: started under Debian's /usr/bin/python3 (a pyenv or venv
 * python3 earlier on PATH does not see the gnuradio module) between two UDP ports, its noise voltage set
 * at runtime through its stdin (`noise <voltage>`, answered `ok noise <voltage>`), so channel.set reaches
 * GNU Radio's channel_model and the flowgraph is never restarted per point. Voltage 10^(−SNR/20): the
 * noise variance per complex sample of unit-power samples, the emulator's convention.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AkbError } from '@akb/protocol';
import type { ChannelTarget } from '@akb/link';

export const FLOWGRAPH = fileURLToPath(new URL('../../../../../link/gnuradio/sdr_channel.py', import.meta.url));
/** How long the flowgraph may take to print "ready", and to answer a command, ms. */
const START_MS = 30_000;
const ANSWER_MS = 5000;
/** Output kept for error messages, characters. */
const MAX_OUTPUT = 16_384;

export interface FlowgraphOptions {
  inPort: number;
  outPort: number;
  snrDb: number;
  /** Cycles per sample. */
  freqOffset: number;
  /** Multipath taps [re, im] (default one tap 1). */
  taps?: readonly (readonly [number, number])[];
  seed: number;
  device?: string;
}

export function noiseVoltage(snrDb: number): number {
  return 10 ** (-snrDb / 20);
}

/** Python's complex() syntax: "1+0j", "0.3-0.2j". */
function complexText([re, im]: readonly [number, number]): string {
  return `${re}${im < 0 || Object.is(im, -0) ? '-' : '+'}${Math.abs(im)}j`;
}

export class GnuRadioChannel implements ChannelTarget {
  private output = '';
  private lines: string[] = [];
  /** The last line so far, not yet ended by a newline. */
  private partial = '';
  private wake: (() => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private snr: number;
  private spawnError: Error | undefined;

  private constructor(private readonly child: ChildProcess, private readonly o: FlowgraphOptions) {
    this.snr = o.snrDb;
  }

  static async start(o: FlowgraphOptions): Promise<GnuRadioChannel> {
    if (!existsSync(FLOWGRAPH)) throw new AkbError('NO_FLOWGRAPH', `${FLOWGRAPH} is missing`, { hint: 'run from a checkout of akb (link/gnuradio/)' });
    const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
    const args = [
      FLOWGRAPH, '--in-port', String(o.inPort), '--out-port', String(o.outPort), '--noise-voltage', String(noiseVoltage(o.snrDb)),
      '--freq-offset', String(o.freqOffset), '--seed', String(o.seed % 2 ** 31), '--taps', (o.taps ?? [[1, 0]]).map(complexText).join(','),
    ];
    const child = spawn(python, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const channel = new GnuRadioChannel(child, o);
    child.stdout.setEncoding('utf8').on('data', (d: string) => channel.data(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => channel.keep(d));
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => {
      channel.spawnError = e;
      channel.wake?.();
    });
    try {
      await channel.expect((l) => l === 'ready', START_MS, 'print "ready"');
    } catch (e) {
      await channel.stop();
      throw e;
    }
    return channel;
  }

  get device(): string | undefined {
    return this.o.device;
  }

  setSnr(snrDb: number, device?: string): Promise<string[]> {
    const run = this.queue.then(async () => {
      const v = noiseVoltage(snrDb);
      this.child.stdin!.write(`noise ${v}\n`);
      const answer = await this.expect((l) => l.startsWith('ok noise') || l.startsWith('error'), ANSWER_MS, `answer "noise ${v}"`);
      if (answer.startsWith('error')) throw new AkbError('FLOWGRAPH_REFUSED', `the flowgraph refused "noise ${v}": ${answer}`);
      this.snr = snrDb;
      const d = device ?? this.o.device;
      return d === undefined ? [] : [d];
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  snrState(): { defaultSnrDb: number | undefined; devices: { device: string; snrDb: number | undefined; pinned: boolean }[] } {
    return { defaultSnrDb: this.snr, devices: this.o.device === undefined ? [] : [{ device: this.o.device, snrDb: this.snr, pinned: true }] };
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (this.spawnError || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private keep(d: string): void {
    this.output = (this.output + d).slice(-MAX_OUTPUT);
  }

  private data(d: string): void {
    this.keep(d);
    const parts = (this.partial + d).split('\n');
    this.partial = parts.pop()!.slice(-MAX_OUTPUT);
    this.lines.push(...parts.map((l) => l.trim()).filter((l) => l !== ''));
    if (this.lines.length > 256) this.lines = this.lines.slice(-256);
    this.wake?.();
  }

  /** The first line (received so far or later) that `match` takes; rejects when the process exits or time runs out. */
  private expect(match: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = (e: Error | undefined, line?: string): void => {
        clearTimeout(timer);
        this.child.off('exit', onExit);
        this.wake = undefined;
        if (e) reject(e);
        else resolve(line!);
      };
      const check = (): void => {
        if (this.spawnError) return done(new AkbError('FLOWGRAPH_EXITED', `cannot run ${FLOWGRAPH}: ${this.spawnError.message}`, { hint: 'install python3 and gnuradio (apt-get install --no-install-recommends gnuradio)' }));
        const i = this.lines.findIndex(match);
        if (i < 0) return;
        const [line] = this.lines.splice(0, i + 1).slice(-1);
        done(undefined, line);
      };
      const onExit = (code: number | null): void =>
        done(new AkbError('FLOWGRAPH_EXITED', `the GNU Radio flowgraph exited (${code}) before it did ${what}: ${this.output.slice(-2000)}`, { hint: 'apt-get install --no-install-recommends gnuradio; see link/gnuradio/README.md' }));
      const timer = setTimeout(() => done(new AkbError('FLOWGRAPH_TIMEOUT', `the GNU Radio flowgraph did not ${what} within ${timeoutMs} ms: ${this.output.slice(-2000)}`)), timeoutMs);
      this.child.once('exit', onExit);
      if (this.child.exitCode !== null) return onExit(this.child.exitCode);
      this.wake = check;
      check();
    });
  }
}
