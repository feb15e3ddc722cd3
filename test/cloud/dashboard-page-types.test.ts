/**
 * The dashboard page's scripts are plain ES modules (served as they are, nothing to build) with JSDoc
 * types and `// @ts-check`; the build does not compile them, so this test type-checks them as the
 * browser runs them: strict, DOM library, no Node types.
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import ts from 'typescript';

it('type-checks the page scripts (strict, DOM, no Node)', () => {
  const entry = fileURLToPath(new URL('../../runtime-cloud/dashboard/app.js', import.meta.url));
  const program = ts.createProgram([entry], {
    allowJs: true,
    checkJs: true,
    noEmit: true,
    strict: true,
    noUncheckedIndexedAccess: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    types: [],
  });
  const checked = program.getSourceFiles().filter((f) => f.fileName.includes('/runtime-cloud/dashboard/')).map((f) => f.fileName.split('/').pop());
  expect(checked.sort()).toEqual(['app.js', 'charts.js', 'dom.js', 'fleet.js', 'panels.js', 'state.js']);
  const problems = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}: ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  expect(problems).toEqual([]);
}, 60_000);
