// diyc-oci-front: the calls an engine makes most often of diyc-oci, done without a Node start.
//
//   diyc-oci-front JS [GLOBAL FLAGS] COMMAND [ARGS...]
//
// containerd stops a container with `kill`, `delete` and `delete --force`, and starts one
// with `create` and `start`: each is a new process, and each Node start costs ~40 ms
// here, where runc's whole call costs 2-5 ms. bin/diyc-oci (a shell script) runs this
// program, with JS the path of bin/diyc-oci.js. It does five calls itself, on their
// ordinary path only:
//
//   start ID                  a created container whose plan says it needs no hook
//   kill ID [SIGNAL]          one signal to the container's first process
//   kill --all ID [SIGNAL]    to a cgroup left empty (containerd's after every stop)
//   delete [-f] ID            a stopped container whose plan says what delete undoes;
//                             with --force, one that does not exist (containerd's second)
//   state ID                  the state, in runc's words and key order
//   list [-q] [-f table|json] every container's state, as runc lists them
//
// Everything else, and any case that is not the ordinary one (a hook to run, a paused
// container to kill, an error to report in runc's words, a flag it does not know), it
// hands over: it execs `node JS ARGS...` with the arguments unchanged (DIYC_OCI_NODE
// names another node), before it has changed anything. TypeScript stays the one place that
// decides: diyc-oci's `create` writes `front.plan` in the container's directory, what
// this program may do for that container (packages/oci/src/front-plan.ts), and this
// program only does what the plan and the state say.
//
// What it reads: ROOT/ID/state.json and ROOT/ID/config.json, both written by diyc-oci
// with JSON.stringify (a value copied into `state`'s output is copied as it is written);
// ROOT/ID/front.plan, lines `start`, `delete`, `cgroup DIR`, `prune DIR`. It takes the
// container's lock as diyc-oci does (@diyc/record's lock.ts): ROOT/ID.lock, a symbolic
// link to the holder's pid, taken over from a holder that is gone (under ROOT/ID.lock~).
//
// System calls, each at https://man7.org/linux/man-pages/man2/NAME.2.html: open(2),
// read(2), write(2), close(2), getdents64(2) (readdir(3)), stat(2), access(2),
// symlink(2), readlink(2), unlink(2), unlinkat(2), rmdir(2), rename(2), kill(2),
// pidfd_open(2), pidfd_send_signal(2), clock_gettime(2), nanosleep(2), getpid(2),
// execve(2) (execvp(3)).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static char **handover_argv;  // node, JS, the arguments as given

// Hands the call to diyc-oci's TypeScript, exactly as it was made. Never returns.
static void hand_over(void) {
  execvp(handover_argv[0], handover_argv);
  fprintf(stderr, "diyc-oci: cannot run %s (%s): is Node.js 20 or later on PATH?\n", handover_argv[0], strerror(errno));
  exit(1);
}

// ---- reading files ----

enum { MAX_FILE = 4 << 20 };

// The whole of a small file, NUL-terminated, in *out (malloc'd); its length, or -1.
static long read_file(const char *path, char **out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t cap = 8192, len = 0;
  char *buf = malloc(cap + 1);
  for (;;) {
    if (len == cap) {
      if (cap >= MAX_FILE) break;
      cap *= 2;
      char *bigger = realloc(buf, cap + 1);
      if (!bigger) break;
      buf = bigger;
    }
    ssize_t n = read(fd, buf + len, cap - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      if (n < 0) break;
      buf[len] = '\0';
      *out = buf;
      return (long)len;
    }
    len += (size_t)n;
  }
  close(fd);
  free(buf);
  return -1;
}

// ---- JSON, as far as diyc-oci's own files need: find a member, take a value ----

// A value in a buffer: [start, end). A NULL start is "not there".
typedef struct {
  const char *start, *end;
} Value;

static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

// The end of the value that starts at p (after white space), or NULL if it is not one.
static const char *skip_value(const char *p, const char *end, int depth) {
  p = skip_ws(p, end);
  if (p >= end || depth > 64) return NULL;
  if (*p == '"') {
    for (p++; p < end; p++) {
      if (*p == '\\') {
        p++;
      } else if (*p == '"') {
        return p + 1;
      } else if ((unsigned char)*p < 0x20) {
        return NULL;
      }
    }
    return NULL;
  }
  if (*p == '{' || *p == '[') {
    char close = *p == '{' ? '}' : ']';
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    for (;;) {
      if (close == '}') {
        p = skip_value(p, end, depth + 1);  // the key
        if (!p) return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        p++;
      }
      p = skip_value(p, end, depth + 1);
      if (!p) return NULL;
      p = skip_ws(p, end);
      if (p < end && *p == ',') {
        p++;
        continue;
      }
      return p < end && *p == close ? p + 1 : NULL;
    }
  }
  const char *start = p;
  while (p < end && (strchr("+-.eE", *p) || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z'))) p++;
  return p > start ? p : NULL;
}

// The value of member `key` of the object `obj` (a key written without escapes).
static Value member(Value obj, const char *key) {
  Value none = {NULL, NULL};
  const char *p = skip_ws(obj.start, obj.end), *end = obj.end;
  if (!p || p >= end || *p != '{') return none;
  size_t klen = strlen(key);
  p = skip_ws(p + 1, end);
  while (p < end && *p == '"') {
    const char *kend = skip_value(p, end, 1);
    if (!kend) return none;
    int match = (size_t)(kend - p) == klen + 2 && memcmp(p + 1, key, klen) == 0;
    p = skip_ws(kend, end);
    if (p >= end || *p != ':') return none;
    const char *vstart = skip_ws(p + 1, end);
    const char *vend = skip_value(vstart, end, 1);
    if (!vend) return none;
    if (match) return (Value){vstart, vend};
    p = skip_ws(vend, end);
    if (p < end && *p == ',') p = skip_ws(p + 1, end);
  }
  return none;
}

static int is_string(Value v) {
  return v.start && *v.start == '"';
}

// A string value with no escapes in it, copied to buf; 0 when it is not one or does not fit.
static int plain_string(Value v, char *buf, size_t cap) {
  if (!is_string(v)) return 0;
  size_t len = (size_t)(v.end - v.start) - 2;
  if (len >= cap || memchr(v.start + 1, '\\', len)) return 0;
  memcpy(buf, v.start + 1, len);
  buf[len] = '\0';
  return 1;
}

// A whole number, or -1.
static long long number(Value v) {
  if (!v.start || *v.start < '0' || *v.start > '9') return -1;
  char *stop;
  long long n = strtoll(v.start, &stop, 10);
  return stop == v.end ? n : -1;
}

// ---- the container ----

typedef struct {
  char dir[PATH_MAX], lock[PATH_MAX];
  char *state_text;
  long state_len;
  Value state;  // the object in state.json
  char status[16];
  long long pid, supervisor;
  // NULL: the state has none, any start matches; "" matches none (Container.sameProcess).
  const char *pid_start, *supervisor_start;
  char pid_start_buf[32], supervisor_start_buf[32];
  // front.plan
  int plan_start, plan_delete;
  char *cgroups[16], *prunes[16];
  int ncgroups, nprunes;
} Container;

// Names c ROOT/NAME (and its lock); 0 when the path is too long (Node's to refuse). Room
// is kept for the longest name under it (state.json.PID).
static int container_at(Container *c, const char *root, const char *name) {
  return strlen(root) + strlen(name) + 32 <= PATH_MAX && snprintf(c->dir, sizeof c->dir, "%s/%s", root, name) < (int)sizeof c->dir &&
         snprintf(c->lock, sizeof c->lock, "%s.lock", c->dir) < (int)sizeof c->lock;
}

// Whether pid lives, is no zombie, and started at `start` (field 22 of /proc/PID/stat;
// NULL: any).
static int same_process(long long pid, const char *start) {
  if (pid <= 0 || pid > INT_MAX || (kill((pid_t)pid, 0) != 0 && errno != EPERM)) return 0;
  char path[64], *stat = NULL;
  snprintf(path, sizeof path, "/proc/%lld/stat", pid);
  if (read_file(path, &stat) < 0) return 0;
  int same = 0;
  char *p = strrchr(stat, ')');
  if (p && p[1] == ' ' && p[2] != 'Z') {
    p += 2;  // state, then fields 4..: field 22 is the 20th from here
    for (int i = 0; i < 19 && p; i++) p = strchr(p + 1, ' ');
    if (p) {
      size_t n = strcspn(p + 1, " \n");
      same = !start || (strlen(start) == n && strncmp(p + 1, start, n) == 0);
    }
  }
  free(stat);
  return same;
}

// Reads state.json into c; 0 when it is missing or not what diyc-oci writes.
static int read_state(Container *c) {
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/state.json", c->dir);
  free(c->state_text);
  c->state_text = NULL;
  c->state_len = read_file(path, &c->state_text);
  if (c->state_len < 0) return 0;
  c->state = (Value){c->state_text, c->state_text + c->state_len};
  if (!skip_value(c->state.start, c->state.end, 0)) return 0;
  c->pid = c->supervisor = -1;
  c->pid_start = c->supervisor_start = NULL;
  Value pid = member(c->state, "pid"), sup = member(c->state, "supervisorPid");
  if (!plain_string(member(c->state, "status"), c->status, sizeof c->status)) return 0;
  if (pid.start && (c->pid = number(pid)) < 0) return 0;
  if (sup.start && (c->supervisor = number(sup)) < 0) return 0;
  Value start = member(c->state, "pidStart"), sstart = member(c->state, "supervisorStart");
  if (start.start && !plain_string(start, c->pid_start_buf, sizeof c->pid_start_buf)) return 0;
  if (sstart.start && !plain_string(sstart, c->supervisor_start_buf, sizeof c->supervisor_start_buf)) return 0;
  if (start.start) c->pid_start = c->pid_start_buf;
  if (sstart.start) c->supervisor_start = c->supervisor_start_buf;
  return 1;
}

// front.plan; a container without one has every call handed over.
static void read_plan(Container *c) {
  char path[PATH_MAX + 16], *text = NULL;
  snprintf(path, sizeof path, "%s/front.plan", c->dir);
  if (read_file(path, &text) < 0) return;
  int known = 1;
  for (char *line = text, *next; known && (next = strchr(line, '\n')); line = next + 1) {
    *next = '\0';
    if (strcmp(line, "start") == 0) c->plan_start = 1;
    else if (strcmp(line, "delete") == 0) c->plan_delete = 1;
    else if (strncmp(line, "cgroup /", 8) == 0 && c->ncgroups < 16) c->cgroups[c->ncgroups++] = line + 7;
    else if (strncmp(line, "prune /", 7) == 0 && c->nprunes < 16) c->prunes[c->nprunes++] = line + 6;
    else known = 0;
  }
  // A line it does not know (a newer diyc's plan): no plan at all.
  if (!known) c->plan_start = c->plan_delete = c->ncgroups = c->nprunes = 0;
  // text stays allocated: the paths point into it.
}

// Its cgroup is frozen: freezer.state (v1) or cgroup.events (v2), as Container.frozen().
static int frozen(const Container *c) {
  for (int i = 0; i < c->ncgroups; i++) {
    char path[PATH_MAX + 32], *text = NULL;
    snprintf(path, sizeof path, "%s/freezer.state", c->cgroups[i]);
    int is = 0;
    if (read_file(path, &text) >= 0) {
      is = strncmp(text, "THAWED", 6) != 0;
    } else {
      snprintf(path, sizeof path, "%s/cgroup.events", c->cgroups[i]);
      if (read_file(path, &text) >= 0) is = strncmp(text, "frozen 1\n", 9) == 0 || strstr(text, "\nfrozen 1\n") != NULL;
    }
    free(text);
    if (is) return 1;
  }
  return 0;
}

// The status as diyc-oci tells it (Container.status()): "" when it cannot tell here.
static const char *status_of(const Container *c) {
  const char *s = c->status;
  if (strcmp(s, "stopped") == 0 || strcmp(s, "exited") == 0) return "stopped";
  if (strcmp(s, "creating") == 0) return "";
  int alive = same_process(c->pid, c->pid_start);
  if (strcmp(s, "created") == 0) return alive ? "created" : "stopped";
  if (strcmp(s, "running") != 0 && strcmp(s, "paused") != 0) return "";
  if (!alive || (c->supervisor >= 0 && !same_process(c->supervisor, c->supervisor_start))) return "stopped";
  if (c->ncgroups == 0) return "";  // where its freezer is, the plan says
  return frozen(c) ? "paused" : "running";
}

// ---- the lock (@diyc/record's withLock) ----

static void sleep_ms(long ms) {
  struct timespec t = {0, ms * 1000000L};
  nanosleep(&t, NULL);
}

// The pid a lock (a symbolic link) names; 0 when it names none, -1 when it is not there.
static long lock_holder(const char *path) {
  char holder[24] = "";
  ssize_t n = readlink(path, holder, sizeof holder - 1);
  if (n < 0) return errno == ENOENT ? -1 : 0;  // EINVAL: a directory lock of an older diyc
  holder[n] = '\0';
  return strtol(holder, NULL, 10);
}

static int gone(long pid) {
  return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

// Removes the lock left by `dead` while holding the take-over lock LOCK~, as lock.ts's
// takeOver: two that both saw the dead holder would otherwise take turns, the second
// removing the first one's fresh lock. 0 while another process takes it over.
static int take_over(const Container *c, long dead, const char *me) {
  char take[PATH_MAX + 8];
  snprintf(take, sizeof take, "%s~", c->lock);
  if (symlink(me, take) != 0) {
    if (errno == EEXIST && gone(lock_holder(take))) unlink(take);  // its taker was killed meanwhile
    return 0;
  }
  if (lock_holder(c->lock) == dead && gone(dead)) unlink(c->lock);
  unlink(take);
  return 1;
}

// Takes the lock, or returns 0 after 10 s (the caller hands over: Node says who holds it).
static int take_lock(const Container *c) {
  char me[24];
  snprintf(me, sizeof me, "%d", (int)getpid());
  for (int waited = 0; waited < 10000; waited += 10) {
    if (symlink(me, c->lock) == 0) return 1;
    if (errno != EEXIST) return 0;
    long holder = lock_holder(c->lock);
    if (holder < 0) continue;  // released meanwhile
    if (holder == 0) return 0;  // a directory lock of an older diyc: Node's to handle
    if (gone(holder) && take_over(c, holder, me)) continue;
    sleep_ms(5 + waited % 7);
  }
  return 0;
}

static void release_lock(const Container *c) {
  unlink(c->lock);
}

// ---- writing the state ----

// state.json with status `to` and startedAt now, as Container.transition() writes it, in
// *out (malloc'd); 0 when the state is not as expected.
static int compose_transition(const Container *c, const char *to, char **out) {
  Value status = member(c->state, "status");
  if (!status.start || member(c->state, "startedAt").start) return 0;
  const char *close = c->state.end;
  while (close > c->state.start && close[-1] != '}') close--;
  if (close == c->state.start) return 0;
  const char *last = close - 1;  // the '}'; before it, the last member
  while (last > c->state.start && strchr(" \n\r\t", last[-1])) last--;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  struct tm tm;
  gmtime_r(&now.tv_sec, &tm);
  char when[40];
  size_t n = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(when + n, sizeof when - n, ".%03ldZ", now.tv_nsec / 1000000L);
  return asprintf(out, "%.*s\"%s\"%.*s,\n  \"startedAt\": \"%s\"\n}\n", (int)(status.start - c->state.start), c->state.start, to,
                  (int)(last - status.end), status.end, when) > 0;
}

// Replaces state.json with `text`, atomically (a temporary file renamed over it).
static int write_state(const Container *c, const char *text) {
  char tmp[PATH_MAX + 32], path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/state.json", c->dir);
  snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
  FILE *f = fopen(tmp, "we");
  if (!f) return 0;
  int ok = fputs(text, f) >= 0;
  if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return 0;
  }
  return 1;
}

// ---- the commands ----

// runc's container IDs (containers.ts's checkId): anything else is Node's to refuse.
static int valid_name(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 255 || !((id[0] >= 'A' && id[0] <= 'Z') || (id[0] >= 'a' && id[0] <= 'z') || (id[0] >= '0' && id[0] <= '9')))
    return 0;
  return strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-") == n;
}

static int cmd_start(Container *c) {
  if (!c->plan_start || strcmp(status_of(c), "created") != 0 || !take_lock(c)) hand_over();
  char fifo[PATH_MAX + 16], *next = NULL;
  snprintf(fifo, sizeof fifo, "%s/exec.fifo", c->dir);
  // Read again under the lock, and the next state made, before the byte: once it is sent
  // there is no handing over.
  int fd = -1;
  if (!read_state(c) || strcmp(c->status, "created") != 0 || !compose_transition(c, "running", &next) ||
      (fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
    release_lock(c);
    hand_over();
  }
  // One zero byte: go on to execve, no startContainer hook (start.ts's startMessage).
  char go = 0;
  int sent = write(fd, &go, 1) == 1;
  close(fd);
  if (!sent) {
    release_lock(c);
    hand_over();
  }
  unlink(fifo);
  int written = write_state(c, next);
  release_lock(c);
  if (!written) {
    fprintf(stderr, "diyc-oci: container %s started, but its state could not be written (%s)\n", c->dir, strerror(errno));
    return 1;
  }
  return 0;
}

// Signal names as runc's kill takes them: with or without SIG, any case; or a number.
static int parse_signal(const char *text) {
  static const struct {
    const char *name;
    int number;
  } names[] = {{"HUP", SIGHUP},       {"INT", SIGINT},       {"QUIT", SIGQUIT},     {"ILL", SIGILL},     {"TRAP", SIGTRAP},
               {"ABRT", SIGABRT},     {"IOT", SIGIOT},       {"BUS", SIGBUS},       {"FPE", SIGFPE},     {"KILL", SIGKILL},
               {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},
               {"TERM", SIGTERM},     {"CHLD", SIGCHLD},     {"STKFLT", SIGSTKFLT}, {"CONT", SIGCONT},   {"STOP", SIGSTOP},
               {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},     {"URG", SIGURG},     {"XCPU", SIGXCPU},
               {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},     {"WINCH", SIGWINCH}, {"IO", SIGIO},
               {"POLL", SIGPOLL},     {"PWR", SIGPWR},       {"SYS", SIGSYS}};
  if (!text || !*text) return SIGTERM;
  if (text[0] >= '0' && text[0] <= '9') {
    char *stop;
    long n = strtol(text, &stop, 10);
    return *stop == '\0' && n <= 64 ? (int)n : -1;
  }
  const char *name = strncasecmp(text, "SIG", 3) == 0 ? text + 3 : text;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcasecmp(name, names[i].name) == 0) return names[i].number;
  return -1;
}

// sig to the container's first process, only while it is the process that started at
// pid_start: the pidfd holds the process while same_process() looks at it, so a pid freed
// and taken by another process in between is never signalled (signalIf in wrappers.ts).
// Before Linux 5.3, kill(2) after the look. 0 when it was sent.
static int signal_first(const Container *c, int sig) {
  int fd = (int)syscall(SYS_pidfd_open, (pid_t)c->pid, 0);
  if (fd < 0 && errno != ENOSYS) return -1;
  int sent = -1;
  if (same_process(c->pid, c->pid_start)) sent = fd >= 0 ? (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) : kill((pid_t)c->pid, sig);
  if (fd >= 0) close(fd);
  return sent;
}

static int cmd_kill(Container *c, const char *signal_text) {
  int sig = parse_signal(signal_text);
  const char *status = status_of(c);
  int killable = strcmp(status, "created") == 0 || strcmp(status, "running") == 0;
  // A paused container's SIGKILL thaws it too (signal.ts): Node's to do. Anything the front
  // cannot do (the process went meanwhile) is Node's to say.
  if (sig < 0 || !killable || signal_first(c, sig) != 0) hand_over();
  return 0;
}

// Whether `dir` holds a directory (a child cgroup), or cannot be read; a missing one holds none.
static int holds_directory(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return errno != ENOENT;
  int found = 0;
  for (struct dirent *e; !found && (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    found = e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISDIR(st.st_mode)));
  }
  closedir(d);
  return found;
}

// Whether a cgroup directory has no process and no sub-cgroup (a missing one has none); one
// that cannot be read is not.
static int empty_cgroup(const char *dir) {
  char path[PATH_MAX + 16], pid;
  if (holds_directory(dir)) return 0;
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT;
  ssize_t n = read(fd, &pid, 1);  // one byte: a process is there, or not
  close(fd);
  return n == 0;
}

// Whether every cgroup directory of the container can be removed: no child cgroup (one its
// process made, with a writable cgroupfs of its own), no process left (no PID namespace of
// its own). Checked in all before any is removed: a v1 cgroup half removed is one that
// diyc-oci.js no longer sees (CgroupManager.exists() asks every hierarchy), and leaves.
static int cgroups_empty(const Container *c) {
  for (int i = 0; i < c->ncgroups; i++)
    if (!empty_cgroup(c->cgroups[i])) return 0;
  return 1;
}

// kill --all: the signal to every process in the container's cgroup. The front does the
// call containerd makes after every stop, once the first process has ended and, with its
// PID namespace, all the others: an empty cgroup, nothing to signal. A process left, a
// sub-cgroup, or a frozen cgroup's SIGKILL (which thaws it) is Node's: it freezes the
// cgroup while it signals, so that nothing forks away (signal.ts).
static int cmd_kill_all(Container *c, const char *signal_text) {
  int sig = parse_signal(signal_text);
  if (sig < 0 || c->ncgroups == 0 || (sig == SIGKILL && frozen(c)) || !cgroups_empty(c)) hand_over();
  return 0;
}

// The container's directory and what is in it: files only (anything else is Node's, found
// before any file is removed).
static int remove_dir(const char *dir) {
  if (holds_directory(dir)) return 0;
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT;
  int ok = 1;
  for (struct dirent *e; ok && (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    ok = e->d_type != DT_DIR && unlinkat(dirfd(d), e->d_name, 0) == 0;
  }
  closedir(d);
  return ok && rmdir(dir) == 0;
}

static int cmd_delete(Container *c) {
  if (!c->plan_delete || strcmp(status_of(c), "stopped") != 0 || !take_lock(c)) hand_over();
  // Read again under the lock: the state it was judged on must be the one it removes (a
  // delete by diyc-oci.js and a create of the same ID may have run meanwhile).
  char *seen = c->state_text;
  long seen_len = c->state_len;
  c->state_text = NULL;
  if (!read_state(c) || c->state_len != seen_len || memcmp(c->state_text, seen, (size_t)seen_len) != 0 || !cgroups_empty(c)) {
    release_lock(c);
    hand_over();
  }
  free(seen);
  for (int i = 0; i < c->ncgroups; i++) {
    if (rmdir(c->cgroups[i]) != 0 && errno != ENOENT) {
      // Busy after all (a process placed there by hand meanwhile): Node kills and retries.
      release_lock(c);
      hand_over();
    }
  }
  if (!remove_dir(c->dir)) {
    release_lock(c);
    hand_over();
  }
  release_lock(c);
  for (int i = 0; i < c->nprunes; i++) rmdir(c->prunes[i]);  // busy: another container of this root
  return 0;
}

// One row of `list`'s table: each cell plain ASCII (a path with an escape is Node's to show).
typedef struct {
  char id[256], pid[24], status[16], bundle[PATH_MAX], created[64], owner[64];
} Row;

// A string value as written (JSON.stringify's escapes are JSON.stringify's), or `fallback`.
static void put_string(FILE *out, int pretty, const char *key, Value v, const char *fallback, int last) {
  fprintf(out, "%s\"%s\":%s", pretty ? "  " : "", key, pretty ? " " : "");
  if (is_string(v)) fprintf(out, "%.*s", (int)(v.end - v.start), v.start);
  else fprintf(out, "\"%s\"", fallback);
  fputs(last ? "" : pretty ? ",\n" : ",", out);
}

// Whether `text` is printable ASCII with nothing JSON would escape.
static int plain_ascii(const char *text) {
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') return 0;
  return 1;
}

// A table cell from a string value: plain, or 0.
static int cell(Value v, const char *fallback, char *buf, size_t cap) {
  if (!v.start) return snprintf(buf, cap, "%s", fallback) < (int)cap;
  return plain_string(v, buf, cap) && plain_ascii(buf);
}

// The container's state in runc's form (state.ts's runcState) to `out`: indented by two
// spaces (`state`) or on one line (`list --format json`), and its table row if `row`.
// 0, with nothing written, when this program cannot tell it as diyc-oci.js would.
static int describe(Container *c, const char *id, const char *owner, int pretty, FILE *out, Row *row) {
  const char *status = status_of(c);
  char path[PATH_MAX + 16], *text = NULL;
  snprintf(path, sizeof path, "%s/config.json", c->dir);
  long len = read_file(path, &text);
  if (!*status || len < 0 || !skip_value(text, text + len, 0)) {
    free(text);
    return 0;
  }
  Value record = {text, text + len};
  Value root = member(record, "root"), annotations = member(record, "annotations");
  Value version = member(record, "ociVersion"), rootfs = root.start ? member(root, "path") : root;
  Value bundle = member(c->state, "bundle"), created = member(c->state, "createdAt");
  long long pid = strcmp(status, "stopped") == 0 || c->pid < 0 ? 0 : c->pid;  // 0 once stopped
  if ((annotations.start && *annotations.start != '{') || !plain_ascii(owner)) return 0;
  if (row) {
    snprintf(row->id, sizeof row->id, "%s", id);
    snprintf(row->pid, sizeof row->pid, "%lld", pid);
    snprintf(row->status, sizeof row->status, "%s", status);
    snprintf(row->owner, sizeof row->owner, "%s", owner);
    if (!cell(bundle, "", row->bundle, sizeof row->bundle) || !cell(created, "0001-01-01T00:00:00Z", row->created, sizeof row->created))
      return 0;
  }
  if (!out) return 1;  // the row only
  // The engine's annotations, not diyc's own: every value a string, checked before any is written.
  const char *keys[256], *values[256];
  int nkeys[256], nvalues[256], shown = 0;
  if (annotations.start) {
    const char *p = skip_ws(annotations.start + 1, annotations.end), *end = annotations.end;
    while (p < end && *p == '"') {
      const char *kend = skip_value(p, end, 1);
      const char *vstart = skip_ws(skip_ws(kend, end) + 1, end);
      const char *vend = skip_value(vstart, end, 1);
      if (*vstart != '"' || shown == 256) return 0;
      if (strncmp(p, "\"org.diyc.", 10) != 0) {
        keys[shown] = p, nkeys[shown] = (int)(kend - p);
        values[shown] = vstart, nvalues[shown++] = (int)(vend - vstart);
      }
      p = skip_ws(vend, end);
      if (p < end && *p == ',') p = skip_ws(p + 1, end);
    }
  }
  fputs(pretty ? "{\n" : "{", out);
  put_string(out, pretty, "ociVersion", version, "", 0);
  fprintf(out, pretty ? "  \"id\": \"%s\",\n  \"pid\": %lld,\n  \"status\": \"%s\",\n" : "\"id\":\"%s\",\"pid\":%lld,\"status\":\"%s\",", id, pid,
          status);
  put_string(out, pretty, "bundle", bundle, "", 0);
  put_string(out, pretty, "rootfs", rootfs, "", 0);
  put_string(out, pretty, "created", created, "0001-01-01T00:00:00Z", 0);
  for (int i = 0; i < shown; i++) {
    if (i == 0) fputs(pretty ? "  \"annotations\": {\n" : "\"annotations\":{", out);
    fprintf(out, pretty ? "    %.*s: %.*s%s" : "%.*s:%.*s%s", nkeys[i], keys[i], nvalues[i], values[i], i + 1 < shown ? (pretty ? ",\n" : ",") : "");
    if (i + 1 == shown) fputs(pretty ? "\n  },\n" : "},", out);
  }
  fprintf(out, pretty ? "  \"owner\": \"%s\"\n}" : "\"owner\":\"%s\"}", owner);
  free(text);
  return 1;
}

static int cmd_state(Container *c, const char *id) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  if (!out || !describe(c, id, "", 1, out, NULL)) hand_over();
  fclose(out);
  fwrite(text, 1, len, stdout);  // `state` ends with no newline, as runc's
  return fflush(stdout) == 0 ? 0 : 1;
}

// The user name of `uid` from /etc/passwd, or "#uid" (state.ts's userName).
static void user_name(unsigned uid, char *buf, size_t cap) {
  char *passwd = NULL;
  snprintf(buf, cap, "#%u", uid);
  if (read_file("/etc/passwd", &passwd) < 0) return;
  for (char *line = passwd, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = '\0';
    char *name = line, *p = strchr(line, ':'), *id = p ? strchr(p + 1, ':') : NULL;
    if (!id || p == name) continue;
    *p = '\0';
    char *stop;
    unsigned long n = strtoul(++id, &stop, 10);
    if (stop != id && (*stop == ':' || !*stop) && n == uid) {
      snprintf(buf, cap, "%s", name);
      break;
    }
  }
  free(passwd);
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// `list` (state.ts's listCommand): -q, --format table|json.
static int cmd_list(const char *root, int quiet, int json) {
  DIR *d = opendir(root);
  if (!d && errno != ENOENT) hand_over();
  char **names = NULL;
  size_t count = 0, cap = 0;
  for (struct dirent *e; d && (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (e->d_name[0] == '.' || (n > 5 && strcmp(e->d_name + n - 5, ".lock") == 0)) continue;
    char state[PATH_MAX + 256], config[PATH_MAX + 256];
    struct stat st;
    snprintf(state, sizeof state, "%s/%s/state.json", root, e->d_name);
    snprintf(config, sizeof config, "%s/%s/config.json", root, e->d_name);
    int is_dir = e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode));
    if (!is_dir || (access(state, F_OK) != 0 && access(config, F_OK) != 0)) continue;
    if (!valid_name(e->d_name)) hand_over();  // a directory made by hand: Node's to show
    if (count == cap && !(names = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *names))) hand_over();
    names[count++] = strdup(e->d_name);
  }
  if (d) closedir(d);
  qsort(names, count, sizeof *names, by_name);
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  Row *rows = calloc(count + 1, sizeof *rows);
  if (!out || !rows) hand_over();
  if (json) fputs(count == 0 ? "null" : "[", out);  // Go's nil slice is null
  for (size_t i = 0; i < count; i++) {
    static Container c;
    free(c.state_text);
    memset(&c, 0, sizeof c);
    struct stat st;
    if (!container_at(&c, root, names[i]) || !read_state(&c) || stat(c.dir, &st) != 0) hand_over();  // a directory with no state yet
    read_plan(&c);
    // /etc/passwd read once per owner, not per container (they are nearly always root's).
    static unsigned owner_uid = UINT_MAX;
    static char owner[64];
    if (st.st_uid != owner_uid) {
      owner_uid = st.st_uid;
      user_name(owner_uid, owner, sizeof owner);
    }
    if (quiet) continue;
    if (json && i > 0) fputc(',', out);
    if (!describe(&c, names[i], owner, 0, json ? out : NULL, &rows[i])) hand_over();
  }
  if (json) fputs(count == 0 ? "\n" : "]\n", out);
  if (quiet)
    for (size_t i = 0; i < count; i++) fprintf(out, "%s\n", names[i]);
  if (!quiet && !json) {
    // Go's tabwriter(minwidth 12, tabwidth 1, padding 3, ' '): every cell but the last padded.
    rows[count] = (Row){"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"};
    int width[5] = {12, 12, 12, 12, 12};
    for (size_t i = 0; i <= count; i++) {
      const char *cells[5] = {rows[i].id, rows[i].pid, rows[i].status, rows[i].bundle, rows[i].created};
      for (int k = 0; k < 5; k++)
        if ((int)strlen(cells[k]) + 3 > width[k]) width[k] = (int)strlen(cells[k]) + 3;
    }
    for (size_t j = 0; j <= count; j++) {
      const Row *r = &rows[j == 0 ? count : j - 1];  // the header first
      fprintf(out, "%-*s%-*s%-*s%-*s%-*s%s\n", width[0], r->id, width[1], r->pid, width[2], r->status, width[3], r->bundle, width[4],
              r->created, r->owner);
    }
  }
  fclose(out);
  fwrite(text, 1, len, stdout);
  return fflush(stdout) == 0 ? 0 : 1;
}

// ---- the command line ----

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: diyc-oci-front JS [ARGS...]: bin/diyc-oci runs it; run diyc-oci instead\n");
    return 2;
  }
  const char *node = getenv("DIYC_OCI_NODE");
  handover_argv = calloc((size_t)argc + 1, sizeof *handover_argv);
  handover_argv[0] = (char *)(node && *node ? node : "node");
  for (int i = 1; i < argc; i++) handover_argv[i] = argv[i];

  // Global flags: the ones engines pass on every call; any other is Node's to read.
  const char *root = "/run/diyc-oci";
  int i = 2;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i], *eq = strchr(a, '=');
    size_t name = eq ? (size_t)(eq - a) : strlen(a);
    int valued = (name == 6 && strncmp(a, "--root", 6) == 0) || (name == 5 && strncmp(a, "--log", 5) == 0) ||
                 (name == 12 && strncmp(a, "--log-format", 12) == 0) || (name == 6 && strncmp(a, "--criu", 6) == 0);
    if (valued) {
      const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
      if (!value) hand_over();
      if (name == 6 && a[2] == 'r') root = value;
    } else if (strcmp(a, "--systemd-cgroup") != 0) {
      hand_over();  // --debug, --trace, --help, --version, ...
    }
  }
  if (i >= argc) hand_over();
  const char *command = argv[i++];
  if (strcmp(command, "list") == 0) {
    int quiet = 0, json = 0;
    for (; i < argc; i++) {
      const char *a = argv[i], *format = NULL;
      if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
        quiet = 1;
        continue;
      }
      if ((strcmp(a, "-f") == 0 || strcmp(a, "--format") == 0) && i + 1 < argc) format = argv[++i];
      else if (strncmp(a, "--format=", 9) == 0) format = a + 9;
      if (!format || (strcmp(format, "table") != 0 && strcmp(format, "json") != 0)) hand_over();
      json = strcmp(format, "json") == 0;
    }
    if (root[0] != '/') hand_over();
    return cmd_list(root, quiet, json);
  }
  int force = 0, all = 0;
  if (strcmp(command, "delete") == 0 && i < argc && (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0)) force = 1, i++;
  if (strcmp(command, "kill") == 0 && i < argc && (strcmp(argv[i], "--all") == 0 || strcmp(argv[i], "-a") == 0)) all = 1, i++;
  const char *id = i < argc ? argv[i++] : "";
  const char *extra = i < argc ? argv[i++] : NULL;  // kill's signal
  int is_kill = strcmp(command, "kill") == 0;
  if (i < argc || (extra && !is_kill) || !valid_name(id) || root[0] != '/') hand_over();
  if (extra && extra[0] == '-') hand_over();  // a flag after the ID

  static Container c;
  if (!container_at(&c, root, id)) hand_over();
  if (!read_state(&c)) {
    struct stat st;
    // containerd's `delete --force` after its `delete`: nothing there, nothing to say.
    if (strcmp(command, "delete") == 0 && force && c.state_len < 0 && stat(c.dir, &st) != 0 && errno == ENOENT) return 0;
    hand_over();
  }
  read_plan(&c);
  if (strcmp(command, "start") == 0) return cmd_start(&c);
  if (is_kill) return all ? cmd_kill_all(&c, extra) : cmd_kill(&c, extra);
  if (strcmp(command, "delete") == 0) return cmd_delete(&c);
  if (strcmp(command, "state") == 0) return cmd_state(&c, id);
  hand_over();
  return 1;
}
