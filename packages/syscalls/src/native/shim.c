// diyc-shim: the process that watches a detached container, as conmon does for podman.
//
//   diyc-shim [OPTIONS] --pid PID          supervise PID, a child of this process
//   diyc-shim [OPTIONS] -- CMD [ARG...]    fork and exec CMD, its stdout and stderr on new pipes
//
// A detached container (`diyc-run -d`) needs someone to stay behind: to read what it
// writes (or the pipes fill and it blocks), to keep the log to a bounded size, to reap it
// when it ends and to record how it ended. A Node process costs 17 MB for that; this
// static C program costs well under 1 MiB, and 1,000 of them fit anywhere. With --pid,
// the caller clone()s a small process that clone()s the container's process and then
// execve()s diyc-shim: the container stays its child (a process keeps its children
// across execve(2)), and the read ends of the container's output pipes (or its pty
// master) come in as inherited descriptors.
//
// Options (a value follows as the next argument, or after `=`):
//
//   option                          what                                                 default
//   ------------------------------  ---------------------------------------------------  ----------
//   --pid PID                       supervise PID, which must be our child                (or -- CMD)
//   -- CMD [ARG...]                 fork and exec CMD ourselves: stdin /dev/null, stdout  (or --pid)
//                                   and stderr on new pipes, a session of its own
//   --stdout-fd N, --stderr-fd N    with --pid: read ends of the child's output pipes     none
//   --pty-fd N                      with --pid: a pty master to read from; kept open      none
//                                   while the child lives (so it keeps its terminal),
//                                   never written to
//   --log FILE                      append the output to FILE, raw bytes as read,         discarded
//                                   stdout and stderr interleaved in the order read
//   --log-size BYTES                rotate before FILE would pass BYTES: FILE.(k-1) ->    0 (no limit)
//                                   FILE.k ... FILE -> FILE.1, the oldest dropped.
//                                   Suffixes K, M, G (1024, 1024^2, 1024^3)
//   --log-files N                   old files kept by the rotation (0: FILE restarts      1
//                                   empty); at most (N+1)*BYTES on disk
//   --exit-file FILE                when the child ends: {"code":N|null,"signal":N|null,  none
//                                   "finishedAt":"RFC 3339, ms, UTC"} to FILE.tmp, fsync,
//                                   renamed to FILE
//   --pid-file FILE                 our own pid, decimal, no newline, written atomically  none
//   --exit-command PATH [ARG...] -- at the end, after the exit file: execv PATH with      exit 0
//                                   exactly these arguments (argv[0] = PATH)
//   --ready-fd N                    one byte written to N, then N closed, once set up     none
//   --keep-stdio                    keep descriptors 0, 1, 2 as inherited (tests,         /dev/null
//                                   debugging); they are then the exit command's too
//   --help                          this usage on stdout
//
// Exit status: 0 once the child has ended and the exit file is written (the child's own
// status is in the exit file, not in ours); 2 for bad flags, with the usage on stderr;
// 125 when it cannot start (or cannot exec the exit command), with one line prefixed
// `diyc-shim: ` in the log and on stderr. A caller waiting on --ready-fd sees end of
// file without the byte when the start failed.
//
// What it does, in order:
//   1. flags parsed; the log opened (FILE's directory held as a descriptor, so rotation
//      works whatever the working directory); the descriptors named checked;
//   2. with --pid: waitid(2) WNOWAIT checks that PID is our child, without reaping it;
//   3. SIGCHLD and SIGTERM blocked and read from a signalfd(2); SIGPIPE, SIGHUP, SIGINT
//      ignored; we become a child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER), so the
//      orphans of a container that shares our PID namespace are reparented to us, and
//      reaped, instead of piling up as zombies under PID 1;
//   4. with -- CMD: pipe2(2), fork(2), and in the child setsid(2), dup2(2), execvp(3);
//   5. a session of our own (setsid(2)) unless we lead one already, so no terminal's
//      hangup or Ctrl-C reaches us; chdir("/") so we hold no directory busy; every
//      descriptor above 2 marked close-on-exec (close_range(2) CLOSE_RANGE_CLOEXEC, or a
//      walk of /proc/self/fd before Linux 5.11), so nothing we exec gets one; /dev/null
//      on 0, 1 and 2;
//   6. --pid-file written, the ready byte sent;
//   7. the loop: poll(2) over the signalfd and the output descriptors. Output is copied
//      with read(2) and write(2) through one fixed 64 KiB buffer, a pipe's whole default
//      capacity (pipe(7)), so a flood costs two system calls per 64 KiB. SIGTERM
//      is passed on to the child with kill(2): `kill SHIM` stops the container, and we
//      go on supervising. SIGCHLD: waitpid(2) WNOHANG in a loop reaps every child; only
//      the supervised one's status counts;
//   8. once the child has ended, output is drained until every descriptor is at end of
//      file, for 1 s at most (an orphan of the container may hold a pipe open); then the
//      exit file is written; then the exit command is exec'd (signals back to default,
//      no longer a subreaper) or we exit 0.
//
// What the process that execs the shim with --pid must do (see also the README):
//   - PID is its own child (clone(2) without CLONE_PARENT), not yet waited for, and it is
//     the container's process itself (not one that forks the real one and exits);
//   - it passes the read ends at numbers above 2 and closes the write ends: a write end
//     left in the shim means no end of file, and a 1 s wait at every exit;
//   - every other inherited descriptor stays open in the shim until it ends (marked
//     close-on-exec only): pass nothing else, or pass it on purpose (a lock to hold);
//   - it is not a process group leader, so that setsid(2) works;
//   - the ready pipe's reader waits for the byte, not for end of file: the container may
//     hold the write end until its own execve.
//
// Nothing is allocated after start: the buffers are fixed, and only libc's thin system
// call wrappers are used (no stdio: numbers are formatted here). It is linked statically,
// like diyc-init, so it runs wherever the addon was built for, and its pages are shared
// by every running copy.
//
// System calls, each at https://man7.org/linux/man-pages/man2/NAME.2.html (execvp and
// execv: man3): open(2), openat(2), close(2), fcntl(2), fstat(2), read(2), write(2),
// poll(2), fsync(2), renameat(2), unlinkat(2), ftruncate(2), dup2(2), dup3(2), pipe2(2),
// fork(2), execve(2) (execvp(3), execv(3)), setsid(2), getsid(2), chdir(2),
// close_range(2), getdents64(2), sigprocmask(2), sigaction(2), signalfd(2), prctl(2),
// waitid(2), waitpid(2), kill(2), clock_gettime(2), getpid(2), _exit(2).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>  // renameat(2) only: no stdio stream is used
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_SET_CHILD_SUBREAPER
#define PR_SET_CHILD_SUBREAPER 36
#endif

enum { EXIT_USAGE = 2, EXIT_START = 125 };
enum { MAX_LOG_FILES = 1000 };
// How long output is drained after the child ended, when something still holds a pipe.
enum { DRAIN_MS = 1000 };
// While a pty has no slave open (the child closed its terminal), it is polled again this
// often: poll(2) would report the hangup at once, every time.
enum { PTY_RETRY_MS = 100 };

static const char usage_text[] =
    "usage: diyc-shim [OPTIONS] --pid PID\n"
    "       diyc-shim [OPTIONS] -- CMD [ARG...]\n"
    "Supervises a container's process: copies its output to a log with rotation, reaps it,\n"
    "records how it ended.\n"
    "  --pid PID                        supervise PID, a child of this process\n"
    "  --stdout-fd N, --stderr-fd N     (with --pid) read ends of its output pipes\n"
    "  --pty-fd N                       (with --pid) its pty master\n"
    "  --log FILE                       append the output to FILE\n"
    "  --log-size BYTES                 rotate before FILE passes BYTES (K, M, G; 0: never)\n"
    "  --log-files N                    rotated files kept (default 1)\n"
    "  --exit-file FILE                 write {\"code\",\"signal\",\"finishedAt\"} when it ends\n"
    "  --pid-file FILE                  write this process's pid\n"
    "  --exit-command PATH [ARG...] --  exec this at the end\n"
    "  --ready-fd N                     write a byte to N once set up\n"
    "  --keep-stdio                     keep descriptors 0-2 (default /dev/null)\n";

// ---- options -----------------------------------------------------------------------

static struct {
  pid_t pid;
  int stdout_fd, stderr_fd, pty_fd, ready_fd;
  const char *log, *exit_file, *pid_file;
  unsigned long long log_size;
  unsigned log_files;
  char **exit_argv;  // NULL-terminated in place: the closing `--` is overwritten
  char **cmd;
  int keep_stdio;
} opt = {0, -1, -1, -1, -1, NULL, NULL, NULL, 0, 1, NULL, NULL, 0};

// ---- output without stdio ----------------------------------------------------------

static int log_fd = -1;
static void log_write(const char *s, size_t n);
static int saying;  // say() is writing to the log: a failure there goes to stderr only

static void write_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

/** Appends `s` to the line buffer `b` (of size `cap`, at `*len`), truncating. */
static void cat(char *b, size_t cap, size_t *len, const char *s) {
  while (*s && *len + 1 < cap) b[(*len)++] = *s++;
  b[*len] = 0;
}

/** The decimal digits of `v` in `out` (at least 21 bytes); returns their count. */
static size_t utoa(unsigned long long v, char *out) {
  char tmp[24];
  size_t n = 0;
  do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
  for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
  out[n] = 0;
  return n;
}

/**
 * One line, "diyc-shim: WHAT ARG: strerror(err)", to the log (when open) and to stderr
 * (the caller's until stdio is set up, /dev/null after, unless --keep-stdio).
 */
static void say(const char *what, const char *arg, int err) {
  char line[640];
  size_t n = 0;
  line[0] = 0;
  cat(line, sizeof line - 1, &n, "diyc-shim: ");
  cat(line, sizeof line - 1, &n, what);
  if (arg) {
    cat(line, sizeof line - 1, &n, " ");
    cat(line, sizeof line - 1, &n, arg);
  }
  if (err) {
    cat(line, sizeof line - 1, &n, ": ");
    cat(line, sizeof line - 1, &n, strerror(err));
  }
  line[n++] = '\n';
  if (log_fd >= 0 && !saying) {
    saying = 1;
    log_write(line, n);
    saying = 0;
  }
  write_all(STDERR_FILENO, line, n);
}

static pid_t child = -1;  // the supervised process, -1 once it has been reaped
static int own_child;      // forked by us (-- CMD): killed if we cannot start

static void __attribute__((noreturn)) fail(const char *what, const char *arg, int err) {
  say(what, arg, err);
  if (own_child && child > 0) kill(child, SIGKILL);
  _exit(EXIT_START);
}

static void __attribute__((noreturn)) usage_error(const char *what, const char *arg) {
  char line[512];
  size_t n = 0;
  line[0] = 0;
  cat(line, sizeof line - 1, &n, "diyc-shim: ");
  cat(line, sizeof line - 1, &n, what);
  if (arg) {
    cat(line, sizeof line - 1, &n, " ");
    cat(line, sizeof line - 1, &n, arg);
  }
  line[n++] = '\n';
  write_all(STDERR_FILENO, line, n);
  write_all(STDERR_FILENO, usage_text, sizeof usage_text - 1);
  _exit(EXIT_USAGE);
}

// ---- parsing -----------------------------------------------------------------------

/** A decimal number with an optional K, M or G suffix (when `suffix`); -1 if it is not one. */
static int parse_number(const char *s, int suffix, unsigned long long max, unsigned long long *out) {
  unsigned long long v = 0;
  if (!*s) return -1;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (v > (ULLONG_MAX - 9) / 10) return -1;
    v = v * 10 + (unsigned)(*s - '0');
  }
  if (suffix && *s) {
    unsigned shift = 0;
    switch (*s) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      default: return -1;
    }
    if (v > (ULLONG_MAX >> shift)) return -1;
    v <<= shift;
    s++;
  }
  if (*s || v > max) return -1;
  *out = v;
  return 0;
}

static int parse_fd(const char *name, const char *s) {
  unsigned long long v;
  if (parse_number(s, 0, INT_MAX, &v) < 0) usage_error(name, "takes a descriptor number");
  // 0-2 become /dev/null at start: an output or the ready pipe cannot live there.
  if (v < 3) usage_error(name, "takes a descriptor above 2");
  return (int)v;
}

static void parse(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      if (i + 1 >= argc) usage_error("--", "needs a command after it");
      opt.cmd = argv + i + 1;
      break;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      write_all(STDOUT_FILENO, usage_text, sizeof usage_text - 1);
      _exit(0);
    }
    if (strcmp(a, "--keep-stdio") == 0) {
      opt.keep_stdio = 1;
      continue;
    }
    if (strcmp(a, "--exit-command") == 0) {
      if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0) usage_error("--exit-command", "needs a PATH");
      opt.exit_argv = argv + i + 1;
      int j = i + 1;
      while (j < argc && strcmp(argv[j], "--") != 0) j++;
      if (j >= argc) usage_error("--exit-command", "PATH [ARG...] must end with --");
      argv[j] = NULL;
      i = j;
      continue;
    }
    // The options that take a value: `--name VALUE` or `--name=VALUE`.
    static const char *const with_value[] = {
        "--pid", "--stdout-fd", "--stderr-fd", "--pty-fd", "--log", "--log-size",
        "--log-files", "--exit-file", "--pid-file", "--ready-fd", NULL};
    const char *name = NULL, *value = NULL;
    for (int k = 0; with_value[k]; k++) {
      size_t len = strlen(with_value[k]);
      if (strncmp(a, with_value[k], len) != 0) continue;
      if (a[len] == '=') {
        name = with_value[k];
        value = a + len + 1;
      } else if (a[len] == 0) {
        name = with_value[k];
        if (i + 1 >= argc) usage_error(name, "needs a value");
        value = argv[++i];
      } else {
        continue;
      }
      break;
    }
    if (!name) usage_error("unknown option", a);
    unsigned long long v;
    if (strcmp(name, "--pid") == 0) {
      if (parse_number(value, 0, INT_MAX, &v) < 0 || v < 1) usage_error("--pid", "takes a process id");
      opt.pid = (pid_t)v;
    } else if (strcmp(name, "--stdout-fd") == 0) {
      opt.stdout_fd = parse_fd(name, value);
    } else if (strcmp(name, "--stderr-fd") == 0) {
      opt.stderr_fd = parse_fd(name, value);
    } else if (strcmp(name, "--pty-fd") == 0) {
      opt.pty_fd = parse_fd(name, value);
    } else if (strcmp(name, "--ready-fd") == 0) {
      opt.ready_fd = parse_fd(name, value);
    } else if (strcmp(name, "--log-size") == 0) {
      if (parse_number(value, 1, ULLONG_MAX, &v) < 0) usage_error("--log-size", "takes a size in bytes (K, M, G suffixes)");
      opt.log_size = v;
    } else if (strcmp(name, "--log-files") == 0) {
      if (parse_number(value, 0, MAX_LOG_FILES, &v) < 0) usage_error("--log-files", "takes a count from 0 to 1000");
      opt.log_files = (unsigned)v;
    } else {
      if (!*value) usage_error(name, "needs a file name");
      if (strcmp(name, "--log") == 0) opt.log = value;
      else if (strcmp(name, "--exit-file") == 0) opt.exit_file = value;
      else opt.pid_file = value;
    }
  }
  if (!opt.pid == !opt.cmd) usage_error("give either --pid PID or -- CMD", NULL);
  if (opt.cmd && (opt.stdout_fd >= 0 || opt.stderr_fd >= 0 || opt.pty_fd >= 0)) {
    usage_error("--stdout-fd, --stderr-fd and --pty-fd go with --pid:", "-- CMD makes its own pipes");
  }
  if (opt.log_size && !opt.log) usage_error("--log-size", "needs --log FILE");
  int fds[] = {opt.stdout_fd, opt.stderr_fd, opt.pty_fd, opt.ready_fd};
  for (int x = 0; x < 4; x++)
    for (int y = x + 1; y < 4; y++)
      if (fds[x] >= 0 && fds[x] == fds[y]) usage_error("one descriptor is named twice:", "give each role its own");
}

// ---- files named by path -----------------------------------------------------------

/** A file kept as its directory's descriptor and its base name: chdir("/") cannot move it. */
struct place {
  int dir;
  char base[NAME_MAX + 1];
};

static void place_of(const char *path, struct place *p) {
  static char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  size_t dlen = slash ? (size_t)(slash - path) : 0;
  if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) fail("not a file name:", path, 0);
  if (strlen(base) > NAME_MAX - 8) fail("file name too long:", path, 0);  // room for ".tmp", ".1000"
  if (dlen >= sizeof dir) fail("path too long:", path, 0);
  if (slash && dlen == 0) dlen = 1;  // "/name": the root
  if (slash) {
    memcpy(dir, path, dlen);
    dir[dlen] = 0;
  } else {
    strcpy(dir, ".");
  }
  p->dir = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (p->dir < 0) fail("open the directory of", path, errno);
  strcpy(p->base, base);
}

/** `base` + `suffix` in `out` (NAME_MAX + 1 bytes). */
static void name_with(char *out, const char *base, const char *suffix) {
  size_t n = 0;
  out[0] = 0;
  cat(out, NAME_MAX + 1, &n, base);
  cat(out, NAME_MAX + 1, &n, suffix);
}

/** Writes FILE.tmp, fsyncs it when asked, renames it to FILE: readers see all of it or none. */
static int write_atomic(const struct place *p, const char *data, size_t len, int sync) {
  char tmp[NAME_MAX + 1];
  name_with(tmp, p->base, ".tmp");
  int fd = openat(p->dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return -1;
  const char *s = data;
  size_t n = len;
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) goto failed;
    s += w;
    n -= (size_t)w;
  }
  if (sync && fsync(fd) < 0) goto failed;
  if (close(fd) < 0) {
    fd = -1;
    goto failed;
  }
  if (renameat(p->dir, tmp, p->dir, p->base) < 0) {
    int err = errno;
    unlinkat(p->dir, tmp, 0);
    errno = err;
    return -1;
  }
  return 0;
failed: {
  int err = errno;
  if (fd >= 0) close(fd);
  unlinkat(p->dir, tmp, 0);
  errno = err;
  return -1;
}
}

// ---- the log -----------------------------------------------------------------------

static struct place log_place;
static unsigned long long log_len;  // bytes in the current FILE
static int log_broken;              // a write failed: said once, then output is dropped quietly

static void open_log(void) {
  place_of(opt.log, &log_place);
  int fd = openat(log_place.dir, log_place.base, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) fail("open the log", opt.log, errno);
  struct stat st;
  if (fstat(fd, &st) < 0) fail("stat the log", opt.log, errno);
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    fail("the log is not a regular file:", opt.log, 0);
  }
  log_len = (unsigned long long)st.st_size;
  log_fd = fd;
}

static struct {
  const char *what;
  char arg[NAME_MAX + 1];
  int err;
} rotate_error;

/** Keeps the first error of a rotation, said once the new FILE has room for it. */
static void rotate_failed(const char *what, const char *arg, int err) {
  if (rotate_error.what) return;
  rotate_error.what = what;
  name_with(rotate_error.arg, arg, "");
  rotate_error.err = err;
}

/**
 * FILE.N is removed, FILE.(k-1) -> FILE.k for k = N..2, FILE -> FILE.1, and a new empty
 * FILE opened. With --log-files 0, FILE is removed and made anew. If the new FILE cannot
 * be made, the old one is emptied: the size bound holds whatever happens.
 *
 * The oldest file is unlinked first, so that no rename lands on an existing file: ext4
 * (auto_da_alloc, ext4(5)) flushes a file renamed over another, or truncated, to disk
 * at once, which made each rotation cost tens of milliseconds under a flood.
 */
static void rotate(void) {
  char from[NAME_MAX + 1], to[NAME_MAX + 1], num[24];
  rotate_error.what = NULL;
  num[0] = '.';
  utoa(opt.log_files, num + 1);
  if (opt.log_files) name_with(to, log_place.base, num);
  else name_with(to, log_place.base, "");
  if (unlinkat(log_place.dir, to, 0) < 0 && errno != ENOENT) rotate_failed("rotate: remove", to, errno);
  for (unsigned k = opt.log_files; k >= 2; k--) {
    utoa(k - 1, num + 1);
    name_with(from, log_place.base, num);
    utoa(k, num + 1);
    name_with(to, log_place.base, num);
    // A missing FILE.(k-1) is the usual case while the log is young.
    if (renameat(log_place.dir, from, log_place.dir, to) < 0 && errno != ENOENT) rotate_failed("rotate: rename", from, errno);
  }
  int moved = 1;
  if (opt.log_files) {
    name_with(to, log_place.base, ".1");
    // FILE gone (removed by hand): a new one is made all the same.
    if (renameat(log_place.dir, log_place.base, log_place.dir, to) < 0 && errno != ENOENT) {
      rotate_failed("rotate: rename", log_place.base, errno);
      moved = 0;
    }
  }
  if (moved) {
    int fd = openat(log_place.dir, log_place.base, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    // dup3 keeps the number: log_fd stays what every caller holds.
    if (fd >= 0 && dup3(fd, log_fd, O_CLOEXEC) >= 0) {
      close(fd);
      moved = 2;
    } else {
      rotate_failed("rotate: create", log_place.base, errno);
      if (fd >= 0) close(fd);
    }
  }
  if (moved != 2 && ftruncate(log_fd, 0) < 0) rotate_failed("rotate: empty", log_place.base, errno);
  log_len = 0;
  if (rotate_error.what) say(rotate_error.what, rotate_error.arg, rotate_error.err);
}

/** How many bytes may go into FILE before it must rotate (rotating first if none may). */
static size_t log_room(size_t want) {
  if (!opt.log_size) return want;
  if (log_len >= opt.log_size) rotate();
  unsigned long long room = opt.log_size - log_len;
  return room < want ? (size_t)room : want;
}

static void log_write(const char *s, size_t n) {
  // Our own message never rotates the log (a rotation may be what it is about): it goes
  // in whole where there is room, or only to stderr.
  if (saying && opt.log_size && log_len + n > opt.log_size) return;
  while (n > 0) {
    size_t part = log_room(n);
    ssize_t w = write(log_fd, s, part);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      // A full disk: the bytes are dropped (the container must not block on us), once said.
      if (!log_broken) say("write the log", opt.log, w < 0 ? errno : EIO);
      log_broken = 1;
      return;
    }
    log_broken = 0;
    log_len += (unsigned long long)w;
    s += w;
    n -= (size_t)w;
  }
}

static long long now_ms(clockid_t clock);

// ---- output sources ----------------------------------------------------------------

enum { MAX_SOURCES = 3 };

struct source {
  int fd;
  int is_pty;   // EIO means "no slave open", not an error
  int paused;   // a pty without a slave: polled again at resume_at
  long long resume_at;
};

static struct source sources[MAX_SOURCES];
static int nsources;
static char buf[64 * 1024];

static void add_source(int fd, int is_pty) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0) fail("fcntl", NULL, errno);
  if ((fl & O_ACCMODE) == O_WRONLY) fail("an output descriptor is a write end: give the read end", NULL, 0);
  // Non-blocking: a spurious wake-up of poll(2) must not stop the loop in read(2).
  if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) fail("fcntl O_NONBLOCK", NULL, errno);
  struct source *s = &sources[nsources++];
  s->fd = fd;
  s->is_pty = is_pty;
  s->paused = 0;
}

static void close_source(struct source *s) {
  close(s->fd);
  s->fd = -1;
}

/**
 * Moves what the source holds into the log. Returns 1 if it may hold more, 0 if it is
 * drained for now (or closed).
 */
static int pump(struct source *s) {
  ssize_t n;
  n = read(s->fd, buf, sizeof buf);
  if (n > 0) {
    if (log_fd >= 0) log_write(buf, (size_t)n);
    return (size_t)n == sizeof buf;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
  if (n < 0 && s->is_pty && errno == EIO) n = 0;  // the pty's last slave closed
  if (n < 0) say("read the output", NULL, errno);
  // End of file. A pty is held open while the child lives: closing the master would hang
  // up the container's terminal, and it may open it again.
  if (s->is_pty && child > 0) {
    s->paused = 1;
    s->resume_at = now_ms(CLOCK_MONOTONIC) + PTY_RETRY_MS;
  } else {
    close_source(s);
  }
  return 0;
}

static int sources_open(void) {
  int open = 0;
  for (int i = 0; i < nsources; i++) open += sources[i].fd >= 0;
  return open;
}

// ---- time --------------------------------------------------------------------------

static long long now_ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** `ms` since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (25 bytes with the NUL). */
static void rfc3339(long long ms, char *out) {
  long long secs = ms / 1000, days = secs / 86400;
  int sod = (int)(secs % 86400);
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm): no gmtime, whose
  // glibc version reads the time zone files.
  long long z = days + 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long long y = (long long)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1;
  unsigned m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y++;
  unsigned f[7] = {(unsigned)y, m, d, (unsigned)sod / 3600, (unsigned)sod / 60 % 60, (unsigned)sod % 60, (unsigned)(ms % 1000)};
  static const char sep[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
  static const int width[7] = {4, 2, 2, 2, 2, 2, 3};
  char *p = out;
  for (int i = 0; i < 7; i++) {
    for (int k = width[i] - 1; k >= 0; k--) {
      p[k] = (char)('0' + f[i] % 10);
      f[i] /= 10;
    }
    p += width[i];
    *p++ = sep[i];
  }
  *p = 0;
}

// ---- the child ---------------------------------------------------------------------

static int status_known;     // waitpid gave the child's status
static int child_status;
static long long finished_ms;   // CLOCK_REALTIME when it was reaped
static long long drain_until;   // CLOCK_MONOTONIC deadline of the drain

static void child_ended(int known, int status) {
  status_known = known;
  child_status = status;
  child = -1;
  finished_ms = now_ms(CLOCK_REALTIME);
  drain_until = now_ms(CLOCK_MONOTONIC) + DRAIN_MS;
}

/** Reaps every child that has ended: ours, and orphans reparented to us as subreaper. */
static void reap(void) {
  for (;;) {
    int st;
    pid_t pid = waitpid(-1, &st, WNOHANG);
    if (pid > 0) {
      if (pid == child) child_ended(1, st);
      continue;
    }
    if (pid < 0 && errno == EINTR) continue;
    // ECHILD while ours is not reaped: someone else took its status (it cannot happen to
    // a child of ours unless SIGCHLD was ignored); it has ended, how is unknown.
    if (pid < 0 && errno == ECHILD && child > 0) child_ended(0, 0);
    return;
  }
}

static void __attribute__((noreturn)) run_command(char **argv, int out_w, int err_w, const sigset_t *mask) {
  // Its own session, as a container has, out of ours.
  setsid();
  int null = open("/dev/null", O_RDONLY);
  if (null >= 0 && null != STDIN_FILENO) {
    dup2(null, STDIN_FILENO);
    close(null);
  }
  dup2(out_w, STDOUT_FILENO);
  dup2(err_w, STDERR_FILENO);
  // What we ignore or block, the command must not: back to the defaults.
  signal(SIGPIPE, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  sigprocmask(SIG_UNBLOCK, mask, NULL);
  execvp(argv[0], argv);
  int err = errno;
  char line[512];
  size_t n = 0;
  line[0] = 0;
  cat(line, sizeof line - 1, &n, "diyc-shim: ");
  cat(line, sizeof line - 1, &n, argv[0]);
  cat(line, sizeof line - 1, &n, err == ENOENT ? ": command not found" : ": ");
  if (err != ENOENT) cat(line, sizeof line - 1, &n, strerror(err));
  line[n++] = '\n';
  write_all(STDERR_FILENO, line, n);
  _exit(err == ENOENT ? 127 : 126);
}

static void start_command(const sigset_t *mask) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) fail("pipe2", NULL, errno);
  pid_t pid = fork();
  if (pid < 0) fail("fork", NULL, errno);
  if (pid == 0) run_command(opt.cmd, out[1], err[1], mask);
  child = pid;
  own_child = 1;
  close(out[1]);
  close(err[1]);
  add_source(out[0], 0);
  add_source(err[0], 0);
}

// ---- start -------------------------------------------------------------------------

/** Every descriptor above 2 close-on-exec: nothing we exec (CMD, the exit command) gets one. */
static void cloexec_all(void) {
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  if (errno != ENOSYS && errno != EINVAL) fail("close_range", NULL, errno);
  // Before Linux 5.11: the open descriptors are listed in /proc/self/fd.
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) fail("open /proc/self/fd", NULL, errno);
  char d[4096];
  long n;
  while ((n = syscall(SYS_getdents64, dir, d, sizeof d)) > 0) {
    for (long off = 0; off < n;) {
      unsigned short reclen = *(unsigned short *)(d + off + 16);  // struct linux_dirent64
      const char *name = d + off + 19;
      unsigned long long fd;
      if (parse_number(name, 0, INT_MAX, &fd) == 0 && fd > 2 && (int)fd != dir) {
        int fl = fcntl((int)fd, F_GETFD);
        if (fl >= 0) fcntl((int)fd, F_SETFD, fl | FD_CLOEXEC);
      }
      off += reclen;
    }
  }
  close(dir);
}

static void stdio_to_null(void) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) fail("open /dev/null", NULL, errno);
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(null, fd) < 0) fail("dup2 /dev/null", NULL, errno);
  if (null > 2) close(null);
}

static void check_fd(int fd, const char *name) {
  if (fd >= 0 && fcntl(fd, F_GETFD) < 0) fail(name, "is not an open descriptor", errno);
}

// ---- the end -----------------------------------------------------------------------

static struct place exit_place, pid_place;

static void finish(void) {
  if (opt.exit_file) {
    char json[128], num[24], when[32];
    size_t n = 0;
    json[0] = 0;
    cat(json, sizeof json, &n, "{\"code\":");
    if (status_known && WIFEXITED(child_status)) {
      utoa((unsigned)WEXITSTATUS(child_status), num);
      cat(json, sizeof json, &n, num);
    } else {
      cat(json, sizeof json, &n, "null");
    }
    cat(json, sizeof json, &n, ",\"signal\":");
    if (status_known && WIFSIGNALED(child_status)) {
      utoa((unsigned)WTERMSIG(child_status), num);
      cat(json, sizeof json, &n, num);
    } else {
      cat(json, sizeof json, &n, "null");
    }
    rfc3339(finished_ms, when);
    cat(json, sizeof json, &n, ",\"finishedAt\":\"");
    cat(json, sizeof json, &n, when);
    cat(json, sizeof json, &n, "\"}\n");
    if (write_atomic(&exit_place, json, n, 1) < 0) say("write the exit file", opt.exit_file, errno);
  }
  if (!opt.exit_argv) _exit(0);
  // The exit command starts as a normal program: default signals, not a subreaper.
  sigset_t none;
  sigemptyset(&none);
  signal(SIGPIPE, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  sigprocmask(SIG_SETMASK, &none, NULL);
  prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
  execv(opt.exit_argv[0], opt.exit_argv);
  fail("exec the exit command", opt.exit_argv[0], errno);
}

// ---- main --------------------------------------------------------------------------

int main(int argc, char **argv) {
  // SIG_IGN survives execve(2), and with SIGCHLD ignored the kernel reaps our children
  // itself: their status would be lost. Back to the default before anything.
  signal(SIGCHLD, SIG_DFL);
  // Descriptors 0-2 may have been closed by whoever exec'd us (Node marks its own stdio
  // close-on-exec): the log opened below must not land there, where /dev/null goes later.
  for (int fd = open("/dev/null", O_RDWR); fd >= 0; fd = open("/dev/null", O_RDWR)) {
    if (fd > 2) {
      close(fd);
      break;
    }
  }
  parse(argc, argv);

  // Every path is resolved now, before chdir("/"): a relative one means what the caller meant.
  if (opt.log) open_log();
  if (opt.exit_file) place_of(opt.exit_file, &exit_place);
  if (opt.pid_file) place_of(opt.pid_file, &pid_place);
  check_fd(opt.stdout_fd, "--stdout-fd");
  check_fd(opt.stderr_fd, "--stderr-fd");
  check_fd(opt.pty_fd, "--pty-fd");
  check_fd(opt.ready_fd, "--ready-fd");

  if (opt.pid) {
    // Ours, and not reaped yet (it may have ended already: then it waits as a zombie).
    siginfo_t info;
    memset(&info, 0, sizeof info);
    if (waitid(P_PID, (id_t)opt.pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
      char num[24];
      utoa((unsigned long long)opt.pid, num);
      fail(errno == ECHILD ? "not a child of this process: --pid" : "waitid --pid", num, errno == ECHILD ? 0 : errno);
    }
    child = opt.pid;
    if (opt.stdout_fd >= 0) add_source(opt.stdout_fd, 0);
    if (opt.stderr_fd >= 0) add_source(opt.stderr_fd, 0);
    if (opt.pty_fd >= 0) add_source(opt.pty_fd, 1);
  }

  // SIGCHLD and SIGTERM are read from a descriptor, in the loop, never as handlers.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  if (sigprocmask(SIG_SETMASK, &mask, NULL) < 0) fail("sigprocmask", NULL, errno);
  int sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigfd < 0) fail("signalfd", NULL, errno);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) fail("prctl PR_SET_CHILD_SUBREAPER", NULL, errno);

  // A session of our own. setsid(2) fails for a process group leader (a job started by
  // an interactive shell): then we keep the session we have, which is harmless once
  // stdio is /dev/null.
  if (getsid(0) != getpid()) setsid();
  if (chdir("/") < 0) fail("chdir /", NULL, errno);
  // Before the fork: CMD must not inherit the caller's descriptors, nor the ready pipe.
  cloexec_all();
  if (opt.cmd) start_command(&mask);
  if (!opt.keep_stdio) stdio_to_null();

  if (opt.pid_file) {
    char num[24];
    size_t n = utoa((unsigned long long)getpid(), num);
    if (write_atomic(&pid_place, num, n, 0) < 0) fail("write the pid file", opt.pid_file, errno);
    close(pid_place.dir);
  }
  if (opt.ready_fd >= 0) {
    write_all(opt.ready_fd, "1", 1);
    close(opt.ready_fd);
  }

  // A child that ended before the signalfd existed sent a SIGCHLD nobody will read.
  reap();

  struct pollfd pfd[1 + MAX_SOURCES];
  for (;;) {
    long long now = now_ms(CLOCK_MONOTONIC);
    if (child < 0 && (sources_open() == 0 || now >= drain_until)) break;
    int timeout = child < 0 ? (int)(drain_until - now) : -1;
    pfd[0].fd = sigfd;
    pfd[0].events = POLLIN;
    pfd[0].revents = 0;
    for (int i = 0; i < nsources; i++) {
      struct source *s = &sources[i];
      // A pty without a slave is tried again now and then, and at the last drain (until EIO).
      if (s->paused && (child < 0 || now >= s->resume_at)) s->paused = 0;
      if (s->fd >= 0 && s->paused && (timeout < 0 || s->resume_at - now < timeout)) timeout = (int)(s->resume_at - now);
      pfd[1 + i].fd = s->fd >= 0 && !s->paused ? s->fd : -1;
      pfd[1 + i].events = POLLIN;
      pfd[1 + i].revents = 0;
    }
    int ready = poll(pfd, (nfds_t)(1 + nsources), timeout);
    if (ready < 0 && errno != EINTR) fail("poll", NULL, errno);
    if (ready <= 0) continue;
    if (pfd[0].revents & POLLIN) {
      struct signalfd_siginfo si[8];
      ssize_t got;
      int chld = 0;
      while ((got = read(sigfd, si, sizeof si)) > 0) {
        for (size_t k = 0; k < (size_t)got / sizeof si[0]; k++) {
          if (si[k].ssi_signo == SIGCHLD) chld = 1;
          else if (si[k].ssi_signo == SIGTERM && child > 0) kill(child, SIGTERM);
        }
      }
      if (chld) reap();
    }
    for (int i = 0; i < nsources; i++) {
      struct source *s = &sources[i];
      if (s->fd < 0 || !(pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) continue;
      // A bounded number of rounds: the other source and the signals get their turn.
      for (int round = 0; round < 16 && s->fd >= 0 && !s->paused && pump(s); round++) {
      }
    }
  }
  for (int i = 0; i < nsources; i++)
    if (sources[i].fd >= 0) close_source(&sources[i]);
  close(sigfd);
  finish();
}
