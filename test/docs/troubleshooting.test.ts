/**
 * docs/troubleshooting.md: every code of AuthErrorCodes has its row, with the status its TSDoc in
 * lib/errors.ts gives; the page's links to its own sections lead somewhere; and the symptoms the
 * messages point to (the host, proxy and cookie causes, the registered URIs) are there.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import { AuthErrorCodes } from '../../lib/errors.js';

const page = readFileSync(new URL('../../docs/troubleshooting.md', import.meta.url), 'utf8');
const errorsSource = readFileSync(new URL('../../lib/errors.ts', import.meta.url), 'utf8');

/** The `| \`code\` | status |` rows of the code table, by code. */
function tableRows(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const [, code, status] of page.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)) rows.set(code!, Number(status));
  return rows;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
}

describe('docs/troubleshooting.md', () => {
  test('every AuthErrorCodes code has a row, with the status lib/errors.ts documents for it, and no row is of an unknown code', () => {
    const rows = tableRows();
    const codes = Object.values(AuthErrorCodes) as string[];
    expect([...rows.keys()].sort()).toEqual([...codes].sort());
    for (const [name, code] of Object.entries(AuthErrorCodes)) {
      const doc = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*${name}:`).exec(errorsSource)?.[1] ?? '';
      const statuses = [...doc.matchAll(/\((?:[^()]*[;,] )?(\d{3})[;)]/g)].map((m) => Number(m[1]));
      expect({ code, status: rows.get(code) }).toEqual({ code, status: statuses.at(-1) });
    }
  });

  test('every link to a section of the page leads to one of its headings', () => {
    const anchors = new Set([...page.matchAll(/^#{1,3} (.+)$/gm)].map((m) => anchorOf(m[1]!)));
    const links = [...page.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    for (const link of links) expect({ link, found: anchors.has(link) }).toEqual({ link, found: true });
  });

  test('the causes the error messages point to are explained: hosts, https, proxies, SameSite, registered URIs, clocks', () => {
    for (const phrase of [
      'a cookie set for `127.0.0.1` is not sent to `localhost`',
      'browsers drop `Secure` cookies set over `http:`',
      'app.set(\'trust proxy\', 1)',
      'Use `sameSite: \'lax\'`',
      'exactly as sent: scheme, host, port and path',
      'as `post_logout_redirect_uri`',
      '/.well-known/openid-configuration',
      'NODE_EXTRA_CA_CERTS',
      '`clockTolerance`',
      'NODE_DEBUG=express-oidc-callback',
      'ERR_INVALID_OPTION',
    ]) expect(page).toContain(phrase);
  });
});
