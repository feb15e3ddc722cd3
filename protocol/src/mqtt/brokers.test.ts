import { describe, expect, it } from 'vitest';
import { isAkbError } from '../errors.js';
import { MAX_BROKER_URLS, brokerServers, describeBrokerUrls, parseBrokerUrls } from './brokers.js';

function refusal(spec: string | string[]): string {
  try {
    parseBrokerUrls(spec);
  } catch (e) {
    if (isAkbError(e) && e.code === 'BAD_BROKER_URL' && e.exitCode === 2) return e.message;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(spec)}`);
}

describe('broker URL lists', () => {
  it('takes one URL, a comma-separated list (spaces trimmed) or an array', () => {
    expect(parseBrokerUrls('mqtt://127.0.0.1:1883')).toEqual(['mqtt://127.0.0.1:1883']);
    expect(parseBrokerUrls('mqtt://a:1883, mqtt://b:1884 ,mqtts://c')).toEqual(['mqtt://a:1883', 'mqtt://b:1884', 'mqtts://c']);
    expect(parseBrokerUrls(['mqtt://a:1,mqtt://b:2', 'ws://c:8080/mqtt'])).toHaveLength(3);
  });

  it('gives mqtt.js servers in order, with default ports and bare IPv6 hosts', () => {
    expect(brokerServers(['mqtt://a', 'mqtts://b', 'ws://c', 'wss://d', 'tls://e:9', 'mqtt://[::1]:1999'])).toEqual([
      { host: 'a', port: 1883, protocol: 'mqtt' },
      { host: 'b', port: 8883, protocol: 'mqtts' },
      { host: 'c', port: 80, protocol: 'ws' },
      { host: 'd', port: 443, protocol: 'wss' },
      { host: 'e', port: 9, protocol: 'ssl' },
      { host: '::1', port: 1999, protocol: 'mqtt' },
    ]);
  });

  it('refuses bad items with one line naming them', () => {
    expect(refusal('')).toMatch(/no broker URL/);
    expect(refusal('mqtt://a:1,,mqtt://b:2')).toMatch(/URL 2 of 3 is empty/);
    expect(refusal('http://a:1883')).toMatch(/scheme must be one of/);
    expect(refusal('127.0.0.1:1883')).toMatch(/scheme|not a URL/);
    expect(refusal('mqtt://')).toMatch(/not a URL|names no host/);
    expect(refusal('mqtt://a:99999')).toMatch(/not a URL/);
  });

  it('bounds the list before splitting it', () => {
    expect(refusal(Array.from({ length: MAX_BROKER_URLS + 1 }, (_, i) => `mqtt://h${i}:1883`).join(','))).toMatch(/at most 16/);
    expect(refusal(`mqtt://${'a'.repeat(2000)}:1883`)).toMatch(/longer than 1024/);
    expect(refusal('x'.repeat(100_000))).toMatch(/characters long/);
  });

  it('refuses in a list what mqtt.js would take from the first URL only', () => {
    expect(refusal('mqtt://u:secret@a:1883,mqtt://b:1883')).toMatch(/no user names or passwords/);
    expect(refusal('ws://a:80/mqtt,ws://b:80/other')).toMatch(/share one path/);
    expect(parseBrokerUrls('mqtt://u:secret@a:1883')).toHaveLength(1);
  });

  it('hides passwords when it describes a list', () => {
    expect(describeBrokerUrls(['mqtt://u:secret@a:1883', 'mqtt://b'])).toBe('mqtt://***@a:1883,mqtt://b');
  });
});
