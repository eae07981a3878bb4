// The stdio a container's process gets from `diyc run -i` and `diyc exec`: never a host file.
//
// Any process of the container can reopen another's descriptors through /proc/PID/fd/N.
// That is a magic link: it opens the very inode behind the descriptor, anew, for writing if
// the opener's capabilities allow it (root's CAP_DAC_OVERRIDE ignores the mode), and chmod,
// chown and truncate through it change that inode. A descriptor of ours handed in as it is
// would give the container a host file: `diyc run -i c < notes.txt` (notes.txt rewritten),
// `diyc exec c cmd > out.log` (chmod 666), a shell's /dev/null (chmod 600: the whole host's
// broken), the user's terminal (its keys read long after the exec ended). docker never
// hands one: stdin and output go through its daemon's pipes. So here, as there:
//
//   an anonymous pipe or a socket   handed in: reopened, it is that same pipe (a socket
//                                   cannot be opened at all), no file of the host's
//   a closed descriptor             left as it is (the child has none either)
//   anything else                   a pipe of ours, copied to or from ours
//
// A terminal is a host file too: copied like the others. Stdin without -i is an empty pipe
// (end of file at once), as docker gives nothing.
// https://man7.org/linux/man-pages/man5/proc_pid_fd.5.html
import { closeSync, constants, fstatSync, openSync, readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Container } from '@diyc/container';
import { DiycError } from '@diyc/record';
import { O, pipe, resolveInRoot } from '@diyc/syscalls';
import { withContainerRoot } from './cp.js';
import { net } from './lazy-builtins.js';

/** How long output is still copied once the process has ended (a process it left may hold the pipe). */
const DRAIN_MS = 250;

type Kind = 'private' | 'closed' | 'host';

/** What our descriptor `fd` is, for handing it to a container. */
export function kindOf(fd: number): Kind {
  let target: string;
  try {
    target = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return 'closed';
  }
  return /^(pipe|socket):\[\d+\]$/.test(target) ? 'private' : 'host';
}

/** The stdio for a process of a container, and what to undo once it has ended. */
export interface HostStdio {
  /** For the spawn: a descriptor for each of 0, 1 and 2, or null for this process's own. */
  stdio: [number | null, number | null, number | null];
  /** Once the process is spawned: our copies of its ends go, so its end reads as end of file here. */
  spawned(): void;
  /** Once the process has ended: what it wrote is copied (for at most DRAIN_MS more), our input stops. */
  close(): Promise<void>;
}

/**
 * Stdio for a process in the foreground: stdin copied from ours with `interactive` (an
 * empty pipe without), 1 and 2 handed in or copied, as the table at the top says. With
 * `outputs` false, 1 and 2 are left to the caller (a foreground run's log has its pipes).
 * With `deferInput`, stdin is copied from spawned() on, which the caller calls once the
 * process is cloned and before it is let go (exec's onSpawn).
 */
export function hostStdio(options: { interactive: boolean; outputs: boolean; deferInput?: boolean }): HostStdio {
  const childEnds: number[] = [];
  const streams: Socket[] = [];
  const ends: Promise<void>[] = [];
  let input: { stream: Socket; from: NodeJS.ReadableStream } | undefined;
  let startInput: (() => void) | undefined;
  const stdio: [number | null, number | null, number | null] = [null, null, null];

  if (!options.interactive) {
    const [read, write] = pipe();
    closeSync(write);
    stdio[0] = read;
    childEnds.push(read);
  } else if (kindOf(0) === 'host') {
    const [read, write] = pipe();
    stdio[0] = read;
    childEnds.push(read);
    // Our write end must not be in the process clone(2) makes: an exec's relay, forked from
    // it, keeps every descriptor it had, and the command would never read end of file. So
    // it is opened again from the read end (a pipe's /proc/self/fd link opens that pipe)
    // once the process exists and before it is let go; or at once, for a caller with no
    // such moment (a container's first process closes all but 0, 1 and 2 as it execs).
    closeSync(write);
    startInput = () => {
      const stream = new (net().Socket)({ fd: openSync(`/proc/self/fd/${read}`, constants.O_WRONLY), readable: false, writable: true });
      // The process may end, or close its stdin, before reading it all: EPIPE is its choice.
      stream.on('error', () => stream.destroy());
      process.stdin.pipe(stream);
      input = { stream, from: process.stdin };
    };
    if (!options.deferInput) startInput();
  }
  if (options.outputs) {
    for (const fd of [1, 2] as const) {
      if (kindOf(fd) !== 'host') continue;
      const [read, write] = pipe();
      stdio[fd] = write;
      childEnds.push(write);
      const stream = new (net().Socket)({ fd: read, readable: true, writable: false });
      stream.on('error', () => stream.destroy());
      stream.pipe(fd === 1 ? process.stdout : process.stderr, { end: false });
      streams.push(stream);
      ends.push(new Promise((resolve) => stream.once('close', () => resolve())));
    }
  }

  let closedEnds = false;
  const closeChildEnds = (): void => {
    if (closedEnds) return;
    closedEnds = true;
    if (!input) startInput?.();
    for (const fd of childEnds) closeSync(fd);
  };
  return {
    stdio,
    spawned: closeChildEnds,
    async close() {
      // Ended before it was spawned: nothing to copy to it any more.
      startInput = undefined;
      closeChildEnds();
      if (input) {
        input.from.unpipe(input.stream);
        input.stream.destroy();
        // Our stdin is read no more: this process may end (a terminal's keys stay the shell's).
        (input.from as NodeJS.ReadStream).pause();
        (input.from as NodeJS.ReadStream & { destroy?: () => void }).destroy?.();
      }
      await Promise.race([Promise.all(ends), new Promise((resolve) => setTimeout(resolve, DRAIN_MS))]);
      for (const s of streams) s.destroy();
    },
  };
}

/** makedev(1, 3): the null device. */
const NULL_RDEV = (1 << 8) | 3;

/**
 * The container's own /dev/null, opened read-write: stdio for a process left running
 * (`diyc exec -d`), whose output docker discards. It is the node in the container's /dev,
 * not the host's: a chmod through /proc/PID/fd reaches only the container's. Found inside
 * its root and opened as an O_PATH descriptor first, so that no device but the null one
 * is ever opened, whatever the container put there.
 */
export function containerNull(container: Container): number {
  return withContainerRoot(container, (rootFd) => {
    const pathFd = resolveInRoot(rootFd, '/dev/null', O.PATH);
    try {
      const st = fstatSync(pathFd);
      if (!st.isCharacterDevice() || st.rdev !== NULL_RDEV)
        throw new DiycError(
          'state',
          `container ${container.name}'s /dev/null is not the null device: diyc exec -d hands it no other file; run it in the foreground`,
        );
      return openSync(`/proc/self/fd/${pathFd}`, constants.O_RDWR);
    } finally {
      closeSync(pathFd);
    }
  });
}
