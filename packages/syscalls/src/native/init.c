// diyc-init: a container's PID 1 for `diyc-run --init`, as tini is Docker's.
//
//   diyc-init [--] COMMAND [ARG...]
//
// PID 1 of a PID namespace has two jobs a normal program does not do (pid_namespaces(7)):
// the kernel drops the signals it has no handler for, so `sleep 100` as PID 1 ignores
// Ctrl-C and `kill -TERM`; and every orphan in the namespace becomes its child, so it must
// reap them or they stay zombies. diyc-init runs COMMAND as its child, passes every
// signal it gets on to it, reaps every child, and exits as COMMAND did: its exit code, or
// 128+N when signal N ended it.
//
// It is linked statically: it runs inside the container's root filesystem, whose libc
// (if it has one) is not ours. It is bound read-only at /dev/init by diyc-run.
//
// System calls: sigprocmask(2), fork(2), setpgid(2), tcsetpgrp(3), execvp(3),
// sigtimedwait(2), kill(2), waitpid(2). https://man7.org/linux/man-pages/man2/NAME.2.html
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *arg) {
  fprintf(stderr, "diyc-init: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
  exit(125);
}

/** The child: its own process group in the terminal's foreground, default signals, exec. */
static void run_command(char **argv, const sigset_t *old_mask) {
  // Its own process group, made the foreground one: Ctrl-C on the terminal reaches the
  // command, and not diyc-init too (which would pass it on a second time).
  setpgid(0, 0);
  if (isatty(STDIN_FILENO)) {
    signal(SIGTTOU, SIG_IGN);  // tcsetpgrp from a background group would stop us
    tcsetpgrp(STDIN_FILENO, getpgrp());
    signal(SIGTTOU, SIG_DFL);
  }
  sigprocmask(SIG_SETMASK, old_mask, NULL);
  execvp(argv[0], argv);
  int err = errno;
  fprintf(stderr, "diyc-init: %s: %s\n", argv[0], err == ENOENT ? "command not found" : strerror(err));
  _exit(err == ENOENT ? 127 : 126);
}

int main(int argc, char **argv) {
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--") == 0) first = 2;
  if (first >= argc) {
    fprintf(stderr, "usage: diyc-init [--] COMMAND [ARG...]\n");
    return 2;
  }
  // Every signal waits in the mask until sigtimedwait takes it: none is lost between
  // fork and the loop, and none interrupts diyc-init itself.
  sigset_t all, old_mask;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old_mask);

  pid_t child = fork();
  if (child < 0) die("fork", NULL);
  if (child == 0) run_command(argv + first, &old_mask);

  int status = 0;
  for (;;) {
    siginfo_t info;
    struct timespec tick = {1, 0};  // wake now and then to reap what SIGCHLD may have coalesced
    int sig = sigtimedwait(&all, &info, &tick);
    if (sig > 0 && sig != SIGCHLD) {
      // Passed on to the command's process group (what it forked too), as a terminal would.
      if (kill(-child, sig) < 0 && errno == ESRCH) kill(child, sig);
      continue;
    }
    // Reap every child that has ended: the command, and orphans re-parented to PID 1.
    for (;;) {
      int st;
      pid_t pid = waitpid(-1, &st, WNOHANG);
      if (pid <= 0) break;
      if (pid == child) {
        status = st;
        child = 0;
      }
    }
    if (child == 0) break;
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
