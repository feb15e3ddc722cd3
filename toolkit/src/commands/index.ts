import type { AkbCommand } from './define.js';
import { brokerCommand } from './broker.js';
import { bundleCommand } from './bundle.js';
import { demoCommand } from './demo.js';
import { deployCommand } from './deploy.js';
import { devicesCommand } from './devices.js';
import { flashCommand } from './flash.js';
import { fleetCommand } from './fleet.js';
import { frameCommand } from './frame.js';
import { hilCommand } from './hil.js';
import { imagesCommand } from './images.js';
import { inspectCommand } from './inspect.js';
import { installCommand } from './install.js';
import { keysCommand } from './keys.js';
import { linkCommand } from './link.js';
import { messageCommand } from './message.js';
import { packageCommand } from './package.js';
import { quantizeCommand } from './quantize.js';
import { schemaCommand } from './schema.js';
import { telemetryCommand } from './telemetry.js';
import { topicsCommand } from './topics.js';

/** Every top-level command, in the order `akb --help` lists them. */
export const commands: AkbCommand[] = [demoCommand, devicesCommand, topicsCommand, frameCommand, messageCommand, schemaCommand, brokerCommand, linkCommand, imagesCommand, inspectCommand, quantizeCommand, packageCommand, keysCommand, bundleCommand, installCommand, flashCommand, deployCommand, fleetCommand, telemetryCommand, hilCommand];
