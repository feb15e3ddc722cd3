import { AkbError } from '@akb/protocol';

/** Reads a file, or standard input for `-`, with a one-line error naming the file. */
export async function readInput(file: string, maxBytes = 64 * 2 ** 20): Promise<Uint8Array> {
  const { readFile, stat } = await import('node:fs/promises');
  if (file === '-') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of process.stdin) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > maxBytes) throw new AkbError('INPUT_TOO_LARGE', `standard input is larger than ${maxBytes} bytes`);
      chunks.push(b);
    }
    return Buffer.concat(chunks);
  }
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new AkbError('NOT_A_FILE', `${file} is not a file`);
    if (info.size > maxBytes) throw new AkbError('INPUT_TOO_LARGE', `${file} is larger than ${maxBytes} bytes`);
    return await readFile(file);
  } catch (e) {
    if (e instanceof AkbError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new AkbError('CANNOT_READ', `cannot read ${file} (${code})`, { hint: 'check the path and its permissions', cause: e });
  }
}
