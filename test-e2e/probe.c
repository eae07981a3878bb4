// probe: tries system calls a container should or should not be able to make, and says
// what the kernel answered. Busybox has no applet for these; the breakout suite builds
// this statically and puts it in its test image.
//
//   probe keyring          the session keyring's serial (keyctl), or the errno name
//   probe settime          settimeofday(NULL, NULL): the permission check, nothing set
//   probe userns           unshare(CLONE_NEWUSER): a new user namespace
//   probe bpf              bpf(BPF_MAP_CREATE) of a tiny array map
//   probe perf             perf_event_open of a software clock counter
//   probe userfaultfd      userfaultfd(0)
//   probe mount            mount(tmpfs) on /mnt
//   probe fds              the open descriptors above 2, besides the probe's own
//   probe tiocsti TEXT [FD]  pushes TEXT into the input of FD's terminal (default 0), a byte
//                          at a time (TIOCSTI); '~' stands for Enter
//   probe abstract NAME    connects to the abstract unix socket @NAME
//   probe iouring          io_uring_setup(2) of a one-entry ring
//   probe exe PID          opens /proc/PID/exe, and says whether it is a file of this root
//   probe ptrace PID       PTRACE_SEIZE of PID (then detaches)
//   probe nosys NR         makes system call NR (one no kernel has, or one the filter refuses)
//   probe watch SECONDS    for SECONDS (or until /tmp/stop exists), looks at every new process of this PID namespace and
//                          tries what CVE-2019-5736 did to runc: open its exe, environ and
//                          mem, and ptrace it, while it is a foreign binary (not of this root);
//                          prints how many it saw on the way in and what it got
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <stdlib.h>
#include <unistd.h>

static int report(const char* what, long r) {
  if (r < 0) {
    printf("%s: %s\n", what, strerrorname_np(errno));
    return 1;
  }
  printf("%s: ok %ld\n", what, r);
  return 0;
}

/* Whether the file open at fd is not a program of this root (a binary of the host's):
 * no file in the usual program directories is that file. */
static int foreign(int fd) {
  struct stat st;
  if (fstat(fd, &st) < 0) return 0;
  static const char* dirs[] = {"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin"};
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
    DIR* d = opendir(dirs[i]);
    if (!d) continue;
    for (struct dirent* e; (e = readdir(d));) {
      struct stat other;
      if (fstatat(dirfd(d), e->d_name, &other, 0) == 0 && other.st_dev == st.st_dev && other.st_ino == st.st_ino) {
        closedir(d);
        return 0;
      }
    }
    closedir(d);
  }
  return 1;
}

static int open_exe(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/exe", pid);
  return open(path, O_RDONLY | O_CLOEXEC);
}

/* Tries everything on `pid`; counts what worked on a foreign binary. */
static void attack(int pid, int* seen, int* exe, int* environ_, int* mem, int* traced, int* denied) {
  char path[64];
  int fd = open_exe(pid);
  if (fd < 0) {
    if (errno == EACCES || errno == EPERM) (*seen)++, (*denied)++;
  } else {
    if (foreign(fd)) (*seen)++, (*exe)++;
    close(fd);
  }
  snprintf(path, sizeof path, "/proc/%d/environ", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    int e = open_exe(pid);
    if (e >= 0 && foreign(e)) (*environ_)++;
    if (e >= 0) close(e);
    close(fd);
  }
  snprintf(path, sizeof path, "/proc/%d/mem", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    int e = open_exe(pid);
    if (e >= 0 && foreign(e)) (*mem)++;
    if (e >= 0) close(e);
    close(fd);
  }
  if (ptrace(PTRACE_SEIZE, pid, 0, 0) == 0) {
    int e = open_exe(pid);
    if (e >= 0 && foreign(e)) (*traced)++;
    if (e >= 0) close(e);
    // A seized process is let go only from a ptrace-stop (PTRACE_DETACH on a running one
    // fails with ESRCH): stop it, wait for the stop, detach. Left attached, its exit would
    // be ours to reap, and the runtime waiting for it would wait for ever.
    ptrace(PTRACE_INTERRUPT, pid, 0, 0);
    int status;
    if (waitpid(pid, &status, __WALL) == pid && !WIFEXITED(status) && !WIFSIGNALED(status)) ptrace(PTRACE_DETACH, pid, 0, 0);
  }
}

static int watch(double seconds) {
  int seen = 0, exe = 0, environ_ = 0, mem = 0, traced = 0, denied = 0;
  static char done[1 << 16];
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  int self = getpid(), parent = getppid();
  printf("watching\n");
  fflush(stdout);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 > seconds) break;
    if (access("/tmp/stop", F_OK) == 0) break;
    DIR* d = opendir("/proc");
    if (!d) return report("watch", -1);
    for (struct dirent* e; (e = readdir(d));) {
      int pid = atoi(e->d_name);
      if (pid <= 1 || pid == self || pid == parent || pid >= (int)sizeof done || done[pid]) continue;
      int before = seen;
      attack(pid, &seen, &exe, &environ_, &mem, &traced, &denied);
      // A process that is already the command (a binary of this root) is done with; one on
      // its way in is tried again until it has exec'd.
      if (seen == before) done[pid] = 1;
    }
    closedir(d);
  }
  printf("watch: seen=%d denied=%d exe=%d environ=%d mem=%d ptrace=%d\n", seen, denied, exe, environ_, mem, traced);
  return 0;
}

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "";
  if (!strcmp(what, "keyring")) return report(what, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
  if (!strcmp(what, "settime")) return report(what, syscall(SYS_settimeofday, NULL, NULL));  // glibc's wrapper reads *tv
  if (!strcmp(what, "userns")) return report(what, unshare(CLONE_NEWUSER));
  if (!strcmp(what, "nosys") && argc > 2) return report(what, syscall(atol(argv[2]), 0, 0, 0));
  if (!strcmp(what, "bpf")) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    return report(what, syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr));
  }
  if (!strcmp(what, "perf")) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.exclude_kernel = 1;
    return report(what, syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  }
  if (!strcmp(what, "userfaultfd")) return report(what, syscall(SYS_userfaultfd, 0));
  if (!strcmp(what, "mount")) return report(what, mount("tmpfs", "/mnt", "tmpfs", 0, NULL));
  if (!strcmp(what, "fds")) {
    DIR* d = opendir("/proc/self/fd");
    if (!d) return report(what, -1);
    int own = dirfd(d);
    printf("fds:");
    for (struct dirent* e; (e = readdir(d));) {
      int fd = atoi(e->d_name);
      if (e->d_name[0] != '.' && fd > 2 && fd != own) printf(" %d", fd);
    }
    printf("\n");
    closedir(d);
    return 0;
  }
  if (!strcmp(what, "tiocsti") && argc > 2) {
    int fd = argc > 3 ? atoi(argv[3]) : 0;
    for (const char* c = argv[2]; *c; c++) {
      char byte = *c == '~' ? '\n' : *c;
      if (ioctl(fd, TIOCSTI, &byte) < 0) return report(what, -1);
    }
    return report(what, 0);
  }
  if (!strcmp(what, "abstract") && argc > 2) {
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path + 1, argv[2], sizeof addr.sun_path - 2);
    // The name is the exact bytes (as most programs bind it), or the whole sun_path padded
    // with NULs (as libuv, and so Node, binds it): an attacker tries both.
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    socklen_t len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(argv[2]);
    if (sock >= 0 && connect(sock, (struct sockaddr*)&addr, len) == 0) return report(what, 0);
    return report(what, sock < 0 ? -1 : connect(sock, (struct sockaddr*)&addr, sizeof addr));
  }
  if (!strcmp(what, "iouring")) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    return report(what, syscall(SYS_io_uring_setup, 1, &params));
  }
  if (!strcmp(what, "exe") && argc > 2) {
    int fd = open_exe(atoi(argv[2]));
    if (fd < 0) return report(what, -1);
    printf("exe: ok %s\n", foreign(fd) ? "foreign" : "own");
    return 0;
  }
  if (!strcmp(what, "ptrace") && argc > 2) {
    long r = ptrace(PTRACE_SEIZE, atoi(argv[2]), 0, 0);
    if (r == 0) ptrace(PTRACE_DETACH, atoi(argv[2]), 0, 0);
    return report(what, r);
  }
  if (!strcmp(what, "watch") && argc > 2) return watch(atof(argv[2]));
  fprintf(stderr, "usage: probe keyring|settime|userns|bpf|perf|userfaultfd|mount|fds|tiocsti TEXT [FD]|abstract NAME|iouring|exe PID|ptrace PID|watch SECONDS\n");
  return 2;
}
