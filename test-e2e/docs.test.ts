// The docs as a test: every shell block a page marks `runnable` is run, in order, as root,
// with a state root, bridge, subnet and cgroup parent of the test's own; where the page
// shows the output (a `text output` block right after), the output must be the same. A
// line of shown output may hold `...` for what changes from run to run (pids, digests,
// times). Blocks marked `cleanup` run after the page, even when it failed. Every link to
// the code and between pages must resolve, and the site must build.
//
//   DOCS_UPDATE=1 pnpm vitest run test-e2e/docs.test.ts   rewrites the shown outputs (then
//   put `...` back where a run differs)
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCgroupManager } from '@diyc/cgroup';
import { rootTag } from '@diyc/record';
import { busyboxTarball, isRoot, repo, rootReason, runBin, runCommand, tempDir, testNetwork, userEnv } from './helpers.js';

const docs = join(repo, 'docs');
const pages = existsSync(docs)
  ? readdirSync(docs)
      .filter((f) => f.endsWith('.md'))
      .sort()
  : [];
const REPO_URL = 'https://github.com/diyc/diyc/blob/main/';

interface Block {
  line: number;
  code: string;
  meta: string[];
  /** The output the page shows, and where its fence starts (for DOCS_UPDATE). */
  expected?: { text: string; start: number; end: number };
}

/** The fenced blocks of a page: runnable shell ones, each with the output block after it. */
export function blocksOf(markdown: string): Block[] {
  const fences = [...markdown.matchAll(/^```(\w*)([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm)];
  const blocks: Block[] = [];
  fences.forEach((m, i) => {
    const [lang, meta] = [m[1] as string, (m[2] as string).trim().split(/\s+/)];
    if (!['sh', 'bash', 'console'].includes(lang) || !meta.includes('runnable')) return;
    const block: Block = { line: markdown.slice(0, m.index).split('\n').length, code: m[3] as string, meta };
    const next = fences[i + 1];
    const end = (m.index as number) + m[0].length;
    if (next && next[1] === 'text' && (next[2] as string).includes('output') && markdown.slice(end, next.index).trim() === '') {
      block.expected = { text: next[3] as string, start: next.index as number, end: (next.index as number) + next[0].length };
    }
    blocks.push(block);
  });
  return blocks;
}

/** Does `actual` match `expected`, line by line, `...` standing for any text? */
export function matchesOutput(expected: string, actual: string): boolean {
  const want = expected.trimEnd().split('\n');
  const got = actual.trimEnd().split('\n');
  if (want.length !== got.length) return false;
  return want.every((line, i) => {
    const pattern = line
      .trimEnd()
      .split('...')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${pattern}$`).test((got[i] as string).trimEnd());
  });
}

describe("the docs' links", () => {
  it.each(pages)('%s: every link to the code and to another page resolves', (page) => {
    const text = readFileSync(join(docs, page), 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const link = target as string;
      if (link.startsWith(REPO_URL)) {
        expect(existsSync(join(repo, link.slice(REPO_URL.length).replace(/#.*$/, ''))), `${page}: ${link}`).toBe(true);
      } else if (!/^(https?:|mailto:|#)/.test(link)) {
        const file = link
          .replace(/#.*$/, '')
          .replace(/^\//, '')
          .replace(/\.html$/, '');
        const path = join(docs, file.endsWith('.md') ? file : `${file || 'index'}.md`);
        const asset = join(docs, 'public', file);
        expect(existsSync(path) || existsSync(asset), `${page}: ${link}`).toBe(true);
      }
    }
  });

  it('every page has a "see the code" link', () => {
    const chapters = pages.filter((p) => !['index.md', 'install.md', 'comparison.md'].includes(p));
    for (const page of chapters) expect(readFileSync(join(docs, page), 'utf8'), page).toContain(REPO_URL);
  });
});

describe.skipIf(!isRoot)(`the docs' commands (${rootReason})`, () => {
  for (const page of pages) {
    const markdown = readFileSync(join(docs, page), 'utf8');
    const blocks = blocksOf(markdown);
    if (blocks.length === 0) continue;

    describe(page, () => {
      // Made in beforeAll: a run filtered to other pages makes none, so leaves none.
      let work = { path: '', remove: () => {} };
      let root = '';
      let env: NodeJS.ProcessEnv = {};
      const tag = page.slice(0, 3);
      const { bridge, prefix, subnet } = testNetwork(`x${tag}`);
      const parent = `diyc-e2e-docs-${process.pid}`;
      beforeAll(() => {
        work = tempDir(`diyc-docs-${page.replace(/\.md$/, '')}-`);
        root = join(work.path, 'state');
        env = userEnv({
          ...process.env,
          DIYC_ROOT: root,
          DIYC_BRIDGE: bridge,
          DIYC_SUBNET: subnet,
          DIYC_CGROUP_PARENT: parent,
          NO_COLOR: '1',
        });
        copyFileSync(busyboxTarball(), join(work.path, 'busybox.tar'));
      });
      // The page speaks of diyc's defaults; the test runs on its own names.
      const toTest = (text: string) =>
        text
          .replaceAll('diyc0', bridge)
          .replaceAll('172.16.0.', `${prefix}.`)
          .replaceAll('/sys/fs/cgroup/memory/diyc/', `/sys/fs/cgroup/memory/${parent}/`);
      // The default root's kernel names are diyc-NAME; the test's root tags them (rootTag).
      const toPage = (text: string) =>
        text
          .replaceAll(`diyc-${rootTag(root)}-`, 'diyc-')
          .replaceAll(root, '/var/lib/diyc')
          .replaceAll(bridge, 'diyc0')
          .replaceAll(`${prefix}.`, '172.16.0.')
          .replaceAll(parent, 'diyc')
          .replaceAll(work.path, '~');
      const updates: { start: number; end: number; text: string }[] = [];
      const run = (code: string) =>
        runCommand('bash', ['-e', '-o', 'pipefail', '-c', `exec 2>&1\ncd ${work.path}\n${toTest(code)}`], { env, timeoutMs: 120_000 });

      afterAll(async () => {
        for (const block of blocks.filter((b) => b.meta.includes('cleanup'))) await run(block.code);
        const containers = join(root, 'containers');
        for (const name of existsSync(containers) ? readdirSync(containers) : []) await runBin('diyc-rm', ['-f', name], { env });
        await runBin('diyc-net', ['clean'], { env });
        createCgroupManager({ parent }).pruneParent();
        // diyc-oci's default cgroup parent, when a page's bundle left it empty.
        createCgroupManager({ parent: 'diyc-oci' }).pruneParent();
        work.remove();
        if (process.env.DOCS_UPDATE && updates.length > 0) {
          let text = markdown;
          for (const u of updates.sort((a, b) => b.start - a.start)) text = `${text.slice(0, u.start)}${u.text}${text.slice(u.end)}`;
          writeFileSync(join(docs, page), text);
        }
      }, 120_000);

      for (const block of blocks.filter((b) => !b.meta.includes('cleanup'))) {
        it(`the block at line ${block.line} runs${block.expected ? ' and prints what the page shows' : ''}`, async () => {
          const r = await run(block.code);
          const output = toPage(r.stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\r/g, ''));
          expect(r.code, `${page}:${block.line}\n${output}`).toBe(block.meta.includes('fails') ? r.code || 1 : 0);
          if (!block.expected) return;
          if (process.env.DOCS_UPDATE && !matchesOutput(block.expected.text, output)) {
            updates.push({ start: block.expected.start, end: block.expected.end, text: `\`\`\`text output\n${output.trimEnd()}\n\`\`\`` });
            return;
          }
          expect(
            matchesOutput(block.expected.text, output),
            `${page}:${block.line} printed:\n${output}\nthe page shows:\n${block.expected.text}`,
          ).toBe(true);
        });
      }
    });
  }
});

describe('the site', () => {
  it('builds with VitePress, dead links included', async () => {
    const r = await runCommand('pnpm', ['docs:build'], { env: { ...process.env, CI: '1' }, timeoutMs: 300_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(existsSync(join(docs, '.vitepress', 'dist', 'index.html'))).toBe(true);
  }, 300_000);
});

// The test of the test: the parser and the matcher.
describe('blocksOf and matchesOutput', () => {
  it('finds runnable blocks and the output shown after each', () => {
    const md = 'a\n```sh runnable\necho hi\n```\n\n```text output\nhi\n```\n```sh\nnot run\n```\n```sh runnable cleanup\nrm x\n```\n';
    const blocks = blocksOf(md);
    expect(blocks.map((b) => [b.line, b.code, b.expected?.text])).toEqual([
      [2, 'echo hi\n', 'hi\n'],
      [12, 'rm x\n', undefined],
    ]);
  });
  it('matches line by line, with ... for any text', () => {
    expect(matchesOutput('pid ...\nok\n', 'pid 42\nok')).toBe(true);
    expect(matchesOutput('pid ...\nok\n', 'pid 42\nnot ok')).toBe(false);
    expect(matchesOutput('a (b) [c]', 'a (b) [c]')).toBe(true);
    expect(matchesOutput('one', 'one\ntwo')).toBe(false);
  });
});
