/**
 * The line akb-cloud prints on stdout for every finished image: one line of words, or with `--json` one
 * JSON object per line (absent values as null), e.g.
 *
 *   image cam-01 session 631584000 #3 kodim05.png 768x512: tiles 384, received 380, lost 4, PSNR 31.42 dB, SNR 5.12 dB (timeout)
 *   {"device":"cam-01","session":631584000,"image":3,"name":"kodim05.png","width":768,"height":512,"tiles":384,
 *    "received":380,"lost":4,"elsewhere":0,"psnr":31.42,"meanSnrDb":5.12,"reason":"timeout","modelSet":"akb-k256"}
 *
 * received: tiles whose frame arrived (decoded whole, with erasures, or refused for a KB mismatch); lost:
 * tiles whose frame never did; elsewhere: with a shared subscription, tiles another worker received.
 * PSNR only where a reference exists (--references) and every tile was handled here.
 */
import type { ImageResult } from './decode/images.js';

export interface ImageLine {
  device: string;
  session: number;
  image: number;
  name: string | null;
  width: number;
  height: number;
  tiles: number;
  received: number;
  lost: number;
  elsewhere: number;
  psnr: number | null;
  meanSnrDb: number | null;
  reason: ImageResult['reason'];
  modelSet: string;
}

export function imageLineOf(r: Omit<ImageResult, 'reconstruction' | 'tileResults'>): ImageLine {
  const c = r.counts;
  return {
    device: r.device,
    session: r.session,
    image: r.image,
    name: r.name ?? null,
    width: r.width,
    height: r.height,
    tiles: r.tiles,
    received: c.decoded + c.erased + c['kb-mismatch'],
    lost: c.lost,
    elsewhere: c.elsewhere,
    psnr: round(r.psnr),
    meanSnrDb: round(r.meanSnrDb),
    reason: r.reason,
    modelSet: r.modelSet,
  };
}

/** The text of the line (without the newline). */
export function formatImageLine(r: Omit<ImageResult, 'reconstruction' | 'tileResults'>, json: boolean): string {
  const l = imageLineOf(r);
  if (json) return JSON.stringify(l);
  const name = l.name === null ? '' : ` ${JSON.stringify(l.name).slice(1, -1)}`;
  const parts = [`tiles ${l.tiles}`, `received ${l.received}`, `lost ${l.lost}`];
  if (l.elsewhere > 0) parts.push(`elsewhere ${l.elsewhere}`);
  if (l.psnr !== null) parts.push(`PSNR ${l.psnr.toFixed(2)} dB`);
  parts.push(l.meanSnrDb === null ? 'SNR -' : `SNR ${l.meanSnrDb.toFixed(2)} dB`);
  return `image ${l.device} session ${l.session} #${l.image}${name} ${l.width}x${l.height}: ${parts.join(', ')} (${l.reason})`;
}

function round(v: number | undefined): number | null {
  return v === undefined || !Number.isFinite(v) ? null : Math.round(v * 100) / 100;
}
