/** Small helpers shared by the MQTT modules. */
import { AkbError } from '../errors.js';

export function errorText(e: unknown): string {
  // OpenSSL's messages end in a newline (and may span lines): one line, so a CLI error stays one line.
  return (e instanceof Error ? e.message : String(e)).trim().replace(/\s*\n\s*/g, '; ');
}

export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AkbError('TIMEOUT', `gave up after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
