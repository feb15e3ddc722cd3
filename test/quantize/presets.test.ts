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
    for (const id of ['rpi-4-arm64', 'rpi-4-armhf', 'rpi-3', 'rpi-zero-2w', 'jetson-nano']) expect(byId[id]).toMatchObject({ name: 'weight-only', reduceRange: false });
  });

  it('agrees with every profile of the catalogue: the model card says the profile\'s quantization', async () => {
    for (const profile of await loadProfiles()) {
      const preset = presetForProfile(profile);
      expect(preset.cardPreset, profile.id).toBe(profile.quantization);
      expect(preset.device, profile.id).toBe(profile.id);
    }
  });

  it('reads only the quantization field, never the backends or the GPU', () => {
    const cpuOnly = { id: 'lab', name: 'Lab', quantization: 'int8-qdq-trt', cpu: { arch: 'arm64', model: 'A78' } };
    expect(presetForProfile(cpuOnly).name).toBe('trt');
    // int8-qdq: S8S8 only on arm64 with the dot product, U8S8 elsewhere.
    expect(presetForProfile({ ...cpuOnly, quantization: 'int8-qdq', cpu: { arch: 'arm64', model: 'A76', features: ['asimddp'] } }).name).toBe('int8-s8s8');
    expect(presetForProfile({ ...cpuOnly, quantization: 'int8-qdq', cpu: { arch: 'arm64', model: 'A72', features: [] } }).name).toBe('int8');
    expect(presetForProfile({ ...cpuOnly, quantization: 'int8-qdq', cpu: { arch: 'x64', model: 'Zen', features: ['asimddp'] } }).name).toBe('int8');
    expect(presetForProfile({ ...cpuOnly, quantization: 'fp16' }).name).toBe('fp16');
    expect(presetForProfile({ ...cpuOnly, quantization: 'fp32' }).name).toBe('weight-only');
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
    const profile = { id: 'x', name: 'X', quantization: 'int3', cpu: { arch: 'arm64', model: 'A1' } };
    expect(() => presetForProfile(profile)).toThrow(/^x: unknown quantization preset "int3"$/);
  });
});
