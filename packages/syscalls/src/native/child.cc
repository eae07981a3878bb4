// The code that runs between clone() and execve(): all of it is in this file.
//
// Node is a multithreaded process, so it cannot unshare(CLONE_NEWNS) or setns() into a
// mount namespace itself (see unshare(2), setns(2)). Instead it clone()s a child, as
// fork() would, with the new namespaces asked for, and the child prepares itself and
// execs the command. The child is a copy of one thread of a process whose other threads
// may hold locks (malloc's among them), so from clone() to execve() it makes only raw
// system calls: no allocation, no stdio, no N-API. Every input was converted to plain C
// data (ChildPlan) by the parent before clone().
//
// The stages, in the order the child runs them:
//
//   step              system call                         when
//   ----------------  ----------------------------------  ----------------------------
//   hold              read(hold_fd)                       the parent asked to hold it
//   open_ns           open(2)                             for each namespace to join
//   cgroup            write "0" to cgroup.procs           for each cgroup file
//   setns             setns(2)                            for each namespace to join
//   fork              fork(2)                             a PID namespace was joined
//   unshare           unshare(CLONE_NEWCGROUP)            a cgroup namespace is asked
//   sethostname       sethostname(2), setdomainname(2)    names given
//   make_private      mount(2) MS_REC|MS_PRIVATE on /     a mount namespace was made
//   mount ...         mount, mkdir, symlink, mknod        the mount list, in order
//   pivot_root        pivot_root(2), umount2(2)           a root is given
//   chdir             chdir(2)
//   setgroups/gid/uid setgroups(2), setgid(2), setuid(2)  a user is given
//   stdio             dup2(2)                             descriptors are given
//   setsid, terminal  setsid(2), setpgid(2), tcsetpgrp(3)
//   execve            execve(2), searching PATH
//
// Each system call is documented at https://man7.org/linux/man-pages/man2/NAME.2.html
// (tcsetpgrp: man3). Why each step is where it is:
//   - namespace files are opened before any is joined, and the cgroup is entered in
//     between, while host paths still mean the host's files;
//   - sethostname needs the UTS namespace, and the mounts need `/` private first, or
//     they would propagate back to the host;
//   - pivot_root comes after the mounts, which name paths under the new root;
//   - the user is changed last but one: mounts and pivot_root need privileges.
//
// Messages on the error pipe (close-on-exec, so it closes by itself at execve):
//
//   child -> parent   ChildError {step, index, errno}    a step failed; the child _exit()s
//   (end of file)                                        execve succeeded
//
// Messages on the hold pipe: parent -> child, one byte: "go on". End of file without
// the byte means the parent gave up: the child exits quietly.
//
// Joining a PID namespace only affects the children of the caller (setns(2)), so after
// joining one the child forks: the grandchild becomes the command, and the child stays
// behind as a small relay that forwards signals to it and exits as it exits.

#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <termios.h>
#include <unistd.h>

namespace diyc {
namespace {

[[noreturn]] void Fail(const ChildPlan& plan, Step step, int index, int err) {
  ChildError e{static_cast<int32_t>(step), index, err};
  // One write of 12 bytes to a pipe is atomic (pipe(7), PIPE_BUF).
  ssize_t ignored = write(plan.error_fd, &e, sizeof e);
  (void)ignored;
  _exit(127);
}

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

// ---- steps -------------------------------------------------------------------------

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

void EnterCgroups(const ChildPlan& plan) {
  for (int i = 0; i < plan.n_cgroup_procs; i++) {
    int fd = open(plan.cgroup_procs[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) Fail(plan, kStepCgroup, i, errno);
    // "0" is the writing process itself, whatever PID namespace it is in (cgroups(7)).
    if (write(fd, "0", 1) != 1) Fail(plan, kStepCgroup, i, errno);
    close(fd);
  }
}

void RunMountSteps(const ChildPlan& plan) {
  if (plan.make_root_private &&
      mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0)
    Fail(plan, kStepMakePrivate, -1, errno);
  for (int i = 0; i < plan.n_mounts; i++) {
    const MountStep& m = plan.mounts[i];
    switch (m.op) {
      case kOpMount:
        if (mount(m.source, m.target, m.fstype, m.flags, m.data) < 0) Fail(plan, kStepMount, i, errno);
        break;
      case kOpMkdir:
        if (mkdir(m.target, m.mode) < 0 && errno != EEXIST) Fail(plan, kStepMkdir, i, errno);
        break;
      case kOpSymlink:
        if (symlink(m.source, m.target) < 0 && errno != EEXIST) Fail(plan, kStepSymlink, i, errno);
        break;
      case kOpMknod:
        if (mknod(m.target, m.mode, m.dev) < 0 && errno != EEXIST) Fail(plan, kStepMknod, i, errno);
        break;
    }
  }
}

// pivot_root(2) with new_root and put_old both ".", then detach the old root: the
// sequence the man page gives, which needs no directory for the old root.
void PivotRoot(const ChildPlan& plan) {
  // pivot_root needs new_root to be a mount point: bind it onto itself.
  if (mount(plan.root, plan.root, nullptr, MS_BIND | MS_REC, nullptr) < 0)
    Fail(plan, kStepPivotRoot, -1, errno);
  if (chdir(plan.root) < 0) Fail(plan, kStepPivotRoot, -1, errno);
  if (syscall(SYS_pivot_root, ".", ".") < 0) Fail(plan, kStepPivotRoot, -1, errno);
  // The old root is now stacked under "." : detach it, so nothing of the host remains.
  if (umount2(".", MNT_DETACH) < 0) Fail(plan, kStepPivotRoot, -1, errno);
  if (chdir("/") < 0) Fail(plan, kStepChdir, -1, errno);
}

void SetUser(const ChildPlan& plan) {
  if (plan.gid >= 0) {
    if (setgroups(0, nullptr) < 0) Fail(plan, kStepSetgroups, -1, errno);
    if (setgid(static_cast<gid_t>(plan.gid)) < 0) Fail(plan, kStepSetgid, -1, errno);
  }
  if (plan.uid >= 0 && setuid(static_cast<uid_t>(plan.uid)) < 0) Fail(plan, kStepSetuid, -1, errno);
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
  if (plan.setsid && setsid() < 0) Fail(plan, kStepSetsid, -1, errno);
  if (plan.foreground) {
    // Become our own process group and the terminal's foreground group, so Ctrl-C
    // and the terminal belong to the command. SIGTTOU is still blocked here, so
    // tcsetpgrp(3) from a background group succeeds.
    if (setpgid(0, 0) < 0) Fail(plan, kStepTerminal, -1, errno);
    if (tcsetpgrp(STDIN_FILENO, getpgrp()) < 0 && errno != ENOTTY) Fail(plan, kStepTerminal, -1, errno);
  }
}

size_t Length(const char* s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}

// execvp(3) without its allocations: try each directory of PATH. As execvp does, a
// file found but not executable (EACCES) wins over "not found" (ENOENT).
[[noreturn]] void Exec(const ChildPlan& plan) {
  const char* file = plan.argv[0];
  char* const* argv = const_cast<char* const*>(plan.argv);
  char* const* envp = const_cast<char* const*>(plan.envp);
  bool has_slash = false;
  for (const char* p = file; *p; p++) has_slash |= (*p == '/');
  if (has_slash || plan.path == nullptr) {
    execve(file, argv, envp);
    Fail(plan, kStepExecve, -1, errno);
  }
  char buf[4096];
  size_t file_len = Length(file);
  int err = ENOENT;
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
      execve(buf, argv, envp);
      if (errno == EACCES) err = EACCES;
      else if (errno != ENOENT && errno != ENOTDIR) err = errno;
    }
    if (*end == '\0') break;
    dir = end + 1;
  }
  Fail(plan, kStepExecve, -1, err);
}

[[noreturn]] void ChildMain(const ChildPlan& plan) {
  if (plan.hold_fd >= 0) {
    char go = 0;
    ssize_t n;
    do n = read(plan.hold_fd, &go, 1); while (n < 0 && errno == EINTR);
    if (n != 1) _exit(127);  // the parent is gone or gave up: nothing to report to
    close(plan.hold_fd);
  }
  int ns_fds[kMaxJoins];
  OpenNamespaces(plan, ns_fds);
  EnterCgroups(plan);
  JoinNamespaces(plan, ns_fds);
  if (JoinsPidNamespace(plan)) {
    pid_t pid = fork();
    if (pid < 0) Fail(plan, kStepFork, -1, errno);
    if (pid > 0) {
      close(plan.error_fd);
      RunRelay(pid);
    }
  }
  // A new cgroup namespace has the cgroup just entered as its root.
  if (plan.new_cgroupns && unshare(CLONE_NEWCGROUP) < 0) Fail(plan, kStepUnshare, -1, errno);
  if (plan.hostname && sethostname(plan.hostname, Length(plan.hostname)) < 0)
    Fail(plan, kStepSethostname, -1, errno);
  if (plan.domainname && setdomainname(plan.domainname, Length(plan.domainname)) < 0)
    Fail(plan, kStepSetdomainname, -1, errno);
  RunMountSteps(plan);
  if (plan.root) PivotRoot(plan);
  if (plan.cwd && chdir(plan.cwd) < 0) Fail(plan, kStepChdir, -1, errno);
  SetUser(plan);
  SetStdio(plan);
  SetSession(plan);
  ResetSignals();
  Exec(plan);
}

}  // namespace

pid_t SpawnChild(const ChildPlan& plan) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  // clone(2) without a new stack behaves as fork(2): the child runs on a copy of ours.
  long pid = syscall(SYS_clone, static_cast<unsigned long>(plan.clone_flags) | SIGCHLD,
                     nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) ChildMain(plan);
  int err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return pid < 0 ? -err : static_cast<pid_t>(pid);
}

}  // namespace diyc
