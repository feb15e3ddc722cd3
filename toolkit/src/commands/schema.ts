import { defineCommand } from './define.js';

export const schemaCommand = defineCommand({
  command: 'schema',
  describe: "Write the protocol's JSON Schemas (for editors and other languages) to a folder",
  builder: (y) => y.option('out', { type: 'string', default: 'akb-schema', describe: 'folder to write into' }),
  run: async (args, io) => {
    const fs = await import('node:fs/promises');
    const path = await import('node:path');
    const { jsonSchemaFiles } = await import('@akb/protocol');
    await fs.mkdir(args.out, { recursive: true });
    const files = jsonSchemaFiles();
    for (const { file, text } of files) {
      const target = path.join(args.out, file);
      await fs.writeFile(`${target}.tmp`, text);
      await fs.rename(`${target}.tmp`, target);
    }
    io.out(`wrote ${files.length} files to ${args.out}`);
  },
});
