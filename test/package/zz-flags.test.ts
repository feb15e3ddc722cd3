import { it } from 'vitest';
import { startAedes } from '/work/main/test/support/index.js';
import { runSlotEdge } from '/work/main/test/package/qemu.js';
it('try', async () => {
  const b = await startAedes();
  const env = { AKB_PROFILE: '/tmp/d2-slot/profile.json', AKB_MODELS: '/tmp/d2-slot/models/zoo', AKB_SET: 'akb-k256' };
  const q = await runSlotEdge({ slot: '/tmp/d2-slot', runner: { kind: 'qemu', arch: 'arm64' }, brokerUrl: b.url, images: '/tmp/d2-imgs', env, timeoutMs: 280000, nodeArgs: ['--max-semi-space-size=1','--expose-gc','--no-concurrent-array-buffer-sweeping'] });
  console.log('qemu', q.code, q.signal, q.ms, q.frames.length, q.stdout, q.stderr.slice(0,2000));
  await b.close();
}, 400000);
