/** The toolkit's copy of the TLS flags is protocol's, so every program describes them alike. */
import { describe, expect, it } from 'vitest';
import { TLS_FLAGS } from '@akb/protocol/mqtt';
import { TLS_OPTIONS, tlsFromArgs } from './tls-flags.js';

describe('akb --ca/--cert/--key', () => {
  it("are protocol's TLS_FLAGS", () => {
    expect(TLS_OPTIONS).toEqual(TLS_FLAGS);
  });

  it('give nothing without flags, and refuse a key without its certificate', async () => {
    expect(await tlsFromArgs('mqtt://h:1883', {})).toEqual({});
    await expect(tlsFromArgs('mqtts://h:8883', { key: 'k.pem' })).rejects.toMatchObject({ code: 'TLS_FILE', exitCode: 2 });
  });
});
