// The libseccomp version `diyc-oci --version` names, from the native addon: loaded only
// for --version and help (cli.ts).
export { seccompVersion } from '@diyc/syscalls';
