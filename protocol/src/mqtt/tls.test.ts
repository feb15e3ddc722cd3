/**
 * Loading the --ca/--cert/--key files (tls.ts): bounded reads (a file over MAX_PEM_BYTES refused before its
 * bytes are held), PEM blocks of the right kind, errors naming the file, a certificate without its key and
 * TLS files with a broker URL that is not TLS refused, a broker list checked URL by URL.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PEM_BYTES, checkTlsUrl, isTlsUrl, loadTlsFlags } from './tls.js';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n';
let dir: string;
const path = (name: string): string => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'akb-tls-'));
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  await writeFile(path('ca.crt'), CERT);
  await writeFile(path('dev.crt'), CERT);
  await writeFile(path('pkcs8.key'), ec.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(path('sec1.key'), ec.export({ type: 'sec1', format: 'pem' }));
  await writeFile(path('rsa.key'), rsa.export({ type: 'pkcs1', format: 'pem' }));
  await writeFile(path('huge.crt'), `${CERT}${'x'.repeat(MAX_PEM_BYTES)}`);
  await writeFile(path('text.crt'), 'not a certificate');
  await mkdir(path('folder.crt'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('TLS files', () => {
  it('gives nothing without flags, the PEM contents with them', async () => {
    expect(await loadTlsFlags('mqtt://h:1883', {})).toBeUndefined();
    const tls = await loadTlsFlags('mqtts://h:8883', { ca: path('ca.crt'), cert: path('dev.crt'), key: path('pkcs8.key') });
    expect(tls).toMatchObject({ ca: CERT, cert: CERT });
    expect(tls?.key).toContain('-----BEGIN PRIVATE KEY-----');
    for (const key of ['sec1.key', 'rsa.key']) expect((await loadTlsFlags('mqtts://h', { cert: path('dev.crt'), key: path(key) }))?.key).toMatch(/BEGIN (EC|RSA) PRIVATE KEY/);
  });

  it.each([
    ['a missing file', { ca: 'absent.crt' }, /cannot read the CA certificate \(--ca\) .*absent\.crt \(ENOENT\)/],
    ['a folder', { ca: 'folder.crt' }, /folder\.crt is not a file/],
    ['a file over the limit', { ca: 'huge.crt' }, new RegExp(`huge\\.crt is ${CERT.length + MAX_PEM_BYTES} bytes, more than the ${MAX_PEM_BYTES}`)],
    ['text that is not PEM', { ca: 'text.crt' }, /the CA certificate \(--ca\) .*text\.crt is not a PEM certificate/],
    ['a certificate given as the key', { cert: 'dev.crt', key: 'dev.crt' }, /client key \(--key\) .*dev\.crt is not a PEM key/],
    ['a key without its certificate', { key: 'pkcs8.key' }, /--key given without --cert/],
    ['a certificate without its key', { cert: 'dev.crt' }, /--cert given without --key/],
  ])('refuses %s in one line naming it (exit 2)', async (_, flags, message) => {
    const named = Object.fromEntries(Object.entries(flags).map(([k, v]) => [k, path(v)]));
    await expect(loadTlsFlags('mqtts://h:8883', named)).rejects.toMatchObject({ code: 'TLS_FILE', exitCode: 2, message: expect.stringMatching(message) as unknown as string });
  });

  it('refuses TLS files with a broker URL that is not TLS, each URL of a list checked', async () => {
    await expect(loadTlsFlags('mqtt://h:1883', { ca: path('ca.crt') })).rejects.toMatchObject({ message: expect.stringContaining('mqtt://h:1883 is not TLS') as unknown as string });
    expect(() => checkTlsUrl('mqtts://a:8883,mqtt://user:pw@b:1883', '--ca')).toThrow(/mqtt:\/\/\*\*\*@b:1883 is not TLS/);
    expect(() => checkTlsUrl(['mqtts://a', 'wss://b/mqtt', 'ssl://c', 'tls://d'], '--ca')).not.toThrow();
    expect([isTlsUrl('MQTTS://a'), isTlsUrl('ws://a'), isTlsUrl('tcp://a')]).toEqual([true, false, false]);
  });
});
