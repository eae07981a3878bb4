#!/usr/bin/env node
// Builds diyc's default image: a busybox rootfs tarball.
//
//   node tools/make-busybox-image.mjs [OUT.tar]     (default: tools/out/busybox.tar)
//
// It takes a static busybox (Debian's busybox-static installs /bin/busybox; BUSYBOX=path
// picks another), makes a link for each applet, the files a container expects
// (/etc/passwd, /etc/group, /etc/hosts), and the mount points a runtime mounts on.
// Owners are 0:0 whoever runs it, and mtimes are fixed, so the tarball is the same
// bytes each time for the same busybox.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, 'out', 'busybox.tar'));

/** True for a 64-bit little-endian ELF file without a PT_INTERP program header (no dynamic loader). */
function isStaticElf(path) {
  const elf = readFileSync(path);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (elf.readUInt32LE(phoff + i * phentsize) === 3) return false; // PT_INTERP
  }
  return true;
}

function findBusybox() {
  const candidates = [process.env.BUSYBOX, '/bin/busybox', '/usr/bin/busybox'].filter(Boolean);
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    // A dynamically linked busybox would need the host's libc inside the image.
    if (isStaticElf(c)) return c;
  }
  throw new Error('no static busybox found: install it with `apt-get install busybox-static` (or set BUSYBOX=/path/to/static/busybox)');
}

const busybox = findBusybox();
const stage = mkdtempSync(join(tmpdir(), 'diyc-busybox-'));
try {
  for (const dir of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'proc',
    'sys',
    'dev',
    'tmp',
    'root',
    'home',
    'var/www',
    'var/log',
    'run',
    'mnt',
  ]) {
    mkdirSync(join(stage, dir), { recursive: true });
  }
  chmodSync(join(stage, 'tmp'), 0o1777);
  chmodSync(join(stage, 'root'), 0o700);
  copyFileSync(busybox, join(stage, 'bin/busybox'));
  chmodSync(join(stage, 'bin/busybox'), 0o755);
  const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const applet of applets) {
    const path = join(stage, applet);
    if (applet === 'bin/busybox' || existsSync(path)) continue;
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(relative(dirname(path), join(stage, 'bin/busybox')), path);
  }
  writeFileSync(join(stage, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFileSync(join(stage, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  writeFileSync(join(stage, 'etc/hosts'), '127.0.0.1\tlocalhost\n');
  writeFileSync(join(stage, 'etc/profile'), 'export PS1="\\h:\\w\\$ "\n');
  writeFileSync(join(stage, 'var/www/index.html'), 'hello from diyc\n');
  mkdirSync(dirname(out), { recursive: true });
  const files = execFileSync('ls', ['-A', stage], { encoding: 'utf8' }).split('\n').filter(Boolean);
  await tar.create(
    {
      file: out,
      cwd: stage,
      portable: true,
      mtime: new Date('2024-01-01T00:00:00Z'),
      // Owners 0:0 and mode bits as staged.
      onWriteEntry: (entry) => {
        entry.uid = 0;
        entry.gid = 0;
      },
    },
    files.sort(),
  );
  console.log(`${out}: busybox rootfs (${applets.length} applets from ${busybox})`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
