/** Status payloads for tests: a birth that satisfies the StatusOnline schema. */
export function testBirth(deviceId: string): (session: number) => object {
  const bootTime = Date.now();
  return (session) => ({
    v: 1,
    device: deviceId,
    session,
    ts: Date.now(),
    state: 'online',
    profile: 'rpi-5',
    bootTime,
    versions: { runtime: '0.1.0', protocol: '1.0', models: [], kb: null },
    capabilities: ['proto:1.0'],
  });
}
