/**
 * The package as users install it: what `npm pack` puts in the tarball (the build, its
 * declarations and declaration maps with the sources they point to, README, LICENSE, CHANGELOG,
 * SECURITY; no tests, example app or benchmark), and the metadata registries and tools read.
 * Needs the build (`npm test` builds first).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';

const root = new URL('../../', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as Record<string, unknown> & {
  engines: { node: string };
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

/** The paths `npm pack` would put in the tarball (scripts not run: the build is already there). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return (JSON.parse(out) as [{ files: { path: string }[] }])[0].files.map((f) => f.path);
}

describe('the tarball', () => {
  const files = packedFiles();

  test('carries the build with declarations and their maps, and the sources the maps point to', () => {
    for (const path of ['dist/index.js', 'dist/index.d.ts', 'dist/index.d.ts.map', 'lib/index.ts', 'dist/auth-callback.d.ts.map', 'lib/auth-callback.ts']) {
      expect(files).toContain(path);
    }
    const map = JSON.parse(readFileSync(new URL('dist/index.d.ts.map', root), 'utf8')) as { sources: string[] };
    expect(map.sources).toEqual(['../lib/index.ts']);
  });

  test('carries README, LICENSE, CHANGELOG and SECURITY', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'package.json']));
  });

  test('leaves out the tests, the example app, the benchmark, build info and configuration', () => {
    const outside = files.filter((path) => !/^(dist|lib)\//.test(path) && !['README.md', 'LICENSE', 'CHANGELOG.md', 'SECURITY.md', 'package.json'].includes(path));
    expect(outside).toEqual([]);
    expect(files.filter((path) => path.endsWith('.tsbuildinfo'))).toEqual([]);
  });
});

describe('package.json', () => {
  test('says where the code, the home page and the issue tracker are', () => {
    expect(manifest).toMatchObject({
      repository: { type: 'git', url: expect.stringMatching(/^git\+https:\/\//) },
      homepage: expect.stringMatching(/^https:\/\//),
      bugs: { url: expect.stringMatching(/^https:\/\//) },
    });
  });

  test('engines names the Node.js lines CI tests: 20, 22 and 24', () => {
    expect(manifest.engines.node).toBe('^20.19.0 || ^22.12.0 || ^24.0.0');
  });

  test('undici is an optional peer dependency (only clientCertificate loads it), not installed for everyone', () => {
    expect(manifest.dependencies).not.toHaveProperty('undici');
    expect(manifest.peerDependencies).toHaveProperty('undici');
    expect(manifest.peerDependenciesMeta.undici).toEqual({ optional: true });
  });
});
