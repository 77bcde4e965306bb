/**
 * Every relative link of the README and the documentation pages points to a file of this
 * repository, and every `#anchor` to a heading of its page, as GitHub renders them: a page moved
 * or a heading renamed fails here, not in a reader's browser.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The pages whose links are checked, relative to the repository's root. */
const pages = [
  'README.md', 'SECURITY.md', 'bench/README.md',
  ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`),
];

/** `markdown` without its fenced code blocks and inline code spans: links there are not links. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** The targets of a page's links: Markdown links and images, and HTML `href`/`src` attributes. */
function linkTargets(markdown: string): string[] {
  const text = withoutCode(markdown);
  const targets: string[] = [];
  for (const m of text.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]!);
  for (const m of text.matchAll(/<(?:a|img)\b[^>]*?\b(?:href|src)="([^"]+)"/gi)) targets.push(m[1]!);
  return targets;
}

/**
 * The anchors GitHub gives a page's headings: the heading's text, lower-cased, without
 * punctuation, spaces as hyphens; a repeated one gets `-1`, `-2`, ….
 */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of withoutFences(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const text = m[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
      .replace(/<[^>]+>/g, '')                     // HTML tags
      .replace(/[`*]/g, '');                       // code and emphasis marks
    const slug = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

function withoutFences(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** What is wrong with one link of `page`, or undefined when it resolves. */
function brokenLink(page: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto:, …: not checked here
  const [path, anchor] = target.split('#', 2) as [string, string | undefined];
  const file = path === '' ? page : relative(root, join(root, dirname(page), decodeURI(path)));
  if (file.startsWith('..')) return `${target}: outside the repository`;
  if (!existsSync(join(root, file))) return `${target}: no such file (${file})`;
  if (anchor === undefined || anchor === '') return undefined;
  if (!file.endsWith('.md')) return `${target}: an anchor into a file that is not Markdown`;
  return headingAnchors(readFileSync(join(root, file), 'utf8')).has(anchor) ? undefined : `${target}: no heading #${anchor} in ${file}`;
}

describe('links of the README and docs/', () => {
  test.each(pages)('%s: every relative link and anchor resolves', (page) => {
    const targets = linkTargets(readFileSync(join(root, page), 'utf8'));
    const broken = targets.map((target) => brokenLink(page, target)).filter((problem) => problem !== undefined);
    expect(broken).toEqual([]);
  });

  test('the README links every documentation page', () => {
    const readme = linkTargets(readFileSync(join(root, 'README.md'), 'utf8')).map((t) => t.split('#')[0]);
    const docs = pages.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md');
    expect(docs.filter((page) => !readme.includes(page))).toEqual([]);
  });

  test('the documentation index links every page beside it', () => {
    const index = linkTargets(readFileSync(join(root, 'docs/README.md'), 'utf8')).map((t) => `docs/${t.split('#')[0]}`);
    const docs = pages.filter((p) => p.startsWith('docs/') && p !== 'docs/README.md');
    expect(docs.filter((page) => !index.includes(page))).toEqual([]);
  });

  test('the checker itself: anchors as GitHub makes them, links in code ignored', () => {
    expect([...headingAnchors('# Several issuers (tenants)\n## `requireAuth()` options\n## A\n## A\n```\n# not a heading\n```\n')])
      .toEqual(['several-issuers-tenants', 'requireauth-options', 'a', 'a-1']);
    expect(linkTargets('[a](x.md#y) `[b](z.md)` <img src="s.png"> ![c](i.png)\n```\n[d](w.md)\n```\n'))
      .toEqual(['x.md#y', 'i.png', 's.png']);
    expect(brokenLink('README.md', 'docs/nowhere.md')).toMatch(/no such file/);
    expect(brokenLink('README.md', '#no-such-heading')).toMatch(/no heading/);
    expect(brokenLink('docs/README.md', '../README.md#contents')).toBeUndefined();
  });
});
