/**
 * `akb telemetry --broker <url>`: a live view of a fleet from the broker alone. It subscribes to every
 * device's status and telemetry and to the cloud's alarm states (retained statuses and alarms give the
 * state at once) and keeps a row per device (toolkit/src/telemetry/model.ts).
 * - On a terminal: a table redrawn in place, at most every --interval ms (view.ts), until q or Ctrl-C.
 * - With --json, or when stdout is not a terminal: one JSON line per message that changed a device,
 *   nothing else on stdout (notes go to stderr).
 * - With --once: waits --wait seconds for the retained messages, prints the current state (the table, or
 *   one JSON line per device with --json) and exits 0.
 * A broker that cannot be reached is one line on stderr and exit 1; bad options exit 2.
 */
import { AkbError } from '@akb/protocol';
import { defineCommand } from './define.js';
import { TLS_OPTIONS, tlsFromArgs } from './tls-flags.js';
import type { Io } from '../run-command.js';

const DEFAULT_BROKER = 'mqtt://127.0.0.1:1883';

interface TelemetryArgs {
  broker: string;
  device: string[];
  json: boolean;
  once: boolean;
  interval: number;
  wait: number;
  silent: number;
  username?: string | undefined;
  passwordEnv?: string | undefined;
  mqtt5: boolean;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

function check(args: TelemetryArgs): void {
  const bad = (what: string): never => {
    throw new AkbError('BAD_OPTION', what, { exitCode: 2 });
  };
  if (!Number.isFinite(args.interval) || args.interval < 50 || args.interval > 60_000) bad(`--interval ${args.interval}: give 50 to 60000 ms`);
  if (!Number.isFinite(args.wait) || args.wait < 0 || args.wait > 60) bad(`--wait ${args.wait}: give 0 to 60 s`);
  if (!Number.isFinite(args.silent) || args.silent <= 0 || args.silent > 86_400) bad(`--silent ${args.silent}: give more than 0, at most 86400 s`);
  if (args.passwordEnv !== undefined && process.env[args.passwordEnv] === undefined) {
    bad(`--password-env ${args.passwordEnv}: that environment variable is not set`);
  }
}

/** The broker URL without credentials, for the header. */
function shownUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/**
 * Resolves on SIGINT, SIGTERM or SIGHUP, and, with `keys` on a terminal, on q or Ctrl-C typed (stdin in
 * raw mode, so keys typed do not echo over the table); `off` removes the handlers and restores stdin.
 */
function untilStop(keys: boolean): { done: Promise<void>; off: () => void } {
  let off = (): void => undefined;
  const done = new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    const onKey = (b: Buffer): void => {
      if (b.includes(0x03) || b.includes(0x71 /* q */)) resolve();
    };
    const raw = keys && process.stdin.isTTY === true;
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, stop);
    if (raw) {
      process.stdin.setRawMode(true);
      process.stdin.on('data', onKey);
      process.stdin.resume();
    }
    off = () => {
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, stop);
      if (raw) {
        process.stdin.off('data', onKey);
        process.stdin.setRawMode(false);
        process.stdin.pause();
      }
    };
  });
  return { done, off };
}

async function run(args: TelemetryArgs, io: Io): Promise<void> {
  check(args);
  const { FleetModel, classifyTopic } = await import('../telemetry/model.js');
  const { LinesView, ScreenView } = await import('../telemetry/view.js');
  const { renderScreen } = await import('../telemetry/render.js');
  const { filters, MAX_MESSAGE_BYTES } = await import('@akb/protocol');
  const { connectMqtt } = await import('@akb/protocol/mqtt');

  const model = new FleetModel({ patterns: args.device });
  const tty = process.stdout.isTTY === true && !args.json;
  const client = await connectMqtt({
    url: args.broker,
    clientId: `akb-telemetry-${process.pid}-${Math.floor(Math.random() * 0xffff).toString(16)}`,
    username: args.username,
    password: args.passwordEnv === undefined ? undefined : process.env[args.passwordEnv],
    ...(await tlsFromArgs(args.broker, args)),
    // MQTT 5: the broker sends no packet larger than the protocol's message limit plus the topic and header.
    ...(args.mqtt5 ? { protocolVersion: 5 as const, mqtt: { properties: { maximumPacketSize: MAX_MESSAGE_BYTES + 1024 } } } : {}),
  });
  const signal = untilStop(tty && !args.once);
  const viewOptions = {
    model, broker: shownUrl(args.broker), intervalMs: args.interval, silentMs: args.silent * 1000, connected: () => client.connectedNow,
  };
  // On a pipe, a lost connection is a note on stderr (stdout stays JSON); on a terminal, the header says it.
  let down = false;
  const onState = (): void => {
    if (tty || args.once || down === !client.connectedNow) return;
    down = !client.connectedNow;
    io.err(down ? `akb telemetry: lost the broker ${shownUrl(args.broker)}, reconnecting` : 'akb telemetry: reconnected');
  };
  client.raw.on('offline', onState);
  client.raw.on('connect', onState);
  const lines = new LinesView(viewOptions, {
    write: (l) => io.out(l),
    pending: () => process.stdout.writableLength,
    onFirstDrop: () => io.err('akb telemetry: stdout is more than 4 MiB behind: dropping JSON lines until it catches up'),
  });
  const live = tty && !args.once ? new ScreenView(viewOptions, process.stdout) : args.once ? undefined : lines;
  const restore = (): void => live?.close();
  process.once('exit', restore);
  const onResize = (): void => (live instanceof ScreenView ? live.redraw() : undefined);
  process.stdout.on('resize', onResize);
  try {
    const handler = (m: { topic: string; payload: Buffer }): void => {
      if (live !== undefined) live.receive(m.topic, classifyTopic(m.topic)?.kind, m.payload);
      else model.apply(m.topic, m.payload);
    };
    for (const filter of [filters.allStatus, filters.allTelemetry, filters.allAlarms]) {
      client.onMessage(filter, handler);
      await client.subscribe(filter, { qos: 0 });
    }
    if (args.once) {
      await Promise.race([new Promise((r) => setTimeout(r, args.wait * 1000)), signal.done]);
      if (args.json) lines.dumpAll();
      else {
        const screen = renderScreen({
          broker: viewOptions.broker, rows: model.list(), counters: model.counters, rate: model.counters.messages / Math.max(args.wait, 0.001), now: Date.now(),
          width: process.stdout.isTTY ? process.stdout.columns : 400, silentMs: viewOptions.silentMs, color: process.stdout.isTTY === true,
        });
        for (const l of screen) io.out(l);
      }
      return;
    }
    await signal.done;
  } finally {
    signal.off();
    process.stdout.off('resize', onResize);
    restore();
    process.off('exit', restore);
    await client.close();
    if (lines.dropped > 0) io.err(`akb telemetry: ${lines.dropped} JSON line(s) dropped because stdout fell behind`);
  }
}

export const telemetryCommand = defineCommand({
  command: 'telemetry',
  describe: "Watch a fleet live: devices, status, link quality, action, alarms (a table on a terminal, JSON lines otherwise)",
  builder: (y) =>
    y
      .option('broker', { type: 'string', default: process.env.AKB_BROKER ?? DEFAULT_BROKER, describe: 'MQTT broker URL (env AKB_BROKER)' })
      .option('device', { type: 'string', array: true, default: [] as string[], describe: 'only these devices: ids or globs (cam-*), repeatable' })
      .option('json', { type: 'boolean', default: false, describe: 'one JSON line per update (the default when stdout is not a terminal)' })
      .option('once', { type: 'boolean', default: false, describe: 'print the current state after --wait seconds and exit' })
      .option('interval', { type: 'number', default: 500, describe: 'redraw the table at most this often, ms (50-60000)' })
      .option('wait', { type: 'number', default: 1, describe: 'with --once: seconds to collect retained messages (0-60)' })
      .option('silent', { type: 'number', default: 10, describe: 'grey a device not heard of for longer than this, s' })
      .option('mqtt5', { type: 'boolean', default: false, describe: 'connect with MQTT 5 and ask the broker to send nothing over the 256 KiB message limit' })
      .option('username', { type: 'string' })
      .option('password-env', { type: 'string', describe: 'name of the environment variable holding the MQTT password' })
      .options(TLS_OPTIONS),
  run: (args, io) => run(args as TelemetryArgs, io),
});
