import type { AkbCommand } from './define.js';
import { brokerCommand } from './broker.js';
import { demoCommand } from './demo.js';
import { topicsCommand } from './topics.js';

/** Every top-level command, in the order `akb --help` lists them. */
export const commands: AkbCommand[] = [demoCommand, topicsCommand, brokerCommand];
