/**
 * The serial bootstrap: a board with only a login shell gets the install agent through that shell.
 */
export { ConsoleText, MAX_CONSOLE_BUFFER, type ConsoleLine } from './console.js';
export { loginShell, type LoginOptions } from './login.js';
export { BoardShell, shellWord, type ShellAnswer } from './shell.js';
export { detectTools, type BoardTools, type ReceiverKind } from './tools.js';
export { pushBytes, type PushOptions, type PushStats } from './push.js';
export { AGENT_FILES, BOOTSTRAP_SHARE, FRAMED_SHARE, formatDuration, lineSeconds, planBootstrap } from './plan.js';
export { startFramedReceiver, type ReceiverStart } from './handover.js';
export { AGENT_NODE_MIN, DEFAULT_BOARD_DIR, runBootstrap, type BootstrapOptions, type BootstrapResult } from './bootstrap.js';
