// The pure parts of diyc-image: compression sniffing, PAX attributes, names.
// (Unpacking real archives is tested end to end in test-e2e/image.test.ts.)
import { describe, expect, it } from 'vitest';
import { detectCompression, HeaderTap, ImageStore, nameFromFile, parsePaxXattrs } from '../src/index.js';

const pax = (key: string, value: Buffer): Buffer => {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
};

describe('PAX extended attributes', () => {
  it('keeps binary values byte for byte (file capabilities are binary)', () => {
    const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0x80]);
    const into = new Map<string, Buffer>();
    parsePaxXattrs(Buffer.concat([pax('path', Buffer.from('bin/ping')), pax('SCHILY.xattr.security.capability', cap)]), into);
    expect([...into.keys()]).toEqual(['security.capability']);
    expect(into.get('security.capability')).toEqual(cap);
  });

  it('pairs the attributes with their entry as the stream arrives, in any chunking', () => {
    const header = (name: string, type: string, size: number): Buffer => {
      const b = Buffer.alloc(512);
      b.write(name, 0);
      b.write(size.toString(8).padStart(11, '0'), 124);
      b.write(type, 156);
      return b;
    };
    const body = pax('SCHILY.xattr.user.x', Buffer.from('1'));
    const padded = Buffer.concat([body, Buffer.alloc(512 - body.length)]);
    const stream = Buffer.concat([header('a', '0', 0), header('PaxHeader', 'x', body.length), padded, header('b', '0', 0), Buffer.alloc(1024)]);
    for (const size of [1, 7, 512, 100_000]) {
      const tap = new HeaderTap();
      for (let i = 0; i < stream.length; i += size) tap.write(stream.subarray(i, i + size));
      expect(tap.queue.map(({ xattrs: x }) => (x ? Object.fromEntries([...x].map(([k, v]) => [k, v.toString()])) : null))).toEqual([null, { 'user.x': '1' }]);
    }
  });

  it('reads the device numbers of a GNU-format header, which node-tar leaves out', () => {
    // GNU tar's header: magic "ustar  \0", devmajor at 329 and devminor at 337, in octal.
    const gnu = Buffer.alloc(512);
    gnu.write('dev/kmsg', 0);
    gnu.write('00000000000', 124);
    gnu.write('3', 156);
    gnu.write('ustar  \0', 257, 'latin1');
    gnu.write('0000001', 329);
    gnu.write('0000013', 337);
    const tap = new HeaderTap();
    tap.write(Buffer.concat([gnu, Buffer.alloc(1024)]));
    expect(tap.queue).toEqual([{ xattrs: null, device: { major: 1, minor: 11 } }]);
  });
});

describe('detectCompression', () => {
  it('reads gzip, passes plain tar, and names what it cannot read', () => {
    expect(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0]))).toBe('gzip');
    expect(detectCompression(Buffer.from('bin/\0\0\0\0'))).toBe('none');
    expect(() => detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))).toThrow(/xz -dc FILE \| diyc-image unpack -/);
    expect(() => detectCompression(Buffer.from('BZh91AY'))).toThrow(/bzip2/);
  });
});

describe('nameFromFile', () => {
  it('drops the archive extensions', () => {
    expect(nameFromFile('/x/busybox.tar')).toBe('busybox');
    expect(nameFromFile('alpine-3.19.tar.gz')).toBe('alpine-3.19');
    expect(nameFromFile('debian.tgz')).toBe('debian');
  });
});

describe('ImageStore layer paths', () => {
  it('refuses a diff_id that is not sha256:64-hex, so an image config cannot name a host directory', () => {
    const store = new ImageStore('/var/lib/diyc-test-store');
    const good = `sha256:${'a'.repeat(64)}`;
    expect(store.layerPath(good)).toBe(`/var/lib/diyc-test-store/layers/${'a'.repeat(64)}`);
    expect(store.layerShortPath(good)).toBe(`l/${'a'.repeat(12)}`);
    for (const bad of ['sha256:../../../../etc', `sha512:${'a'.repeat(64)}`, `sha256:${'A'.repeat(64)}`, 'sha256:/etc', '']) {
      expect(() => store.layerPath(bad), bad).toThrow(/is not a layer digest/);
      expect(() => store.hasLayer(bad), bad).toThrow(/is not a layer digest/);
    }
  });
});
