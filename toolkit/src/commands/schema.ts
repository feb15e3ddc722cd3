import { defineCommand } from './define.js';

export const schemaCommand = defineCommand({
  command: 'schema',
  describe: "Write the protocol's JSON Schemas (for editors and other languages) to a folder",
  builder: (y) => y.option('out', { type: 'string', default: 'akb-schema', describe: 'folder to write into' }),
  run: async (args, io) => {
    const { mkdir, writeFile, rename } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { jsonSchemaFiles } = await import('@akb/protocol');
    await mkdir(args.out, { recursive: true });
    const files = jsonSchemaFiles();
    for (const { file, text } of files) {
      const target = join(args.out, file);
      await writeFile(`${target}.tmp`, text);
      await rename(`${target}.tmp`, target);
    }
    io.out(`wrote ${files.length} files to ${args.out}`);
  },
});
