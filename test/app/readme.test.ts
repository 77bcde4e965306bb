/**
 * The README's first TypeScript block, the app users copy, compiles under `strict` against the
 * package as an app installs it: `import … from 'express-oidc-callback'` resolves through
 * package.json's `exports` to the built types in `dist/` (run `npm run build` first; `npm test`
 * does), as a file inside this package resolves its own name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');

/** The first ```ts block of `markdown`, without its fences. */
function firstTypeScriptBlock(markdown: string): string {
  const block = /^```ts\n([\s\S]*?)^```$/m.exec(markdown);
  if (!block) throw new Error('README.md has no ```ts block');
  return block[1]!;
}

/** A user's strict settings for an ES module app on Node.js. */
const options: ts.CompilerOptions = {
  strict: true,
  noImplicitReturns: true,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  types: ['node'],
  verbatimModuleSyntax: true,
  skipLibCheck: true,
  noEmit: true,
};

/**
 * Type-checks `source` as a file at the package's root (so that its own name resolves to `dist/`
 * through `exports`), and returns the diagnostics as text, one per line; `''` when it compiles.
 */
function compile(source: string): string {
  const fileName = join(root, 'readme-app.ts');
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (name) => name === fileName || fileExists.call(host, name);
  host.readFile = (name) => (name === fileName ? source : readFile.call(host, name));
  host.getSourceFile = (name, version, ...rest) => (name === fileName
    ? ts.createSourceFile(name, source, version, true)
    : getSourceFile.call(host, name, version, ...rest));
  const resolved = ts.resolveModuleName('express-oidc-callback', fileName, options, host, undefined, undefined, ts.ModuleKind.ESNext)
    .resolvedModule?.resolvedFileName;
  if (resolved !== join(root, 'dist', 'index.d.ts')) {
    throw new Error(`'express-oidc-callback' resolves to ${resolved ?? 'nothing'}, not to the built dist/index.d.ts`);
  }
  const program = ts.createProgram({ rootNames: [fileName], options, host });
  return ts.formatDiagnostics(ts.getPreEmitDiagnostics(program), {
    getCanonicalFileName: (name) => name,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  });
}

describe("the README's app", () => {
  test('dist/ is built (npm run build)', () => {
    expect(existsSync(join(root, 'dist', 'index.d.ts'))).toBe(true);
  });

  test('is a whole app: imports, express-session, authCallback() from the environment, a guarded route, an error handler, listen()', () => {
    const app = firstTypeScriptBlock(readme);
    expect(app).toMatch(/^import express\b/m);
    expect(app).toMatch(/^import session from 'express-session';$/m);
    expect(app).toMatch(/session: session\(\{/);
    expect(app).toContain("from 'express-oidc-callback'");
    expect(app).toMatch(/authCallback\(\{[\s\S]*process\.env\./);
    expect(app).toContain('requireAuth()');
    expect(app).toMatch(/: ErrorRequestHandler = /);
    expect(app).toMatch(/if \(status >= 500\) console\.error\(err\)/); // 5xx logged, with their cause
    expect(app).not.toMatch(/\.stack\b/);                              // never sent to the browser
    expect(app).toContain('app.listen(');
  });

  test('compiles under strict against the built package', () => {
    expect(compile(firstTypeScriptBlock(readme))).toBe('');
  });

  test('a type error in it would fail this test', () => {
    const broken = `${firstTypeScriptBlock(readme)}\nauthCallback({ issuer: 'https://op.example', clientId: 'x', baseURL: 'http://localhost:3000', secret: 42 });\n`;
    expect(compile(broken)).toMatch(/readme-app\.ts\(\d+,\d+\): error TS2322/);
  });
});
