/**
 * Logging in on a serial console: listen first (a console already showing `login:` must not get a stray
 * newline, which login would take as an empty user name), else send a newline to wake it (when login
 * answers that with `Password:`, it took the newline for a user name: an empty password ends that
 * attempt and login asks again; a `su` already asking for its password before the port opened is
 * therefore not supported); answer
 * `login:` with the user and `Password:` with the password (from the caller: flags, or asked
 * interactively); then wait for a shell prompt or a refusal. A console already at a shell prompt is
 * used as it is. Then the shell gets our own prompt (PS1) and no echo, and a framed command proves it
 * answers (the console keeps no echo and no EOF character afterwards). Refused in one line: a wrong
 * password, a console that never answers, no shell after login.
 */
import { AkbError } from '@akb/protocol';
import type { ConsoleText } from './console.js';
import { BoardShell } from './shell.js';

export interface LoginOptions {
  /** The user name, or a function that asks for it (called only when the console asks). */
  user?: string | (() => Promise<string>);
  /** The password, or a function that asks for it (called only when the console asks). */
  password?: string | (() => Promise<string>);
  /** How long to wait for each answer of the console, ms (default 10000). */
  timeoutMs?: number;
  /** How long to listen before waking the console with a newline, ms (default 1500). */
  listenMs?: number;
}

const LOGIN = /(?:^|\n)[^\n]*login: ?$/iu;
const PASSWORD = /password: ?$/iu;
const PROMPT = /[$#%>] ?$/u;
const REFUSED = /login incorrect|incorrect password|authentication failure|permission denied|sorry/iu;
const FIRST = new RegExp(`${LOGIN.source}|${PASSWORD.source}|${PROMPT.source}`, 'iu');

async function answer(given: LoginOptions['user'], what: string): Promise<string> {
  if (given === undefined) {
    throw new AkbError('BOOTSTRAP_LOGIN', `the console asks for a ${what} and none was given`, { hint: `pass --${what === 'user name' ? 'user' : 'password'}` });
  }
  return typeof given === 'string' ? given : given();
}

function refusedLogin(): AkbError {
  return new AkbError('BOOTSTRAP_LOGIN_REFUSED', 'the board refused the login (wrong user or password)', {
    hint: 'check --user and --password (or the password you typed)',
    exitCode: 3,
  });
}

function silent(console_: ConsoleText, what: string): AkbError {
  return new AkbError('CONSOLE_SILENT', `the serial console never answered ${what} (last heard: ${console_.tail()})`, {
    hint: 'check the port, the baud rate (--baud) and that a login or shell runs on that console',
  });
}

/** Logs in (when asked) and returns the shell, with our prompt and echo off. */
export async function loginShell(console_: ConsoleText, o: LoginOptions = {}): Promise<BoardShell> {
  const timeoutMs = o.timeoutMs ?? 10_000;
  let seen = await console_.waitFor(FIRST, o.listenMs ?? 1500);
  if (!seen) {
    await console_.write('\r');
    seen = await console_.waitFor(FIRST, timeoutMs);
    if (seen && PASSWORD.test(seen[0])) {
      // login took the newline for an empty user name (its prompt was printed before the port opened):
      // end that attempt with an empty password and wait for the next login prompt
      await console_.write('\r');
      seen = await console_.waitFor(LOGIN, timeoutMs + 5000);
    }
  }
  if (!seen) throw silent(console_, 'a newline');
  if (LOGIN.test(seen[0])) {
    await console_.write(`${await answer(o.user, 'user name')}\r`);
    seen = await console_.waitFor(new RegExp(`${PASSWORD.source}|${PROMPT.source}`, 'iu'), timeoutMs);
    if (!seen) throw silent(console_, 'the user name');
  }
  if (PASSWORD.test(seen[0])) {
    await console_.write(`${await answer(o.password, 'password')}\r`);
    // login waits a few seconds before it says a password was wrong
    const after = await console_.waitFor(new RegExp(`${REFUSED.source}|${PROMPT.source}`, 'iu'), timeoutMs + 5000);
    if (!after) throw silent(console_, 'the password');
    if (REFUSED.test(after[0])) throw refusedLogin();
  }
  const shell = new BoardShell(console_, timeoutMs);
  // Our prompt, no continuation prompt, no echo: the answers are then only what commands print; no EOF
  // character, so a byte damaged into ^D at the start of a line cannot log the shell out.
  const ready = await shell.tryRun("PS1='akb''$ '; PS2=''; stty -echo 2>/dev/null; stty eof undef 2>/dev/null; true", timeoutMs);
  if (!ready) throw silent(console_, 'a command after the login');
  return shell;
}
