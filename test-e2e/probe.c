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
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
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

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "";
  if (!strcmp(what, "keyring")) return report(what, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
  if (!strcmp(what, "settime")) return report(what, syscall(SYS_settimeofday, NULL, NULL));  // glibc's wrapper reads *tv
  if (!strcmp(what, "userns")) return report(what, unshare(CLONE_NEWUSER));
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
  fprintf(stderr, "usage: probe keyring|settime|userns|bpf|perf|userfaultfd|mount|fds\n");
  return 2;
}
