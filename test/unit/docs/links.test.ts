import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pages, root } from './pages.js';

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] ?? '')));
}

/** Every relative link of a page: `[text](target)` outside fenced code. */
function links(page: string): string[] {
  const text = readFileSync(join(root, page), 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? '')
    .filter((target) => !/^[a-z]+:/.test(target));
}

describe('README and docs/ links', () => {
  it('the pages have links to check', () => {
    expect(links('README.md').length).toBeGreaterThan(10);
  });

  it.each(pages)('every relative link of %s names a file (and heading) that exists', (page) => {
    const broken: string[] = [];
    for (const target of links(page)) {
      const [path = '', anchor] = target.split('#');
      const file = path === '' ? join(root, page) : resolve(dirname(join(root, page)), path);
      if (!existsSync(file)) broken.push(`${target} (no ${relative(root, file)})`);
      else if (anchor && file.endsWith('.md') && !anchors(file).has(anchor))
        broken.push(`${target} (no heading #${anchor})`);
    }
    expect(broken).toEqual([]);
  });

  it('the docs cite nothing a reader cannot see (no SPEC sections, issue numbers, proof-issue benchmarks)', () => {
    const cites: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8');
      for (const m of text.matchAll(/SPEC §\d|\bissue \d+|proof issue|before 0\.2/g))
        cites.push(`${page}: ${m[0]}`);
    }
    expect(cites).toEqual([]);
  });
});
