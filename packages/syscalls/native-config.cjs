// Tells binding.gyp how to link libseccomp on this machine:
//   node native-config.cjs defines     -> DIYC_HAVE_SECCOMP when its header is installed
//   node native-config.cjs libraries   -> the static archive when there is one (a prebuilt
//                                         addon then needs no libseccomp at run time), else
//                                         the shared library, else nothing
// Without libseccomp-dev the addon still builds; a seccomp profile then fails with a
// message that says to install it.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');

const compiler = process.env.CXX || 'c++';
function found(name) {
  try {
    const path = execFileSync(compiler, [`-print-file-name=${name}`], { encoding: 'utf8' }).trim();
    return path.startsWith('/') && existsSync(path);
  } catch {
    return false;
  }
}
const header = ['/usr/include/seccomp.h', '/usr/local/include/seccomp.h'].some((p) => existsSync(p));
const what = process.argv[2];
if (what === 'defines') console.log(header ? 'DIYC_HAVE_SECCOMP' : '');
else if (what === 'libraries') console.log(!header ? '' : found('libseccomp.a') ? '-l:libseccomp.a' : '-lseccomp');
