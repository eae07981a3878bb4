// Who a container's command runs as: docker's -u (a name or number, with a group), looked
// up in the container's own /etc/passwd and /etc/group, read inside its root (a symlinked
// /etc never sends the lookup to the host's files).
import { ANNOTATION, DiycError, setEnv, type ContainerRecord, type RecordUser } from '@diyc/record';
import { readInRoot } from './rootfs-files.js';

/** Who the command runs as: uid, gid, the supplementary groups, and the home directory. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

const fieldsOf = (table: string): string[][] =>
  table
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));

/**
 * A user as docker's -u takes it ("1000", "1000:100", "nobody", "nobody:nogroup"), looked
 * up in the image's /etc/passwd and /etc/group: a name must be there; a number need not
 * be (then its group is 0 and its home /, as docker has it). The supplementary groups are
 * those /etc/group lists the user in.
 */
export function resolveUser(user: string, passwd: string, group: string): ResolvedUser {
  const [u = '', g] = user.split(':');
  const users = fieldsOf(passwd);
  const groups = fieldsOf(group);
  const entry = /^\d+$/.test(u) ? users.find((f) => f[2] === u) : users.find((f) => f[0] === u);
  if (!entry && !/^\d+$/.test(u)) throw new DiycError('not-found', `user '${u}' is not in the image's /etc/passwd`);
  // The image's files are the image maker's: a uid or gid that is not a number is refused.
  const id = (text: string | undefined, what: string): number => {
    if (text === undefined || !/^\d+$/.test(text) || Number(text) > 0xfffffffe)
      throw new DiycError('invalid', `the image's ${what} for '${user}' is '${text}', not a number`);
    return Number(text);
  };
  const uid = id(entry?.[2] ?? u, 'uid');
  let gid = id(entry?.[3] ?? '0', 'gid');
  if (g !== undefined) {
    const row = /^\d+$/.test(g) ? undefined : groups.find((f) => f[0] === g);
    if (!/^\d+$/.test(g) && !row) throw new DiycError('not-found', `group '${g}' is not in the image's /etc/group`);
    gid = id(row?.[2] ?? g, 'group id');
  }
  const name = entry?.[0];
  const additionalGids =
    name === undefined
      ? []
      : groups
          .filter((f) => (f[3] ?? '').split(',').includes(name))
          .filter((f) => /^\d+$/.test(f[2] ?? ''))
          .map((f) => Number(f[2]))
          .filter((g) => g !== gid);
  return { uid, gid, additionalGids: [...new Set(additionalGids)], home: entry?.[5] || (uid === 0 ? '/root' : '/') };
}

/** USER[:GROUP] in the container's own /etc/passwd and /etc/group, read inside its root. */
export function lookUpUser(record: ContainerRecord, user: string): { user: RecordUser; home: string } {
  const rootfs = record.root?.path;
  if (!rootfs) throw new DiycError('state', `cannot look up user ${user}: the container has no root filesystem`);
  const read = (p: string): string => readInRoot(rootfs, p) ?? '';
  const found = resolveUser(user, read('/etc/passwd'), read('/etc/group'));
  return {
    user: { uid: found.uid, gid: found.gid, ...(found.additionalGids.length > 0 ? { additionalGids: found.additionalGids } : {}) },
    home: found.home,
  };
}

/**
 * The user the command runs as (diyc-run's --user, else the image's User), looked up in
 * the container's own files; and HOME, when neither the image nor -e set it, as that
 * user's home directory.
 */
export function applyUser(record: ContainerRecord): void {
  const user = record.annotations[ANNOTATION.user] ?? record.annotations[ANNOTATION.imageUser];
  let home = '/root';
  if (user && record.root?.path && !record.process.user) {
    const found = lookUpUser(record, user);
    record.process.user = found.user;
    home = found.home;
  }
  if (!record.process.env.some((e) => e.startsWith('HOME='))) record.process.env = setEnv(record.process.env, 'HOME', home);
}
