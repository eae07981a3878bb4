// The code that runs between clone() and execve(): all of it is in this file.
//
// Node is a multithreaded process, so it cannot unshare(CLONE_NEWNS) or setns() into a
// mount namespace itself (see unshare(2), setns(2)). Instead it clone()s a child, as
// fork() would, with the new namespaces asked for, and the child prepares itself and
// execs the command. The child is a copy of one thread of a process whose other threads
// may hold locks (malloc's, and glibc's own), so from clone() to execve() it makes only
// raw system calls: no allocation, no stdio, no N-API, and none of glibc's wrappers that
// take a lock or signal other threads (fork, setuid, setgroups...: syscall(2) instead).
// Every input was converted to plain C data (ChildPlan) by the parent before clone().
//
// The stages, in the order the child runs them:
//
//   step              system call                            when
//   ----------------  -------------------------------------  --------------------------
//   (first)           close(2) the parent's pipe ends        always
//   dumpable          prctl(2) PR_SET_DUMPABLE 0             always
//   hold              read(hold_fd), or recvmsg(2) with the  the parent asked to hold it
//                     bind sources (SCM_RIGHTS)              (mount sources: a user namespace)
//   console           socket(2), connect(2)                  a console socket is given
//   start_fifo        open(2) the FIFO                       OCI create
//   open_ns           open(2)                                for each namespace to join
//   cgroup            write "0" to cgroup.procs              for each cgroup file (v1: to tasks;
//                                                          v2: none when cloned into it)
//   setns             setns(2)                               for each namespace to join
//   (userns root)     setresgid(2), setresuid(2) to 0        in a user namespace
//   fork              clone(2) as fork                       a PID namespace was joined
//   unshare           unshare(CLONE_NEWCGROUP)               a cgroup namespace is asked
//   sethostname       sethostname(2), setdomainname(2)       names given
//   oom_score_adj     write /proc/self/oom_score_adj         asked
//   make_private      mount(2) MS_REC|MS_PRIVATE on /        a mount namespace was made
//   pivot_root (1/2)  mount(2) the root onto itself          a root is given
//   mount ...         mount, mkdir, mknod, symlink, write,   the fs steps, in order
//                     mask (masked paths), mount_setattr(2)
//                     (recursive attributes: rro, rnosuid...)
//   (sync)            message, read(hold_fd)                 hooks run before pivot_root
//   pivot_root (2/2)  pivot_root(2), umount2(2)              a root is given; with no_pivot:
//                     or umount2(2) the host's proc and        MS_MOVE and chroot, after the
//                     sysfs, mount(2) MS_MOVE, chroot(2)       host's kernel mounts are gone
//   make_private      mount(2) rootfsPropagation on /        asked (pivot_root needs it after)
//   chdir             chdir(2), getcwd(2)                    the cwd must be inside the root
//   console           the pty: open(2), ioctl(2), sendmsg(2) a console socket is given
//   keyring           keyctl(KEYCTL_JOIN_SESSION_KEYRING)    asked
//   rlimit            prlimit64(2)                           for each rlimit
//   stdio, setsid     dup2(2), setsid(2), tcsetpgrp(3)
//   (stdio owner)     fstat(2), fchown(2) of 0-2             a user is given
//   close_fds         close_range(2) CLOSE_RANGE_CLOEXEC     always
//   seccomp (early)   seccomp(2)                             without no_new_privs
//   (seccomp_notify)  message, read(hold_fd), close(2)       the filter has a listener
//   capabilities      prctl(2) PR_CAPBSET_DROP, KEEPCAPS     capabilities are given
//   setgroups/gid/uid setgroups(2), setresgid(2), setresuid(2) a user is given
//   capabilities      capset(2), prctl(2) PR_CAP_AMBIENT     capabilities are given
//   umask             umask(2)                               given
//   (signals)         sigaction(2), sigprocmask(2) to default
//   (command check)   faccessat(2), newfstatat(2) on PATH    OCI create
//   no_new_privs,     prctl(2), seccomp(2), and the listener  no_new_privs, a listener and
//     seccomp         handed over as above                     OCI create (runc's place)
//   start_fifo        message, read(2) the FIFO (and the      OCI create
//                     state, for the hooks)
//   no_new_privs      prctl(2) PR_SET_NO_NEW_PRIVS           asked
//   seccomp (late)    seccomp(2) (and its listener)          with no_new_privs
//   hook              pipe2(2), clone(2), execve(2), wait4(2) for each startContainer hook
//   execve            execve(2), searching PATH
//
// Each system call is documented at https://man7.org/linux/man-pages/man2/NAME.2.html
// (tcsetpgrp: man3). Why each step is where it is:
//   - the child is made non-dumpable first of all, before it joins anything: from the
//     moment a process of the container can see it (a joined PID namespace, the cgroup)
//     until execve, it is a copy of the host's Node with the host's fds and memory. A
//     dumpable one could be opened through /proc/PID/exe (and the binary rewritten once
//     we exit: CVE-2019-5736), /proc/PID/fd, mem and environ, or ptrace'd before its
//     seccomp filter is loaded. Non-dumpable, all of that needs CAP_SYS_PTRACE in its
//     user namespace, which a container does not hold (proc(5), ptrace(2) "Ptrace access
//     mode checking"). execve(2) makes the command dumpable again, as any program is;
//   - namespace files are opened before any is joined, and the cgroup is entered in
//     between, while host paths still mean the host's files;
//   - sethostname needs the UTS namespace, and the mounts need `/` private first, or
//     they would propagate back to the host;
//   - every fs step resolves its path inside the root (ResolveInRoot), and mounts onto
//     the fd it got (/proc/self/fd/N), so a symlink in the image cannot aim a mount,
//     a device node or a write at the host; this needs the host's /proc, so it all
//     happens before pivot_root;
//   - the working directory is checked with getcwd(2) after chdir: a cwd given as
//     /proc/self/fd/N could name a directory the runtime had open, outside the root
//     (runc's CVE-2024-21626); the kernel then answers "(unreachable)...";
//   - the console socket and the start FIFO are host paths: opened first, before any
//     namespace is joined (a joined mount namespace would change what they name) and
//     while still the host's root (a user namespace's root cannot open /run/diyc-oci);
//   - seccomp is loaded last when no_new_privs is set (the filter then needs to allow
//     nothing but execve); without it, loading needs CAP_SYS_ADMIN, so it comes before
//     the capabilities are dropped, as runc does. A filter with a listener (SCMP_ACT_NOTIFY)
//     is handed to the seccomp agent by the process that waits for us, during create:
//     with no_new_privs it is then loaded just before the start FIFO, as runc loads it;
//   - the startContainer hooks run last, under the filter the command will have and in
//     the container's namespaces and root, as runc runs them; they are fork+execve+wait4
//     and nothing else (their state comes through the FIFO, written by `start`);
//   - a bind source in a new user namespace is opened by the parent, which is the host's
//     root, in our mount namespace (through /proc/PID/root), while we are held: we, root
//     of the user namespace only, may not reach a directory that only the host's root can;
//   - each step's start is noted (Mark) on a page the parent mapped before clone():
//     clock_gettime(2) through the vDSO, so it costs a few nanoseconds and no system call;
//   - the user is changed after everything that needs privileges, with the capabilities
//     kept across setresuid by PR_SET_KEEPCAPS and then set exactly.
//
// Messages on the error pipe (close-on-exec, so it closes by itself at execve):
//
//   child -> parent   ChildError {step >= 0, index, errno}   a step failed; the child _exit()s
//   child -> parent   {kMsgPid, pid, 0}                      after a fork: the pid that execs
//   child -> parent   {kMsgSyncBeforePivot, -1, 0}           waiting for "go" on the hold pipe
//   child -> parent   {kMsgReady, -1, 0}                     waiting on the start FIFO
//   child -> parent   {kMsgSeccompListener, fd, 0}           the listener's number: the
//                                                            parent takes it, says go
//   child -> parent   {kMsgCommandPid, pid, 0}               a relay stays; the command's pid
//   (end of file)                                            execve succeeded
//
// Messages on the hold socket (a socketpair): parent -> child, one byte: "go on" (at the
// start, at the sync point, after the listener is taken). The first carries the bind
// sources (SCM_RIGHTS) when the plan has any. End of file without the byte means the
// parent gave up: the child exits.
//
// The start FIFO: `start` writes one byte. With startContainer hooks it writes 1 and then
// the container's state for them: its length (4 bytes, host order) and the JSON; else 0.
//
// With a supervisor (diyc-run -d), clone() makes a small process S first; S clones the
// container's process C (so C is S's child), reports C's pid like a fork does, closes
// what is not the supervisor's, and execs the supervisor (diyc-shim --pid C), which waits
// for C, copies its output to the log and records its exit:
//
//   parent ──clone──► S ──clone(namespaces)──► C (runs the plan above, held like any child)
//                     └──execve──► diyc-shim --pid C
//
// Joining a PID namespace only affects the children of the caller (setns(2)), so after
// joining one the child forks: the grandchild becomes the command, and the child either
// stays behind as a small relay that forwards signals to it and exits as it exits, or
// (detach_after_fork, for OCI runtimes) reports the grandchild's pid and exits, so that
// the caller's subreaper becomes its parent.

#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#define KEYCTL_JOIN_SESSION_KEYRING 1

namespace diyc {
namespace {

// ---- reporting ---------------------------------------------------------------------

void Send(const ChildPlan& plan, int32_t step, int32_t index, int32_t err) {
  ChildError e{step, index, err};
  // One write of 12 bytes to a pipe is atomic (pipe(7), PIPE_BUF).
  ssize_t ignored = write(plan.error_fd, &e, sizeof e);
  (void)ignored;
}

[[noreturn]] void Fail(const ChildPlan& plan, Step step, int index, int err) {
  Send(plan, step, index, err);
  _exit(127);
}

// Notes when a step starts, on the page the parent reads (StepTimes in child.h). The
// clock is read through the vDSO: no system call, so no lock and nothing a seccomp
// filter sees, and the same clock as Node's process.hrtime.
void Mark(const ChildPlan& plan, Step step, int index = -1) {
  StepTimes* t = plan.times;
  if (t == nullptr) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int32_t n = t->count;
  if (n < kMaxStepMarks) t->marks[n] = {static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec, step, index};
  __atomic_store_n(&t->count, n + 1, __ATOMIC_RELEASE);
}

constexpr int kMaxSourceFds = 253;  // SCM_MAX_FD: what one message can carry

// Waits for the parent's "go" byte on the hold socket; the parent gone: leave quietly.
// With `n_fds`, the byte carries that many descriptors (SCM_RIGHTS, unix(7)), put in `fds`.
void WaitForGo(const ChildPlan& plan, int* fds = nullptr, int n_fds = 0) {
  char go = 0;
  ssize_t n;
  if (n_fds == 0) {
    // read(2), as runc's init waits: the call a seccomp profile is likeliest to allow.
    do n = read(plan.hold_fd, &go, 1); while (n < 0 && errno == EINTR);
    if (n != 1) _exit(127);
    return;
  }
  struct iovec iov = {&go, 1};
  union {
    char buf[CMSG_SPACE(sizeof(int) * kMaxSourceFds)];
    struct cmsghdr align;
  } control;
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.buf;
  msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
  do n = recvmsg(plan.hold_fd, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  if (n != 1) _exit(127);
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int) * n_fds) || (msg.msg_flags & MSG_CTRUNC))
    Fail(plan, kStepHold, -1, EPROTO);
  memcpy(fds, CMSG_DATA(c), sizeof(int) * n_fds);
}

size_t Length(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

// Writes the decimal digits of `n` (>= 0 or negative) into `out`, NUL-terminated.
char* FormatInt(long n, char* out) {
  char digits[24];
  int i = 0;
  bool negative = n < 0;
  unsigned long u = negative ? 0UL - static_cast<unsigned long>(n) : static_cast<unsigned long>(n);
  do { digits[i++] = static_cast<char>('0' + u % 10); u /= 10; } while (u);
  char* p = out;
  if (negative) *p++ = '-';
  while (i) *p++ = digits[--i];
  *p = '\0';
  return out;
}

// "/proc/self/fd/N": how mount(2) and friends are pointed at an fd we resolved safely.
struct FdPath {
  char text[32];
  explicit FdPath(int fd) {
    memcpy(text, "/proc/self/fd/", 14);
    FormatInt(fd, text + 14);
  }
};

// Resets every signal to its default action and unblocks them all, as a freshly
// exec'd program expects. Node ignores SIGPIPE, and execve(2) keeps ignored signals
// ignored, so this must be done by hand.
void ResetSignals() {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, nullptr);  // EINVAL for KILL/STOP: fine
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

// fork(2) as a raw clone(2): glibc's fork() runs atfork handlers and takes locks.
pid_t RawFork() { return static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0)); }

// ---- the PID-namespace relay -------------------------------------------------------

volatile pid_t g_relay_target = 0;

void RelaySignal(int sig) {
  if (g_relay_target > 0) kill(g_relay_target, sig);
}

// Runs in the child after it joined a PID namespace and forked: wait for the command,
// forward signals to it, and leave with its status.
[[noreturn]] void RunRelay(pid_t target) {
  g_relay_target = target;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = RelaySignal;
  sa.sa_flags = SA_RESTART;
  const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
  for (int sig : forwarded) sigaction(sig, &sa, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  int status = 0;
  while (waitpid(target, &status, 0) < 0) {
    if (errno != EINTR) _exit(127);
  }
  if (WIFSIGNALED(status)) {
    // Die the same way, so our parent sees the signal, not a number.
    int sig = WTERMSIG(status);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, nullptr);
    kill(getpid(), sig);
    _exit(128 + sig);
  }
  _exit(WEXITSTATUS(status));
}

// ---- namespaces and cgroups --------------------------------------------------------

constexpr int kMaxJoins = 16;

// Namespace files are opened before any is joined, and the cgroup is entered in
// between: once in another mount namespace, host paths (/proc/PID/ns/..., the
// cgroup.procs files under /sys/fs/cgroup) would resolve inside it instead.
void OpenNamespaces(const ChildPlan& plan, int* fds) {
  if (plan.n_joins > kMaxJoins) Fail(plan, kStepOpenNs, kMaxJoins, E2BIG);
  for (int i = 0; i < plan.n_joins; i++) {
    fds[i] = open(plan.joins[i].path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) Fail(plan, kStepOpenNs, i, errno);
  }
}

void JoinNamespaces(const ChildPlan& plan, const int* fds) {
  for (int i = 0; i < plan.n_joins; i++) {
    if (setns(fds[i], plan.joins[i].nstype) < 0) Fail(plan, kStepSetns, i, errno);
    close(fds[i]);
  }
}

bool JoinsPidNamespace(const ChildPlan& plan) {
  for (int i = 0; i < plan.n_joins; i++)
    if (plan.joins[i].nstype == CLONE_NEWPID) return true;
  return false;
}

// Writes `text` to an existing file; the errno on failure.
int WriteFile(int fd, const char* text) {
  size_t len = Length(text);
  ssize_t n = write(fd, text, len);
  if (n < 0) return errno;
  return static_cast<size_t>(n) == len ? 0 : EIO;
}

void EnterCgroups(const ChildPlan& plan) {
  for (int i = 0; i < plan.n_cgroup_procs; i++) {
    // Cloned into it already (CLONE_INTO_CGROUP): writing again would wait for a grace period.
    if (plan.in_cgroup && i == plan.cgroup_fd_index) continue;
    int fd = open(plan.cgroup_procs[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) Fail(plan, kStepCgroup, i, errno);
    // "0" is the writing process itself, whatever PID namespace it is in (cgroups(7)).
    int err = WriteFile(fd, "0");
    if (err) Fail(plan, kStepCgroup, i, err);
    close(fd);
  }
}

void SetOomScoreAdj(const ChildPlan& plan) {
  if (!plan.set_oom_score_adj) return;
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) Fail(plan, kStepOomScoreAdj, -1, errno);
  char text[24];
  int err = WriteFile(fd, FormatInt(plan.oom_score_adj, text));
  if (err) Fail(plan, kStepOomScoreAdj, -1, err);
  close(fd);
}

}  // namespace

// ---- paths inside the root ---------------------------------------------------------

namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's own limit (path_resolution(7))

// A path inside the root, kept as its components from the root, so that `..` can go
// back one (and never above the root) by opening the rest again from the root.
struct Walk {
  int root_fd;
  int dir_fd = -1;          // the directory reached so far
  char where[PATH_MAX];     // its path from the root, "" or "a/b"
  size_t where_len = 0;

  bool Reset() {
    if (dir_fd >= 0) close(dir_fd);
    where_len = 0;
    where[0] = '\0';
    dir_fd = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    return dir_fd >= 0;
  }
  // `..`: the parent of `where`, reopened from the root one plain component at a time
  // (each was a real directory when it was reached).
  int Up() {
    while (where_len > 0 && where[where_len - 1] != '/') where_len--;
    if (where_len > 0) where_len--;
    where[where_len] = '\0';
    int fd = openat(root_fd, where_len ? where : ".", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -errno;
    close(dir_fd);
    dir_fd = fd;
    return 0;
  }
  int Down(int fd, const char* name, size_t len) {
    if (where_len + 1 + len >= sizeof where) return -ENAMETOOLONG;
    if (where_len) where[where_len++] = '/';
    memcpy(where + where_len, name, len);
    where_len += len;
    where[where_len] = '\0';
    close(dir_fd);
    dir_fd = fd;
    return 0;
  }
};

}  // namespace

// ResolveInRoot for kernels without openat2(2): one component at a time, never letting
// the kernel follow a symlink (O_NOFOLLOW); a link's text is put in front of what is
// left and resolved again, from the root when it is absolute. A magic link of /proc is
// read as text too, so it cannot leave the root either.
int WalkInRoot(int root_fd, const char* path, int flags, mode_t mode) {
  char rest[PATH_MAX], next[PATH_MAX];
  size_t len = Length(path);
  if (len >= sizeof rest) return -ENAMETOOLONG;
  memcpy(rest, path, len + 1);
  Walk walk;
  walk.root_fd = root_fd;
  if (!walk.Reset()) return -errno;
  int links = 0;
  size_t pos = 0;
  for (;;) {
    while (rest[pos] == '/') pos++;
    if (rest[pos] == '\0') {  // the path named the directory reached
      int fd = openat(walk.dir_fd, ".", flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW), 0);
      int err = errno;
      close(walk.dir_fd);
      return fd >= 0 ? fd : -err;
    }
    size_t start = pos;
    while (rest[pos] != '\0' && rest[pos] != '/') pos++;
    size_t n = pos - start;
    char name[NAME_MAX + 1];
    if (n > NAME_MAX) { close(walk.dir_fd); return -ENAMETOOLONG; }
    memcpy(name, rest + start, n);
    name[n] = '\0';
    bool last = true;
    for (size_t i = pos; rest[i] != '\0'; i++) if (rest[i] != '/') { last = false; break; }
    if (n == 1 && name[0] == '.') continue;
    if (n == 2 && name[0] == '.' && name[1] == '.') {
      int err = walk.Up();
      if (err) { close(walk.dir_fd); return err; }
      continue;
    }
    // Look at the component without following it: a symlink is resolved here.
    int fd = openat(walk.dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (last && err == ENOENT && (flags & O_CREAT)) {
        fd = openat(walk.dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
        err = errno;
      }
      close(walk.dir_fd);
      return fd >= 0 ? fd : -err;
    }
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) < 0) { int err = errno; close(fd); close(walk.dir_fd); return -err; }
    bool is_link = S_ISLNK(st.st_mode);
    if (!is_link || (last && (flags & O_NOFOLLOW))) {
      if (last) {
        close(fd);
        fd = openat(walk.dir_fd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
        int err = errno;
        close(walk.dir_fd);
        return fd >= 0 ? fd : -err;
      }
      if (!S_ISDIR(st.st_mode)) { close(fd); close(walk.dir_fd); return -ENOTDIR; }
      int down = walk.Down(fd, name, n);
      if (down) { close(fd); close(walk.dir_fd); return down; }
      continue;
    }
    if (++links > kMaxSymlinks) { close(fd); close(walk.dir_fd); return -ELOOP; }
    ssize_t tlen = readlinkat(fd, "", next, sizeof next - 1);
    int err = errno;
    close(fd);
    if (tlen < 0) { close(walk.dir_fd); return -err; }
    size_t tail = Length(rest + pos);
    if (static_cast<size_t>(tlen) + 1 + tail >= sizeof next) { close(walk.dir_fd); return -ENAMETOOLONG; }
    next[tlen] = '/';
    memcpy(next + tlen + 1, rest + pos, tail + 1);
    memcpy(rest, next, static_cast<size_t>(tlen) + 1 + tail + 1);
    pos = 0;
    if (rest[0] == '/' && !walk.Reset()) return -errno;
  }
}

int ResolveInRoot(int root_fd, const char* path, int flags, mode_t mode) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd;
  int tries = 0;
  // EAGAIN: a rename elsewhere raced the lookup; the kernel asks us to try again.
  do fd = syscall(SYS_openat2, root_fd, path, &how, sizeof how);
  while (fd < 0 && (errno == EINTR || (errno == EAGAIN && ++tries < 32)));
  if (fd >= 0) return static_cast<int>(fd);
  if (errno != ENOSYS) return -errno;
  return WalkInRoot(root_fd, path, flags, mode);
}

namespace {

// Splits "a/b/c" into the parent "a/b" (written to `parent`) and the name "c".
const char* SplitParent(const char* path, char* parent) {
  size_t len = Length(path);
  while (len > 1 && path[len - 1] == '/') len--;
  size_t slash = len;
  while (slash > 0 && path[slash - 1] != '/') slash--;
  const char* name = path + slash;
  size_t plen = slash > 1 ? slash - 1 : slash;  // drop the separator, keep a lone "/"
  memcpy(parent, path, plen);
  parent[plen] = '\0';
  if (plen == 0) { parent[0] = '/'; parent[1] = '\0'; }
  return name;
}

}  // namespace

namespace {

// MkdirInRoot, with a count of the symlinks followed so far.
int MkdirInRootDepth(int root_fd, const char* path, mode_t mode, int links) {
  int fd = ResolveInRoot(root_fd, path, O_PATH | O_DIRECTORY, 0);
  if (fd != -ENOENT) return fd;
  char prefix[PATH_MAX];
  size_t len = Length(path);
  if (len >= sizeof prefix) return -ENAMETOOLONG;
  memcpy(prefix, path, len + 1);
  int parent = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0) return -errno;
  size_t pos = 0, parent_end = 0;
  while (pos < len) {
    while (prefix[pos] == '/') pos++;
    if (pos >= len) break;
    size_t start = pos;
    while (pos < len && prefix[pos] != '/') pos++;
    char saved = prefix[pos];
    prefix[pos] = '\0';
    // Each prefix is resolved from the root again: its symlinks stay inside.
    fd = ResolveInRoot(root_fd, prefix, O_PATH | O_DIRECTORY, 0);
    if (fd == -ENOENT) {
      const char* name = prefix + start;
      if (mkdirat(parent, name, mode) < 0 && errno != EEXIST) { int err = errno; close(parent); return -err; }
      // Made just now, so not a symlink: opened without following one all the same.
      fd = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      char link[PATH_MAX];
      ssize_t n = fd < 0 && (errno == ELOOP || errno == ENOTDIR) ? readlinkat(parent, name, link, sizeof link - 1) : -1;
      if (n >= 0) {
        // A symlink whose target is missing (/etc -> /tmp/x): make the target, inside
        // the root, as `mkdir -p` in the container would; then the rest below it.
        if (++links > kMaxSymlinks) { close(parent); return -ELOOP; }
        char next[PATH_MAX];
        link[n] = '\0';
        prefix[pos] = saved;
        const char* rest = prefix + pos;
        size_t rest_len = len - pos;
        size_t used = 0;
        if (link[0] != '/') {  // relative to the directory that holds the link
          memcpy(next, prefix, parent_end);
          used = parent_end;
          next[used++] = '/';
        }
        if (used + static_cast<size_t>(n) + rest_len >= sizeof next) { close(parent); return -ENAMETOOLONG; }
        memcpy(next + used, link, static_cast<size_t>(n));
        memcpy(next + used + n, rest, rest_len + 1);
        close(parent);
        return MkdirInRootDepth(root_fd, next, mode, links);
      }
      if (fd < 0) fd = n < 0 && errno == EINVAL ? -ENOTDIR : -errno;
    }
    prefix[pos] = saved;
    close(parent);
    if (fd < 0) return fd;
    parent = fd;
    parent_end = pos;
  }
  return parent;
}

}  // namespace

int MkdirInRoot(int root_fd, const char* path, mode_t mode) {
  return MkdirInRootDepth(root_fd, path, mode, 0);
}

namespace {

// The parent directory of `path` inside the root (made when absent), and its last name.
int ParentInRoot(int root_fd, const char* path, char* parent_buf, const char** name) {
  *name = SplitParent(path, parent_buf);
  if (**name == '\0') return -EINVAL;
  return MkdirInRoot(root_fd, parent_buf, 0755);
}

// The flags a mount has now (statfs(2) f_flags), in mount(2) terms: a remount that
// does not repeat them would clear nosuid, nodev or noexec.
unsigned long MountFlagsOf(int fd) {
  struct statfs st;
  if (fstatfs(fd, &st) < 0) return 0;
  const unsigned long kept = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME;
  return static_cast<unsigned long>(st.f_flags) & kept;  // ST_* values equal MS_* here
}

Step StepOf(FsOp op) {
  switch (op) {
    case kFsMount: return kStepMount;
    case kFsMkdir: case kFsMkfile: return kStepMkdir;
    case kFsSymlink: return kStepSymlink;
    case kFsMknod: return kStepMknod;
    case kFsWrite: return kStepWrite;
    case kFsMask: case kFsSetattr: return kStepMount;
  }
  return kStepMount;
}

// A bind of the host's /dev/null over a masked file (made before pivot_root) is of the
// host's own inode: made read-only, so that root inside cannot chmod or chown it for the
// whole host (setattr gets EROFS). MS_RDONLY with MS_BIND alone is ignored: it takes a
// remount of the new mount, which the path resolved again now leads to (the fd resolved
// before the bind still names the file under it). See mount(2), "Creating a bind mount".
int RemountReadOnly(int root_fd, const char* path) {
  int fd = ResolveInRoot(root_fd, path, O_PATH, 0);
  if (fd < 0) return -fd;
  FdPath target(fd);
  int err = mount(nullptr, target.text, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) < 0 ? errno : 0;
  close(fd);
  return err;
}

// struct mount_attr (linux/mount.h, Linux 5.12), spelled here: that header and glibc's
// sys/mount.h do not mix on every system.
struct MountAttr {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

// Runs one fs step. Returns 0, or the errno with *resolve_failed telling a path that
// could not be resolved from the system call that failed. `source_fds` are the
// descriptors the parent sent (kFsSourceFd).
int RunFsStep(int root_fd, const FsStep& s, const int* source_fds, bool* resolve_failed) {
  char parent[PATH_MAX];
  const char* name;
  int fd, err = 0;
  *resolve_failed = false;
  auto unresolved = [&](int neg) { *resolve_failed = true; return -neg; };
  switch (s.op) {
    case kFsMkdir:
      fd = MkdirInRoot(root_fd, s.target, s.mode);
      if (fd < 0) return unresolved(fd);
      close(fd);
      return 0;
    case kFsMkfile: {
      int dir = ParentInRoot(root_fd, s.target, parent, &name);
      if (dir < 0) return unresolved(dir);
      fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, s.mode ? s.mode : 0644);
      if (fd < 0 && errno != EEXIST) err = errno;
      if (fd >= 0) close(fd);
      close(dir);
      return err;
    }
    case kFsSymlink: {
      int dir = ParentInRoot(root_fd, s.target, parent, &name);
      if (dir < 0) return unresolved(dir);
      if (symlinkat(s.source, dir, name) < 0 && errno != EEXIST) err = errno;
      close(dir);
      return err;
    }
    case kFsMknod: {
      int dir = ParentInRoot(root_fd, s.target, parent, &name);
      if (dir < 0) return unresolved(dir);
      if (syscall(SYS_mknodat, dir, name, s.mode, s.dev) < 0 && errno != EEXIST) err = errno;
      else if ((s.uid >= 0 || s.gid >= 0) &&
               syscall(SYS_fchownat, dir, name, s.uid, s.gid, AT_SYMLINK_NOFOLLOW) < 0) err = errno;
      close(dir);
      return err;
    }
    case kFsWrite:
      fd = ResolveInRoot(root_fd, s.target, O_WRONLY, 0);
      if (fd == -ENOENT && (s.opts & kFsOptional)) return 0;
      if (fd < 0) return unresolved(fd);
      err = WriteFile(fd, s.data ? s.data : "");
      close(fd);
      return err;
    case kFsMask: {
      fd = ResolveInRoot(root_fd, s.target, O_PATH, 0);
      if (fd == -ENOENT && (s.opts & kFsOptional)) return 0;
      if (fd < 0) return unresolved(fd);
      struct stat st;
      FdPath target(fd);
      if (syscall(SYS_fstat, fd, &st) < 0) err = errno;
      else if (S_ISDIR(st.st_mode)) err = mount("tmpfs", target.text, "tmpfs", MS_RDONLY, "size=0") < 0 ? errno : 0;
      else if (mount("/dev/null", target.text, nullptr, MS_BIND, nullptr) < 0) err = errno;
      else err = RemountReadOnly(root_fd, s.target);
      close(fd);
      return err;
    }
    case kFsSetattr: {
      // After the mount, on it and every mount under it (mount_setattr(2), AT_RECURSIVE):
      // a bind's remount changes the top mount only (rro against ro).
      fd = ResolveInRoot(root_fd, s.target, O_PATH, 0);
      if (fd == -ENOENT && (s.opts & kFsOptional)) return 0;
      if (fd < 0) return unresolved(fd);
      MountAttr attr = {s.attr_set, s.attr_clr, 0, 0};
      if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) err = errno;
      close(fd);
      return err;
    }
    case kFsMount: {
      fd = ResolveInRoot(root_fd, s.target, O_PATH, 0);
      if (fd == -ENOENT && (s.opts & kFsOptional)) return 0;
      if (fd < 0) return unresolved(fd);
      int src_fd = -1;
      const char* source = s.source;
      FdPath target(fd);
      FdPath src(0);
      if (s.opts & kFsSourceInRoot) {
        src_fd = ResolveInRoot(root_fd, s.source, O_PATH, 0);
        if (src_fd < 0) { close(fd); return unresolved(src_fd); }
        src = FdPath(src_fd);
        source = src.text;
      } else if (s.opts & kFsSourceFd) {
        src = FdPath(source_fds[s.source_index]);
        source = src.text;
      }
      unsigned long flags = s.flags;
      if (s.opts & kFsKeepFlags) flags |= MountFlagsOf(fd);
      if (mount(source, target.text, s.fstype, flags, s.data) < 0) err = errno;
      if (src_fd >= 0) close(src_fd);
      close(fd);
      return err;
    }
  }
  return EINVAL;
}

// The root made a mount of its own (pivot_root(2) needs one), then the fs steps.
// Returns an O_PATH fd of the root.
int PrepareRoot(const ChildPlan& plan, const int* source_fds) {
  Mark(plan, kStepMakePrivate);
  if (plan.make_root_private &&
      mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    Fail(plan, kStepMakePrivate, -1, errno);
  Mark(plan, kStepPivotRoot, 0);
  const char* root = plan.root ? plan.root : "/";
  if (plan.root && !plan.chroot_only && mount(plan.root, plan.root, nullptr, MS_BIND | MS_REC, nullptr) < 0)
    Fail(plan, kStepPivotRoot, -1, errno);
  int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) Fail(plan, kStepPivotRoot, -1, errno);
  // The umask never decides a mode here: /dev/null is 0666 because the plan says so.
  long umask = syscall(SYS_umask, 0);
  for (int i = 0; i < plan.n_fs; i++) {
    Mark(plan, StepOf(plan.fs[i].op), i);
    bool resolve_failed;
    int err = RunFsStep(root_fd, plan.fs[i], source_fds, &resolve_failed);
    if (err) Fail(plan, resolve_failed ? kStepResolve : StepOf(plan.fs[i].op), i, err);
  }
  syscall(SYS_umask, umask);
  return root_fd;
}

// Before a move and chroot (no_pivot), the host's own proc and sysfs mounts go: the old
// root stays in this mount namespace, out of sight but not out of reach, and the kernel
// lets a new user namespace mount a fresh proc or sysfs wherever one is fully visible
// (mount_too_revealing): `unshare -mrpf mount -t proc` in the container would get an
// unmasked /proc. Each is made a slave first (its unmount must not reach the host), then
// detached; one that cannot be (locked in a user namespace) is covered by a tmpfs, as
// runc's msMoveRoot does. One under a mount detached before it is gone already (ENOENT).
void HideHostKernelMounts(const ChildPlan& plan) {
  for (int i = 0; i < plan.n_host_kernel_mounts; i++) {
    const char* path = plan.host_kernel_mounts[i];
    if (mount(nullptr, path, nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
      if (errno == ENOENT) continue;
      Fail(plan, kStepPivotRoot, i, errno);
    }
    if (umount2(path, MNT_DETACH) < 0) {
      if (errno != EINVAL && errno != EPERM) Fail(plan, kStepPivotRoot, i, errno);
      if (mount("tmpfs", path, "tmpfs", 0, nullptr) < 0) Fail(plan, kStepPivotRoot, i, errno);
    }
  }
}

// pivot_root(2) with new_root and put_old both ".", then detach the old root: the
// sequence the man page gives, which needs no directory for the old root. With
// no_pivot (a root on ramfs, which pivot_root refuses), move the root over `/` and
// chroot(2) into it instead, as runc --no-pivot does.
void EnterRoot(const ChildPlan& plan, int root_fd) {
  if (fchdir(root_fd) < 0) Fail(plan, kStepPivotRoot, -1, errno);
  close(root_fd);
  if (plan.chroot_only) {
    if (chroot(".") < 0) Fail(plan, kStepPivotRoot, -1, errno);
  } else if (plan.no_pivot) {
    HideHostKernelMounts(plan);
    if (mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) Fail(plan, kStepPivotRoot, -1, errno);
    if (chroot(".") < 0) Fail(plan, kStepPivotRoot, -1, errno);
  } else {
    if (syscall(SYS_pivot_root, ".", ".") < 0) Fail(plan, kStepPivotRoot, -1, errno);
    // The old root is now stacked under "." : detach it, so nothing of the host remains.
    if (umount2(".", MNT_DETACH) < 0) Fail(plan, kStepPivotRoot, -1, errno);
  }
  if (chdir("/") < 0) Fail(plan, kStepChdir, -1, errno);
}

// ---- the console (OCI --console-socket) --------------------------------------------

// The socket the pty's master goes to: one the caller made with socketpair(2) (diyc-run
// and diyc-exec proxy the terminal themselves), or the OCI console socket, connected here.
int ConnectConsoleSocket(const ChildPlan& plan) {
  if (plan.console_fd >= 0) return plan.console_fd;
  if (!plan.console_socket) return -1;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  size_t len = Length(plan.console_socket);
  if (len >= sizeof addr.sun_path) Fail(plan, kStepConsole, 0, ENAMETOOLONG);
  memcpy(addr.sun_path, plan.console_socket, len);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) Fail(plan, kStepConsole, 0, errno);
  if (connect(sock, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0) Fail(plan, kStepConsole, 0, errno);
  return sock;
}

// Opens a pty in the container's devpts, makes its other end our controlling terminal and
// stdio (and the container's /dev/console, for its first process only), and sends the
// master to the console socket (SCM_RIGHTS), as runc's docs/terminals.md describes. A
// process joining a running container (exec) leaves /dev/console alone, as runc's setns
// init does: its pty goes when it ends, and a console bound over it stayed behind, deleted.
void SetUpConsole(const ChildPlan& plan, int sock) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) Fail(plan, kStepConsole, 1, errno);
  int unlock = 0;
  unsigned int n = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0) Fail(plan, kStepConsole, 1, errno);
  char name[32] = "/dev/pts/";
  FormatInt(n, name + 9);
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) Fail(plan, kStepConsole, 2, errno);
  if (plan.console_rows && plan.console_cols) {
    struct winsize ws;
    memset(&ws, 0, sizeof ws);
    ws.ws_row = plan.console_rows;
    ws.ws_col = plan.console_cols;
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  if (plan.root) {
    int console = open("/dev/console", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (console >= 0) close(console);
    if (mount(name, "/dev/console", nullptr, MS_BIND, nullptr) < 0) Fail(plan, kStepConsole, 3, errno);
  }
  char data[] = "/dev/ptmx";
  struct iovec iov = {data, sizeof data - 1};
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) Fail(plan, kStepConsole, 4, errno);
  close(master);
  close(sock);
  if (setsid() < 0) Fail(plan, kStepSetsid, -1, errno);
  if (ioctl(slave, TIOCSCTTY, 0) < 0) Fail(plan, kStepConsole, 5, errno);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) Fail(plan, kStepStdio, fd, errno);
  if (slave > 2) close(slave);
}

// ---- the process -------------------------------------------------------------------

void JoinSessionKeyring(const ChildPlan& plan) {
  if (!plan.new_keyring) return;
  // A new anonymous session keyring: the caller's keys stay out of the container. A
  // kernel without keys (ENOSYS) has nothing to leak.
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0) < 0 && errno != ENOSYS)
    Fail(plan, kStepKeyring, -1, errno);
}

void SetRlimits(const ChildPlan& plan) {
  for (int i = 0; i < plan.n_rlimits; i++) {
    struct { uint64_t cur, max; } limit = {plan.rlimits[i].soft, plan.rlimits[i].hard};
    if (syscall(SYS_prlimit64, 0, plan.rlimits[i].resource, &limit, nullptr) < 0)
      Fail(plan, kStepRlimit, i, errno);
  }
}

void SetStdio(const ChildPlan& plan) {
  for (int fd = 0; fd < 3; fd++) {
    if (plan.stdio[fd] >= 0 && plan.stdio[fd] != fd && dup2(plan.stdio[fd], fd) < 0)
      Fail(plan, kStepStdio, fd, errno);
    // libuv marks Node's own stdio close-on-exec; the command must inherit them.
    fcntl(fd, F_SETFD, 0);
    // Node may have set O_NONBLOCK on a pipe it shares with us; a shell reading a
    // non-blocking stdin sees EAGAIN and quits.
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0 && (fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  }
}

void SetSession(const ChildPlan& plan) {
  // EPERM: a session leader already (the console made one).
  if (plan.setsid && setsid() < 0 && errno != EPERM) Fail(plan, kStepSetsid, -1, errno);
  if (plan.foreground) {
    // Become our own process group and the terminal's foreground group, so Ctrl-C
    // and the terminal belong to the command. SIGTTOU is still blocked here, so
    // tcsetpgrp(3) from a background group succeeds.
    if (setpgid(0, 0) < 0) Fail(plan, kStepTerminal, -1, errno);
    if (tcsetpgrp(STDIN_FILENO, getpgrp()) < 0 && errno != ENOTTY) Fail(plan, kStepTerminal, -1, errno);
  }
}

bool HasListener(const ChildPlan& plan) {
  return plan.seccomp != nullptr && (plan.seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0;
}

// Loads the filter. With SECCOMP_FILTER_FLAG_NEW_LISTENER (a profile with SCMP_ACT_NOTIFY
// rules), seccomp(2) answers a listener fd: its number goes to the parent, which takes the
// fd itself (pidfd_getfd(2)) and sends it to the seccomp agent, then says go; only then is
// ours closed, so that the agent holds the only copy and its end makes the calls it was
// asked about fail with ENOSYS. The number is sent with write(2), which a profile may not
// notify (seccomp.ts refuses it, as runc does); the read(2) that waits for go and the
// close(2) after it may be notified: they wait for the agent, which gets the fd from the
// parent meanwhile (a notified call waits for an answer, not for the agent to exist).
void LoadSeccomp(const ChildPlan& plan) {
  if (!plan.seccomp) return;
  Mark(plan, kStepSeccomp);
  struct sock_fprog prog;
  prog.len = plan.seccomp_len;
  prog.filter = const_cast<struct sock_filter*>(plan.seccomp);
  long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, plan.seccomp_flags, &prog);
  if (listener < 0) Fail(plan, kStepSeccomp, -1, errno);
  if (!HasListener(plan)) return;
  Mark(plan, kStepSeccompNotify);
  Send(plan, kMsgSeccompListener, static_cast<int32_t>(listener), 0);
  WaitForGo(plan);
  close(static_cast<int>(listener));
  close(plan.hold_fd);
}

void SetNoNewPrivs(const ChildPlan& plan) {
  Mark(plan, kStepNoNewPrivs);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) Fail(plan, kStepNoNewPrivs, -1, errno);
}

bool Has(uint64_t set, int cap) { return (set >> cap) & 1; }

// The bounding set is dropped while we are still root with every capability (dropping
// needs CAP_SETPCAP); the other sets are set after the user change.
void DropBoundingSet(const ChildPlan& plan) {
  if (!plan.caps.set) return;
  for (int cap = 0; cap < 64; cap++) {
    if (Has(plan.caps.bounding, cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break;  // past the kernel's last capability
      Fail(plan, kStepCapabilities, cap, errno);
    }
  }
}

void SetCapabilities(const ChildPlan& plan) {
  if (!plan.caps.set) return;
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    data[i].effective = static_cast<uint32_t>(plan.caps.effective >> (32 * i));
    data[i].permitted = static_cast<uint32_t>(plan.caps.permitted >> (32 * i));
    data[i].inheritable = static_cast<uint32_t>(plan.caps.inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) < 0) Fail(plan, kStepCapabilities, -1, errno);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    Fail(plan, kStepCapabilities, -1, errno);
  for (int cap = 0; cap < 64; cap++) {
    // The kernel raises an ambient capability only if it is permitted and inheritable
    // (capabilities(7)); a config that asks for one it is not (runc's own default spec
    // does) runs without it, as under runc.
    if (!Has(plan.caps.ambient, cap) || !Has(plan.caps.inheritable, cap) || !Has(plan.caps.permitted, cap)) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0) Fail(plan, kStepCapabilities, cap, errno);
  }
}

// A process run as another user must own its terminal and pipes, or a program that
// reopens them (/dev/stdout, ttyname) is refused: stdio not owned by the user is given to
// it, as runc's fixStdioPermissions does. /dev/null is left alone (it is everyone's), and
// a descriptor that cannot be changed (a read-only filesystem) is left as it is.
void GiveStdioToUser(const ChildPlan& plan) {
  if (plan.uid < 0) return;
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) < 0) continue;  // glibc 2.33 made fstat a symbol: the raw call loads on 2.28
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) continue;
    if (st.st_uid == static_cast<uid_t>(plan.uid)) continue;
    if (fchown(fd, static_cast<uid_t>(plan.uid), static_cast<gid_t>(-1)) < 0 && errno != EINVAL && errno != EPERM && errno != EROFS)
      Fail(plan, kStepStdio, fd, errno);
  }
}

// setgroups, setresgid, setresuid as raw system calls: glibc's wrappers signal every
// thread of the process to change them all (nptl's setxid), and this copy of Node has
// only one thread, whose siblings glibc still believes in.
void SetUser(const ChildPlan& plan) {
  bool change = plan.uid >= 0 || plan.gid >= 0;
  if (change && plan.caps.set && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) Fail(plan, kStepCapabilities, -1, errno);
  if (plan.gid >= 0) {
    if (syscall(SYS_setgroups, plan.n_groups, plan.groups) < 0) Fail(plan, kStepSetgroups, -1, errno);
    long gid = plan.gid;
    if (syscall(SYS_setresgid, gid, gid, gid) < 0) Fail(plan, kStepSetgid, -1, errno);
  }
  if (plan.uid >= 0) {
    long uid = plan.uid;
    if (syscall(SYS_setresuid, uid, uid, uid) < 0) Fail(plan, kStepSetuid, -1, errno);
  }
  if (change && plan.caps.set && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) Fail(plan, kStepCapabilities, -1, errno);
}

// Every descriptor above 2 is closed at execve but those the plan passes on purpose:
// a caller's stray descriptor is a way out (cd /proc/self/fd/N/..). Marked close-on-exec
// rather than closed, so that the error pipe keeps working until execve.
void CloseExtraFds(const ChildPlan& plan) {
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
    if (errno != ENOSYS && errno != EINVAL) Fail(plan, kStepCloseFds, -1, errno);
    // Before Linux 5.11: the open descriptors are listed in /proc/self/fd.
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) Fail(plan, kStepCloseFds, -1, errno);
    char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
      for (long off = 0; off < n;) {
        struct Dirent { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[1]; };
        const Dirent* d = reinterpret_cast<const Dirent*>(buf + off);
        int fd = 0;
        bool number = d->name[0] != '\0';
        for (const char* p = d->name; *p; p++) {
          if (*p < '0' || *p > '9') { number = false; break; }
          fd = fd * 10 + (*p - '0');
        }
        if (number && fd > 2 && fd != dir) fcntl(fd, F_SETFD, FD_CLOEXEC);
        off += d->reclen;
      }
    }
    close(dir);
  }
  for (int i = 0; i < plan.n_keep_fds; i++) {
    if (fcntl(plan.keep_fds[i], F_SETFD, 0) < 0) Fail(plan, kStepCloseFds, i, errno);
  }
}

// The start FIFO is opened read-write: then there is always a writer (ourselves), a
// read blocks until `start` writes its byte, and a `start` that finds no reader knows
// the container is not waiting (ENXIO).
int OpenStartFifo(const ChildPlan& plan) {
  if (!plan.start_fifo) return -1;
  int fd = open(plan.start_fifo, O_RDWR | O_CLOEXEC);
  if (fd < 0) Fail(plan, kStepStartFifo, -1, errno);
  return fd;
}

// A created container is often PID 1 of its namespace, and the kernel drops signals that
// PID 1 has left at SIG_DFL (pid_namespaces(7)): `kill ID TERM` would do nothing to a
// container waiting for start. While it waits, the usual "please end" signals end it: by
// the signal itself where the kernel lets it, else by exit status 128+signal as a shell
// would report it. execve(2) resets these handlers to SIG_DFL.
void EndOnSignal(int sig) {
  signal(sig, SIG_DFL);
  kill(getpid(), sig);
  _exit(128 + sig);
}

void EndOnSignalsWhileWaiting() {
  struct sigaction end;
  memset(&end, 0, sizeof end);
  end.sa_handler = EndOnSignal;
  end.sa_flags = SA_NODEFER;  // the kill() inside the handler must not wait for its return
  static const int kEnding[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM};
  for (int sig : kEnding) sigaction(sig, &end, nullptr);
}

// Reads exactly `len` bytes (a FIFO may hand them over in parts); false on end of file.
bool ReadFull(int fd, char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = read(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// The container's state, for the startContainer hooks' stdin: `start` knows it (the pid,
// the bundle) and sends it through the FIFO behind its byte (see the top of the file).
struct StartState {
  char* text = nullptr;
  uint32_t len = 0;
};

// Waits for `start`'s byte on the FIFO. A byte of 1 is followed by the state: its length
// (4 bytes, host order) and the JSON, read into memory mapped here (mmap(2) takes no lock).
StartState WaitForStart(const ChildPlan& plan, int fifo) {
  StartState state;
  if (fifo < 0) return state;
  EndOnSignalsWhileWaiting();
  Send(plan, kMsgReady, -1, 0);
  Mark(plan, kStepStartFifo, 1);
  char go = 0;
  if (!ReadFull(fifo, &go, 1)) _exit(127);
  if (go == 1) {
    uint32_t len = 0;
    if (!ReadFull(fifo, reinterpret_cast<char*>(&len), sizeof len)) _exit(127);
    void* mem = len > 0 ? mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) : MAP_FAILED;
    if (mem != MAP_FAILED && ReadFull(fifo, static_cast<char*>(mem), len)) {
      state.text = static_cast<char*>(mem);
      state.len = len;
    }
  }
  close(fifo);
  return state;
}

// ---- startContainer hooks ----------------------------------------------------------

// The words Go's os/exec uses for a signal (runc's message names the signal so).
const char* SignalWords(int sig) {
  switch (sig) {
    case SIGHUP: return "hangup";
    case SIGINT: return "interrupt";
    case SIGQUIT: return "quit";
    case SIGILL: return "illegal instruction";
    case SIGTRAP: return "trace/breakpoint trap";
    case SIGABRT: return "aborted";
    case SIGBUS: return "bus error";
    case SIGFPE: return "floating point exception";
    case SIGKILL: return "killed";
    case SIGSEGV: return "segmentation fault";
    case SIGPIPE: return "broken pipe";
    case SIGALRM: return "alarm clock";
    case SIGTERM: return "terminated";
    case SIGSYS: return "bad system call";
    default: return nullptr;
  }
}

// Appends `text` to `out` (of `size`), keeping it NUL-terminated.
void Append(char* out, size_t size, const char* text) {
  size_t used = Length(out);
  for (; *text && used + 1 < size; used++) out[used] = *text++;
  out[used] = '\0';
}

// A hook failed: say so on our stderr and end, as runc's init does once its parent stopped
// listening ("error running hook #0: error running hook: signal: bad system call").
[[noreturn]] void HookFailed(int index, int status, bool timed_out, int timeout) {
  char line[160] = "error running hook #";
  char digits[24];
  Append(line, sizeof line, FormatInt(index, digits));
  Append(line, sizeof line, ": ");
  if (timed_out) {
    Append(line, sizeof line, "hook ran past specified timeout of ");
    Append(line, sizeof line, FormatInt(timeout, digits));
    Append(line, sizeof line, ".0s");
  } else {
    Append(line, sizeof line, "error running hook: ");
    if (WIFSIGNALED(status)) {
      const char* words = SignalWords(WTERMSIG(status));
      Append(line, sizeof line, "signal: ");
      if (words) {
        Append(line, sizeof line, words);
      } else {
        Append(line, sizeof line, "signal ");
        Append(line, sizeof line, FormatInt(WTERMSIG(status), digits));
      }
    } else {
      Append(line, sizeof line, "exit status ");
      Append(line, sizeof line, FormatInt(WEXITSTATUS(status), digits));
    }
  }
  Append(line, sizeof line, "\n");
  signal(SIGPIPE, SIG_IGN);  // a stderr nobody reads must not change how we end
  ssize_t ignored = write(STDERR_FILENO, line, Length(line));
  (void)ignored;
  _exit(1);
}

// Runs one hook as runc does: a child process with the state on its stdin through a pipe
// and nothing but 0-2 open (the seccomp listener and every descriptor of ours stay out),
// waited for, killed at its timeout. Its stdout and stderr are the container's stderr.
// SIGCHLD is blocked meanwhile so that sigtimedwait(2) can wait for its end with a limit.
void RunHook(const ChildPlan& plan, int index, const StartState& state) {
  const Hook& hook = plan.start_hooks[index];
  Mark(plan, kStepHook, index);
  int in[2];
  if (pipe2(in, O_CLOEXEC) < 0) HookFailed(index, 127 << 8, false, 0);
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  pid_t pid = RawFork();
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &old, nullptr);
    if (dup2(in[0], STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) _exit(127);
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
      for (int fd = 3; fd < 1024; fd++) close(fd);
    execve(hook.path, const_cast<char* const*>(hook.argv), const_cast<char* const*>(hook.envp));
    _exit(127);
  }
  close(in[0]);
  if (pid < 0) HookFailed(index, 127 << 8, false, 0);
  // A hook need not read its stdin: a write to a pipe nobody reads then fails (EPIPE)
  // instead of ending us. An ignored signal is dropped, not left pending.
  struct sigaction ignore, previous;
  memset(&ignore, 0, sizeof ignore);
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ignore, &previous);
  for (uint32_t off = 0; off < state.len;) {
    ssize_t n = write(in[1], state.text + off, state.len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<uint32_t>(n);
  }
  sigaction(SIGPIPE, &previous, nullptr);
  close(in[1]);
  int status = 0;
  bool timed_out = false;
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += hook.timeout;
  for (;;) {
    pid_t r = static_cast<pid_t>(syscall(SYS_wait4, pid, &status, hook.timeout > 0 ? WNOHANG : 0, nullptr));
    if (r == pid) break;
    if (r < 0 && errno != EINTR) HookFailed(index, 127 << 8, false, 0);
    if (r != 0) continue;
    struct timespec now, left;
    clock_gettime(CLOCK_MONOTONIC, &now);
    left.tv_sec = deadline.tv_sec - now.tv_sec;
    left.tv_nsec = deadline.tv_nsec - now.tv_nsec;
    if (left.tv_nsec < 0) { left.tv_sec--; left.tv_nsec += 1000000000; }
    if (left.tv_sec < 0) {
      kill(pid, SIGKILL);
      syscall(SYS_wait4, pid, &status, 0, nullptr);
      timed_out = true;
      break;
    }
    syscall(SYS_rt_sigtimedwait, &chld, nullptr, &left, NSIG / 8);
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) HookFailed(index, status, timed_out, hook.timeout);
}

// chdir(2) to the process's cwd, which must be inside the root: getcwd(2) answers a
// path that starts with "(unreachable)" (or fails) for one outside it, as a cwd of
// /proc/self/fd/N naming a directory the runtime had open would be (CVE-2024-21626).
void ChangeDirectory(const ChildPlan& plan) {
  if (!plan.cwd) return;
  if (chdir(plan.cwd) < 0) Fail(plan, kStepChdir, -1, errno);
  char where[PATH_MAX];
  long n = syscall(SYS_getcwd, where, sizeof where);
  if (n < 0 && errno != ENAMETOOLONG) Fail(plan, kStepChdir, -1, errno);
  if (n > 0 && where[0] != '/') Fail(plan, kStepChdir, -1, ENOENT);
}

void SetUmask(const ChildPlan& plan) {
  if (plan.umask >= 0) syscall(SYS_umask, plan.umask);
}

// The paths execvp(3) would try for argv[0], without its allocations: argv[0] itself when
// it holds a slash, else each directory of PATH joined with it. `try_path` returns true
// to stop.
template <typename TryPath>
void ForEachCommandPath(const ChildPlan& plan, TryPath try_path) {
  const char* file = plan.argv[0];
  bool has_slash = false;
  for (const char* p = file; *p; p++) has_slash |= (*p == '/');
  if (has_slash || plan.path == nullptr) {
    try_path(file);
    return;
  }
  char buf[4096];
  size_t file_len = Length(file);
  const char* dir = plan.path;
  while (true) {
    const char* end = dir;
    while (*end && *end != ':') end++;
    size_t dir_len = static_cast<size_t>(end - dir);
    if (dir_len == 0) { dir = "."; dir_len = 1; }
    if (dir_len + 1 + file_len + 1 <= sizeof buf) {
      memcpy(buf, dir, dir_len);
      buf[dir_len] = '/';
      memcpy(buf + dir_len + 1, file, file_len + 1);
      if (try_path(static_cast<const char*>(buf))) return;
    }
    if (*end == '\0') break;
    dir = end + 1;
  }
}

// A created container checks its command before it waits for start, as runc does: a
// command that is not there (or not executable) fails create with its reason, where it
// would otherwise exit 127 after start without a word. Only a clear answer fails here;
// anything else (a seccomp profile that refuses faccessat) is left to execve.
void CheckCommand(const ChildPlan& plan) {
  int err = ENOENT;
  bool decided = true;
  bool found = false;
  ForEachCommandPath(plan, [&](const char* path) {
    struct stat st;
    if (syscall(SYS_faccessat, AT_FDCWD, path, X_OK) == 0) {
      if (syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0) == 0 && S_ISREG(st.st_mode)) return found = true;
      err = EACCES;  // a directory: execve(2) says EACCES
    } else if (errno == EACCES) {
      err = EACCES;
    } else if (errno != ENOENT && errno != ENOTDIR) {
      decided = false;
    }
    return false;
  });
  if (!found && decided) Fail(plan, kStepExecve, -1, err);
}

// execvp(3), on the paths above. As execvp does, a file found but not executable
// (EACCES) wins over "not found" (ENOENT).
[[noreturn]] void Exec(const ChildPlan& plan) {
  char* const* argv = const_cast<char* const*>(plan.argv);
  char* const* envp = const_cast<char* const*>(plan.envp);
  int err = ENOENT;
  ForEachCommandPath(plan, [&](const char* path) {
    execve(path, argv, envp);
    if (errno == EACCES) err = EACCES;
    else if (errno != ENOENT && errno != ENOTDIR) err = errno;
    return false;
  });
  Fail(plan, kStepExecve, -1, err);
}

[[noreturn]] void ChildMain(const ChildPlan& plan) {
  // The parent's ends of our pipes: while we hold the hold pipe's write end, the
  // parent giving up (closing its own) would never reach us as end of file.
  if (plan.hold_peer_fd >= 0) close(plan.hold_peer_fd);
  if (plan.error_peer_fd >= 0) close(plan.error_peer_fd);
  // Before anything else, and before the container can see us (see the top of the file).
  Mark(plan, kStepDumpable);
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) Fail(plan, kStepDumpable, -1, errno);
  // The bind sources the parent opened for us (kFsSourceFd) come with its first go.
  int source_fds[kMaxSourceFds];
  if (plan.n_source_fds > kMaxSourceFds) Fail(plan, kStepHold, -1, E2BIG);
  Mark(plan, kStepHold, 0);
  if (plan.hold) WaitForGo(plan, source_fds, plan.n_source_fds);
  // Host paths, opened while they still mean the host's files and we are still the
  // host's root (before any join, and before becoming root of a user namespace).
  Mark(plan, kStepConsole, 0);
  int console = ConnectConsoleSocket(plan);
  Mark(plan, kStepStartFifo, 0);
  int fifo = OpenStartFifo(plan);
  int ns_fds[kMaxJoins];
  Mark(plan, kStepOpenNs);
  OpenNamespaces(plan, ns_fds);
  Mark(plan, kStepCgroup);
  EnterCgroups(plan);
  Mark(plan, kStepSetns);
  JoinNamespaces(plan, ns_fds);
  // In a user namespace (made by clone, its maps written by the parent while we were
  // held; or joined first of all) we are nobody until we become its root.
  if (plan.userns_root) {
    Mark(plan, kStepSetuid, 0);
    if (syscall(SYS_setresgid, 0, 0, 0) < 0) Fail(plan, kStepSetgid, -1, errno);
    if (syscall(SYS_setresuid, 0, 0, 0) < 0) Fail(plan, kStepSetuid, -1, errno);
  }
  if (JoinsPidNamespace(plan)) {
    Mark(plan, kStepFork);
    pid_t pid = RawFork();
    if (pid < 0) Fail(plan, kStepFork, -1, errno);
    if (pid > 0) {
      if (plan.detach_after_fork) {
        Send(plan, kMsgPid, pid, 0);
        _exit(0);
      }
      // The command is ours to relay: the parent still needs its pid (the seccomp listener
      // is taken from it), and the pid it knows stays this relay's.
      Send(plan, kMsgCommandPid, pid, 0);
      close(plan.error_fd);
      if (plan.hold_fd >= 0) close(plan.hold_fd);
      RunRelay(pid);
    }
  }
  // A new cgroup namespace has the cgroup just entered as its root.
  Mark(plan, kStepUnshare);
  if (plan.new_cgroupns && unshare(CLONE_NEWCGROUP) < 0) Fail(plan, kStepUnshare, -1, errno);
  Mark(plan, kStepSethostname);
  if (plan.hostname && sethostname(plan.hostname, Length(plan.hostname)) < 0)
    Fail(plan, kStepSethostname, -1, errno);
  if (plan.domainname && setdomainname(plan.domainname, Length(plan.domainname)) < 0)
    Fail(plan, kStepSetdomainname, -1, errno);
  Mark(plan, kStepOomScoreAdj);
  SetOomScoreAdj(plan);
  bool changes_mounts = plan.make_root_private || plan.root || plan.n_fs > 0;
  int root_fd = changes_mounts ? PrepareRoot(plan, source_fds) : -1;
  for (int i = 0; i < plan.n_source_fds; i++) close(source_fds[i]);
  if (plan.sync_before_pivot) {
    Mark(plan, kStepHold, 1);
    Send(plan, kMsgSyncBeforePivot, -1, 0);
    WaitForGo(plan);
  }
  // The hold socket stays open while a seccomp listener is still to be handed over.
  if (plan.hold_fd >= 0 && !HasListener(plan)) close(plan.hold_fd);
  Mark(plan, kStepPivotRoot, 1);
  if (plan.root) EnterRoot(plan, root_fd);
  else if (root_fd >= 0) close(root_fd);
  // After the pivot: pivot_root(2) refuses a root whose mount is shared.
  Mark(plan, kStepMakePrivate, 1);
  if (plan.root_propagation && mount(nullptr, "/", nullptr, plan.root_propagation, nullptr) < 0)
    Fail(plan, kStepMakePrivate, -1, errno);
  Mark(plan, kStepChdir);
  ChangeDirectory(plan);
  Mark(plan, kStepConsole, 1);
  if (console >= 0) SetUpConsole(plan, console);
  Mark(plan, kStepKeyring);
  JoinSessionKeyring(plan);
  Mark(plan, kStepRlimit);
  SetRlimits(plan);
  Mark(plan, kStepStdio);
  SetStdio(plan);
  SetSession(plan);
  GiveStdioToUser(plan);
  // Before any filter: a profile need not allow close_range for the command's sake.
  Mark(plan, kStepCloseFds);
  CloseExtraFds(plan);
  if (!plan.no_new_privs) LoadSeccomp(plan);
  Mark(plan, kStepCapabilities);
  DropBoundingSet(plan);
  Mark(plan, kStepSetuid, 1);
  SetUser(plan);
  Mark(plan, kStepCapabilities, 1);
  SetCapabilities(plan);
  Mark(plan, kStepUmask);
  SetUmask(plan);
  // Signals take their default action from here, as the command expects them.
  ResetSignals();
  Mark(plan, kStepExecve, 0);
  if (fifo >= 0) CheckCommand(plan);
  // With no_new_privs the filter comes last, where only execve is left for it to allow;
  // but a listener must reach its agent during create, so then it comes before the wait
  // on the FIFO (runc loads it there in both cases).
  bool filtered = !plan.no_new_privs;
  if (!filtered && HasListener(plan) && fifo >= 0) {
    SetNoNewPrivs(plan);
    LoadSeccomp(plan);
    filtered = true;
  }
  StartState state = WaitForStart(plan, fifo);
  if (!filtered) {
    SetNoNewPrivs(plan);
    LoadSeccomp(plan);
  }
  // startContainer hooks run here, under the filter, as the command will (runc's order).
  for (int i = 0; i < plan.n_start_hooks; i++) RunHook(plan, i, state);
  Mark(plan, kStepExecve, 1);
  Exec(plan);
}

}  // namespace

// clone(2) without a new stack behaves as fork(2): the child runs on a copy of ours.
long CloneLikeFork(unsigned long flags) { return syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr); }

// clone3(2)'s arguments, as linux/sched.h has them (not included: its CLONE_* clash with glibc's).
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
constexpr uint64_t kCloneIntoCgroup = 0x200000000ULL;

// The container's process, made in its v2 cgroup when the plan names one: clone3(2) with
// CLONE_INTO_CGROUP and no stack, a fork(2) as above. A kernel without it (before 5.7),
// or one that refuses the cgroup, gets clone(2): the child writes cgroup.procs then, and
// that write says what is wrong.
long CloneContainer(const ChildPlan& plan, unsigned long flags) {
  if (plan.cgroup_fd >= 0) {
    CloneArgs args;
    memset(&args, 0, sizeof args);
    args.flags = flags | kCloneIntoCgroup;
    args.exit_signal = SIGCHLD;
    args.cgroup = static_cast<uint64_t>(plan.cgroup_fd);
    plan.in_cgroup = true;  // the child's copy of the plan says so
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid >= 0) return pid;
    plan.in_cgroup = false;
  }
  return CloneLikeFork(flags);
}

// The process S of a supervised container (see the top of the file). It holds nothing of
// the container's but what the supervisor needs: the container's own ends of its pipes and
// every descriptor of Node's are closed at its execve.
[[noreturn]] void SupervisorMain(const ChildPlan& plan) {
  long pid = CloneContainer(plan, static_cast<unsigned long>(plan.clone_flags));
  if (pid == 0) ChildMain(plan);
  if (pid < 0) Fail(plan, kStepSupervisor, 0, errno);
  Send(plan, kMsgPid, static_cast<int32_t>(pid), 0);
  for (int fd = 0; fd < 3; fd++)
    if (plan.stdio[fd] > 2) close(plan.stdio[fd]);
  if (plan.console_fd >= 0) close(plan.console_fd);
  // The supervisor's 0-2 are /dev/null: Node's own are close-on-exec, and the user's
  // terminal is none of a detached container's business.
  int null = open("/dev/null", O_RDWR);  // not close-on-exec: it may be one of 0-2 itself
  if (null < 0) Fail(plan, kStepSupervisor, 1, errno);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(null, fd) < 0) Fail(plan, kStepSupervisor, 1, errno);
  if (null > 2) close(null);
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0 && errno != ENOSYS && errno != EINVAL)
    Fail(plan, kStepSupervisor, 1, errno);
  for (int i = 0; i < plan.n_supervisor_fds; i++) fcntl(plan.supervisor_fds[i], F_SETFD, 0);
  // --pid PID in the two slots the plan left free: this copy of the argv is S's own.
  char digits[24];
  const char** argv = const_cast<const char**>(plan.supervisor_argv);
  argv[plan.n_supervisor_argv] = "--pid";
  argv[plan.n_supervisor_argv + 1] = FormatInt(pid, digits);
  ResetSignals();
  execve(argv[0], const_cast<char* const*>(argv), environ);
  // The error pipe is close-on-exec: still open here to say why.
  Fail(plan, kStepSupervisor, 1, errno);
}

pid_t SpawnChild(const ChildPlan& plan) {
  // sigprocmask(2) is per thread: with every signal blocked, none of Node's handlers can
  // run in the child before it resets them.
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  long pid = plan.supervisor_argv ? CloneLikeFork(0) : CloneContainer(plan, static_cast<unsigned long>(plan.clone_flags));
  if (pid == 0 && plan.supervisor_argv) SupervisorMain(plan);
  if (pid == 0) ChildMain(plan);
  int err = errno;
  sigprocmask(SIG_SETMASK, &old, nullptr);
  return pid < 0 ? -err : static_cast<pid_t>(pid);
}

}  // namespace diyc
