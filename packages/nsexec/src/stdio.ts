// A container never holds the user's terminal. A process that has a terminal as its
// controlling tty can push bytes into its input with ioctl(TIOCSTI) (ioctl_tty(2)): a
// container given the user's own terminal could type a command that the user's shell
// runs, as root on the host, once the container exits. So:
//
//   on a terminal   the container gets a pty of its own, opened in its own devpts by
//                   its first process (child.cc, SetUpConsole), whose master comes back
//                   over a socketpair; this process puts the user's terminal in raw mode
//                   and copies bytes both ways, passes on the window size, and restores
//                   the terminal on every way out. As `runc run` and `docker run -it` do,
//                   and as runc: the user's terminal is the first of stderr, stdout and
//                   stdin that is one, else the controlling terminal (/dev/tty), and the
//                   pty does not turn "\n" into "\r\n" (ONLCR off: the user's own terminal
//                   does that, and a pipe gets the container's bytes as they are).
//   without one     the container starts a session of its own (setsid(2): no
//                   controlling tty, so TIOCSTI is refused), and any of its stdout and
//                   stderr that would be the user's terminal is a pipe copied here
//                   (by the addon's relay: no Node stream is made).
//
// pty(7), termios(3) (raw mode), unix(7) (SCM_RIGHTS), ioctl_tty(2) (TIOCSWINSZ).
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { getWindowSize, pipe, recvFd, relay, setWindowSize, socketpair, type Relay, type SpawnPlan } from '@diyc/syscalls';

// node:tty costs a few ms to load: only when a terminal is proxied.
const require = createRequire(import.meta.url);
const tty = (): typeof import('node:tty') => require('node:tty') as typeof import('node:tty');
const childProcess = (): typeof import('node:child_process') => require('node:child_process') as typeof import('node:child_process');

/** How long output is still read once the process has ended (a child it left may hold the pty). */
const DRAIN_MS = 250;

/**
 * True when `fd` is a terminal (a character device that answers TIOCGWINSZ), asked without
 * a Node stream: reading process.stdin.isTTY makes process.stdin, which loads Node's
 * streams (about 4 ms of every start).
 */
export function isTerminal(fd: number): boolean {
  try {
    return fstatSync(fd).isCharacterDevice() && getWindowSize(fd) !== null;
  } catch {
    return false;
  }
}

/**
 * The user's terminal, as runc finds it (tty.go initHostConsole): the first of stderr,
 * stdout and stdin that is a terminal; else the controlling terminal, /dev/tty, opened
 * (`opened`: ours to close); else none (runc fails there; diyc proxies without one).
 */
function hostConsole(): { fd: number; opened: boolean } | undefined {
  for (const fd of [2, 1, 0]) if (isTerminal(fd)) return { fd, opened: false };
  try {
    const fd = openSync('/dev/tty', constants.O_RDWR | constants.O_NOCTTY);
    if (isTerminal(fd)) return { fd, opened: true };
    closeSync(fd);
  } catch {
    /* no controlling terminal */
  }
  return undefined;
}

/**
 * ONLCR off on the pty (runc's console.ClearONLCR on the master, whose termios is the
 * pty's): stty on that fd, as Node has no tcsetattr(3). Without stty, it stays on.
 */
function clearOnlcr(master: number): void {
  try {
    childProcess().spawnSync('stty', ['-onlcr'], { stdio: [master, 'ignore', 'ignore'], timeout: 5000 });
  } catch {
    /* no stty: "\r\n" it is */
  }
}

export interface StdioProxyOptions {
  /** Give the process a pty of its own, proxied to this process's terminal. */
  terminal: boolean;
  /** Descriptors for the process's 0, 1, 2 (null: this process's own). */
  stdio?: [number | null, number | null, number | null];
}

/**
 * What stands between a container's process and this process's stdio. Made before the
 * spawn (plan() gives the plan's fields), told when the child exists (spawned()) and when
 * it has exec'd (started()), and finished when it has ended (finish()).
 */
export class StdioProxy {
  readonly terminal: boolean;
  #socket: [number, number] | undefined;
  /** The pipes of the process's stdout and stderr, when they go to a terminal: each copied to `to` (relay). */
  #pipes: { read: number; write: number; to: number }[] = [];
  #relays: Relay[] = [];
  #master: import('node:tty').ReadStream | undefined;
  #streams: Readable[] = [];
  #ended: Promise<void>[] = [];
  #restore: (() => void) | undefined;
  #onResize: (() => void) | undefined;
  #stdio: [number | null, number | null, number | null];
  #console: { fd: number; opened: boolean } | undefined;

  constructor(options: StdioProxyOptions) {
    this.terminal = options.terminal;
    this.#stdio = options.stdio ?? [null, null, null];
  }

  /** The spawn plan's fields: a console socket and its size, or a new session and pipes. */
  plan(): Pick<SpawnPlan, 'consoleFd' | 'consoleSize' | 'setsid' | 'stdio'> {
    if (this.terminal) {
      this.#socket = socketpair();
      this.#console = hostConsole();
      const size = this.#console ? getWindowSize(this.#console.fd) : null;
      return { consoleFd: this.#socket[1], ...(size ? { consoleSize: size } : {}) };
    }
    const stdio: [number | null, number | null, number | null] = [...this.#stdio];
    for (const fd of [1, 2] as const) {
      const target = stdio[fd] ?? fd;
      if (!isTerminal(target)) continue;
      const [read, write] = pipe();
      this.#pipes.push({ read, write, to: target });
      stdio[fd] = write;
    }
    return { setsid: true, stdio };
  }

  /** The child exists: our copies of its ends go, so its exit reads as end of file here. */
  spawned(): void {
    if (this.#socket) {
      closeSync(this.#socket[1]);
    }
    for (const p of this.#pipes) {
      closeSync(p.write);
      // Copied by the addon, not a stream: process.stdout on a terminal costs ~8 ms of CPU.
      const copy = relay(p.read, p.to);
      this.#relays.push(copy);
      this.#ended.push(copy.ended);
    }
  }

  /**
   * The process has exec'd: its pty's master is waiting on the socket. From here the
   * user's keys go to the container's terminal and its output comes back.
   */
  started(): void {
    // Once: a second call (the caller started it before the command ran) finds no socket.
    if (!this.#socket) return;
    const master = recvFd(this.#socket[0]);
    closeSync(this.#socket[0]);
    this.#socket = undefined;
    if (master === null) return;
    clearOnlcr(master);
    const stream = new (tty().ReadStream)(master);
    this.#master = stream;
    // The other end closed (every process holding it is gone): EIO, which is the end.
    stream.on('error', () => stream.destroy());
    stream.pipe(process.stdout, { end: false });
    this.#track(stream);
    const input = process.stdin;
    const host = this.#console;
    if (host) {
      // Raw mode on the user's terminal (Node's keeps output processing on, as runc's SetRaw).
      const console = host.fd === 0 && input.isTTY ? input : new (tty().ReadStream)(host.fd);
      try {
        console.setRawMode(true);
        const restore = (): void => {
          try {
            console.setRawMode(false);
          } catch {
            /* the terminal is gone */
          }
        };
        this.#restore = restore;
        // Raw mode is put back however this process ends: an error, process.exit, a signal
        // Node turns into an exit.
        process.once('exit', restore);
      } catch {
        /* not a terminal after all */
      }
    }
    input.on('data', this.#forward);
    input.resume();
    const resize = (): void => {
      const size = host ? getWindowSize(host.fd) : null;
      if (size && this.#master) {
        try {
          setWindowSize(master, size.rows, size.cols);
        } catch {
          /* closed */
        }
      }
    };
    this.#onResize = resize;
    process.on('SIGWINCH', resize);
  }

  #forward = (chunk: Buffer): void => {
    this.#master?.write(chunk);
  };

  #track(stream: Readable): void {
    this.#streams.push(stream);
    this.#ended.push(new Promise((resolve) => stream.once('close', () => resolve())));
  }

  /**
   * The process has ended: its last output is copied (for at most DRAIN_MS more, since a
   * process it left behind may keep the pty or pipe open), then the terminal is restored.
   */
  async finish(): Promise<void> {
    if (this.#socket) {
      for (const fd of this.#socket) {
        try {
          closeSync(fd);
        } catch {
          /* closed */
        }
      }
      this.#socket = undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.#ended),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, DRAIN_MS);
      }),
    ]);
    if (timer) clearTimeout(timer);
    for (const stream of this.#streams) stream.destroy();
    for (const copy of this.#relays) copy.stop();
    if (this.#onResize) process.off('SIGWINCH', this.#onResize);
    // Only a terminal's keys were forwarded: process.stdin is not made (and Node's
    // streams not loaded, ~4 ms) for a container without one.
    if (this.#master) {
      process.stdin.off('data', this.#forward);
      process.stdin.pause();
    }
    if (this.#restore) {
      this.#restore();
      process.off('exit', this.#restore);
    }
    if (this.#console?.opened) {
      try {
        closeSync(this.#console.fd);
      } catch {
        /* closed */
      }
    }
    this.#console = undefined;
    this.#master = undefined;
  }
}
