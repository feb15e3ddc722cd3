/** The report's link: one line for the header (which link the local targets used) and the table of what it saw. */
import type { HilResults } from '../results.js';
import { esc, num, table } from './html.js';

/** e.g. "link sdr-udp through GNU Radio at 20000 samples/s"; results from before plans named a link: emulated. */
export function linkText(r: HilResults): string {
  const l = r.link ?? { driver: 'emulated' as const };
  if (l.driver === 'emulated') return 'link emulated (channel emulator)';
  if (l.driver === 'sdr-udp') {
    const via = l.channel === 'gnuradio' ? 'GNU Radio channel_model' : 'an IQ relay in Node';
    const taps = l.taps && l.taps.length > 1 ? `, ${l.taps.length} taps` : '';
    return `link sdr-udp through ${via} at ${l.sampleRateHz ?? '?'} samples/s, frequency offset ${l.freqOffset ?? 0} cycles/sample${taps}`;
  }
  return `link serial: ${l.modem ?? 'modem'} (simulated on a pty${l.airtimeScale && l.airtimeScale !== 1 ? `, time on air / ${l.airtimeScale}` : ''}), then the plan's channel`;
}

export function linkSection(r: HilResults): string {
  const rows = r.links ?? [];
  if (rows.length === 0) return '';
  const sdr = rows.some((x) => x.sdr !== undefined);
  const head = sdr
    ? ['variant', 'channel', 'SNR dB', 'images', 'ms / image', 'bursts found', 'gateway SNR dB', 'datagrams', 'missing', 'header failures']
    : ['variant', 'channel', 'SNR dB', 'images', 'ms / image', 'packets sent', 'lost', 'retried', 'airtime ms'];
  const body = rows.map((x) => [
    esc(x.variant), esc(x.channel), x.snrDb === null ? 'trace' : num(x.snrDb, 1), String(x.images), num(x.msPerImage, 1),
    ...(sdr
      ? [String(x.sdr?.bursts ?? '–'), num(x.sdr?.snrEstimateMeanDb), String(x.sdr?.datagrams ?? '–'), String(x.sdr?.missing ?? '–'), String(x.sdr?.headerFailures ?? '–')]
      : [String(x.serial?.packetsSent ?? '–'), String(x.serial?.packetsLost ?? '–'), String(x.serial?.packetsRetried ?? '–'), num(x.serial?.airtimeMs, 1)]),
  ]);
  return `<h2>What the link saw</h2><p class="note">${esc(linkText(r))}.</p>${table(head, body, ' id="link"')}`;
}
