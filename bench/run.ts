/**
 * Runs every benchmark and prints one JSON document. Each benchmark measures its own baseline in the
 * same run and reports ratios, since these machines are shared and noisy. `npm run bench -- codec`
 * runs only the named ones.
 */
import { cpus, totalmem } from 'node:os';
import { runBrokerBench } from './broker.js';
import { runCodecBench } from './codec.js';
import { runEdgeBench } from './edge.js';
import { runLinkBench } from './link.js';
import { runLinkChannelBench } from './link-channel.js';
import { runLinkSerialBench } from './link-serial/index.js';
import { runLinkSdrBench } from './link-sdr/index.js';
import { runFlashBench } from './flash/index.js';
import { runHilBench } from './hil/index.js';
import { runPackageBench } from './package/index.js';
import { runQuantizeBench } from './quantize.js';
import { runReliability } from './reliability/index.js';
import { runSoak } from './soak/index.js';
import { runTelemetryBench } from './telemetry/index.js';

const benches: Record<string, () => Promise<object>> = {
  codec: runCodecBench,
  broker: runBrokerBench,
  'link-channel': runLinkChannelBench,
  link: runLinkBench,
  'link-serial': runLinkSerialBench,
  'link-sdr': runLinkSdrBench,
  edge: runEdgeBench,
  quantize: runQuantizeBench,
  package: runPackageBench,
  flash: runFlashBench,
  telemetry: runTelemetryBench,
  hil: runHilBench,
  soak: () => runSoak(),
  reliability: () => runReliability(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown benchmark(s) ${unknown.join(', ')}; known: ${Object.keys(benches).join(', ')}\n`);
  process.exit(2);
}
const results: Record<string, object> = {};
for (const [name, run] of Object.entries(benches)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  process.stderr.write(`bench: ${name}...\n`);
  results[name] = await run();
}
process.stdout.write(`${JSON.stringify({ machine: machineInfo(), results }, null, 2)}\n`);

function machineInfo(): object {
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}
