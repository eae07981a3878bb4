// The pure parts of diyc-image: compression sniffing, PAX attributes, names. (The tar reader: tar-parser.test.ts.)
// (Unpacking real archives is tested end to end in test-e2e/image.test.ts.)
import { describe, expect, it } from 'vitest';
import { detectCompression, ImageStore, nameFromFile, parsePaxXattrs } from '../src/index.js';

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
  // Pairing attributes with their entry, and the device numbers of GNU headers: tar-parser.test.ts.
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
