import type { AkbCommand } from './define.js';
import { brokerCommand } from './broker.js';
import { topicsCommand } from './topics.js';

/** Every top-level command, in the order `akb --help` lists them. */
export const commands: AkbCommand[] = [topicsCommand, brokerCommand];
