// The pure parts of diyc-overlay. (Real overlay mounts: test-e2e/overlay.test.ts.)
import { describe, expect, it } from 'vitest';
import { ImageStore } from '@diyc/image';
import { mountAt, overlayOptions, parseMountinfo, PAGE_SIZE, rootfsPaths } from '../src/index.js';

describe('parseMountinfo', () => {
  it('reads mount points, unescaping spaces, and finds the top mount on a path', () => {
    const text = [
      '36 25 0:32 / /var/lib/diyc/containers/a\\040b/merged rw,relatime - overlay overlay rw,lowerdir=l/x',
      '37 36 0:33 / /var/lib/diyc/containers/a\\040b/merged rw - tmpfs tmpfs rw',
    ].join('\n');
    const mounts = parseMountinfo(text);
    expect(mounts[0]).toMatchObject({ mountPoint: '/var/lib/diyc/containers/a b/merged', fstype: 'overlay' });
    expect(mountAt('/var/lib/diyc/containers/a b/merged', mounts)?.fstype).toBe('tmpfs');
  });
});

describe('overlayOptions', () => {
  it("lists 40 layers top first by their short links under the store's descriptor, within one page", () => {
    const store = new ImageStore('/var/lib/diyc');
    const layers = Array.from({ length: 40 }, (_, i) => `sha256:${i.toString(16).padStart(2, '0')}${'a'.repeat(62)}`);
    const options = overlayOptions(
      store,
      { name: 'x', layers, config: {}, source: '', created: '', size: 0 },
      rootfsPaths('box', '/var/lib/diyc'),
      '/proc/self/fd/23',
    );
    const lower = /lowerdir=([^,]*)/.exec(options)?.[1]?.split(':') ?? [];
    expect(lower).toHaveLength(40);
    expect(lower[0]).toBe(`/proc/self/fd/23/l/27${'a'.repeat(10)}`);
    expect(new Set(lower).size).toBe(40);
    expect(options).toContain('upperdir=/var/lib/diyc/containers/box/upper,workdir=/var/lib/diyc/containers/box/work');
    expect(options.length).toBeLessThan(PAGE_SIZE);
  });
});
