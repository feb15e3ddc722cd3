import { describe, expect, it } from 'vitest';
import { loadProfiles } from '@akb/devices';
import { PRESETS, presetByName, presetForProfile } from '../../toolkit/quantize/src/presets.js';
import { resolvePreset } from '../../toolkit/quantize/src/quantize.js';

describe('presets', () => {
  it('maps every device profile of the catalogue to a preset, by what its hardware runs fast', async () => {
    const byId = Object.fromEntries((await loadProfiles()).map((p) => [p.id, presetForProfile(p)]));
    expect(byId['rpi-5']).toMatchObject({ name: 'int8-s8s8', mode: 'int8', activationType: 'int8', weightType: 'int8', perChannel: true, reduceRange: false });
    expect(byId['rpi-5']!.reason).toMatch(/^rpi-5: .*dot product/);
    for (const id of ['jetson-orin-nano', 'jetson-xavier-nx']) expect(byId[id]).toMatchObject({ name: 'trt', mode: 'trt', symmetricActivations: true, cardPreset: 'int8-qdq-trt' });
    for (const id of ['rpi-4-arm64', 'rpi-4-armhf', 'rpi-3', 'jetson-nano']) expect(byId[id]).toMatchObject({ name: 'weight-only', reduceRange: false });
  });

  it('accepts preset names and the protocol aliases', () => {
    expect(presetByName('int8')).toBe(PRESETS.int8);
    expect(presetByName('int8-qdq')).toBe(PRESETS.int8);
    expect(presetByName('int8-qdq-trt')).toBe(PRESETS.trt);
    expect(presetByName('s8s8')!.activationType).toBe('int8');
    expect(presetByName('rpi-5')).toBeUndefined();
  });

  it('refuses an unknown preset in one line that lists the known ones', () => {
    // Thrown at it: a preset name that does not exist.
    expect(() => resolvePreset({ preset: 'int4' })).toThrow(/^unknown preset "int4"$/);
    try {
      resolvePreset({ preset: 'int4' });
    } catch (e) {
      expect((e as { hint?: string }).hint).toContain('weight-only');
    }
  });

  it('lets a mode override the preset', () => {
    expect(resolvePreset({ preset: 'int8', mode: 'fp16' }).mode).toBe('fp16');
    expect(resolvePreset({ preset: PRESETS.trt!, mode: 'trt' })).toBe(PRESETS.trt);
  });

  it('refuses a profile with an unknown quantization preset', () => {
    // Thrown at it: a hand-made profile whose quantization field is not one the protocol knows.
    const profile = { id: 'x', name: 'X', quantization: 'int3', cpu: { arch: 'arm64', model: 'A1' }, backends: ['onnxruntime-node-cpu'] };
    expect(() => presetForProfile(profile)).toThrow(/^x: unknown quantization preset "int3"$/);
  });
});
