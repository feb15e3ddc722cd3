/**
 * The options `akb flash` takes for `--bootstrap` (flash-bootstrap.ts), kept here so flash.ts stays about
 * the framed protocol, and so `--help` lists them without loading the bootstrap.
 */
import type { FlashBootstrapArgs } from './flash-bootstrap.js';

export const BOOTSTRAP_OPTIONS = {
  bootstrap: { type: 'boolean', describe: 'a board with only a login shell on the port: send the install agent through the shell first, then the bundle' },
  user: { type: 'string', describe: '--bootstrap: user name for the console login (default: asked when the console asks)' },
  password: { type: 'string', describe: '--bootstrap: password for the console login (default: asked, hidden, when the console asks)' },
  trust: { type: 'string', array: true, describe: "--bootstrap: public key (file or folder of *.pub) sent to the board for its agent to trust (else the board's /etc/akb/keys)" },
  'board-dir': { type: 'string', describe: "--bootstrap: folder on the board for the agent (default .akb-agent in the login's home)" },
  root: { type: 'string', describe: "--bootstrap: the board's install root for the agent (default: the profile's, e.g. /opt/akb)" },
  device: { type: 'string', describe: "--bootstrap: device id the board's agent uses (default: the board's hostname)" },
  broker: { type: 'string', describe: "--bootstrap: MQTT broker for the board's health check (default: the agent's, mqtt://127.0.0.1:1883)" },
  receiver: { type: 'string', choices: ['python3', 'sh'] as const, describe: '--bootstrap: the receiver to use (default: python3 when the board has it, else sh with base64 and sha256sum)' },
} as const;

/** yargs check: the --bootstrap options without --bootstrap are refused (they would be ignored). */
export function checkBootstrapOptions(a: Record<string, unknown>): true {
  if (a.bootstrap === true) return true;
  const given = Object.keys(BOOTSTRAP_OPTIONS).filter((k) => k !== 'bootstrap' && a[k] !== undefined);
  if (given.length > 0) throw new Error(`${given.map((k) => `--${k}`).join(', ')} only go${given.length === 1 ? 'es' : ''} with --bootstrap`);
  return true;
}

interface ParsedBootstrap {
  baud: number;
  json: boolean;
  user?: string | undefined;
  password?: string | undefined;
  trust?: (string | number)[] | undefined;
  boardDir?: string | undefined;
  root?: string | undefined;
  device?: string | undefined;
  broker?: string | undefined;
  receiver?: string | undefined;
}

/** The bootstrap's arguments from akb flash's parsed options. */
export function bootstrapArgs(bundle: string, a: ParsedBootstrap): FlashBootstrapArgs {
  return {
    bundle,
    baud: a.baud,
    json: a.json,
    user: a.user,
    password: a.password,
    trust: (a.trust ?? []).map(String),
    boardDir: a.boardDir,
    root: a.root,
    device: a.device,
    broker: a.broker,
    receiver: a.receiver === 'sh' || a.receiver === 'python3' ? a.receiver : undefined,
  };
}
