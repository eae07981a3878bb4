// seccomp-agent: a small seccomp agent for the e2e suite, as runc's contrib seccompagent
// behaves: it listens on a unix socket, takes one message (the container's state as JSON,
// with the filter's listener as its one descriptor), and answers the calls the filter
// notifies (seccomp_unotify(2)).
//
//   seccomp-agent SOCKET REPORT continue   chmod, fchmod, fchmodat: ENOMEDIUM; every
//                                          other call goes on (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
//   seccomp-agent SOCKET REPORT exit       exits once it has the listener: the calls the
//                                          filter notifies then fail with ENOSYS
//
// REPORT gets, once per message, a line: the message as received, a tab, then what its
// descriptor is (readlink of /proc/self/fd/N) or "none". The agent takes any number of
// connections (a container, then an exec into it), one at a time.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static void answer(int listener) {
  struct seccomp_notif_sizes sizes;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0) return;
  struct seccomp_notif* req = calloc(1, sizes.seccomp_notif);
  struct seccomp_notif_resp* resp = calloc(1, sizes.seccomp_notif_resp);
  for (;;) {
    // POLLHUP once every process under the filter is gone (Linux 5.8).
    struct pollfd p = {.fd = listener, .events = POLLIN};
    if (poll(&p, 1, -1) < 0 && errno != EINTR) break;
    if (p.revents & (POLLHUP | POLLERR)) break;
    if (!(p.revents & POLLIN)) continue;
    memset(req, 0, sizes.seccomp_notif);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      break;
    }
    memset(resp, 0, sizes.seccomp_notif_resp);
    resp->id = req->id;
    int nr = req->data.nr;
    if (nr == SYS_chmod || nr == SYS_fchmod || nr == SYS_fchmodat) {
      resp->error = -ENOMEDIUM;
    } else {
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    }
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
  }
  free(req);
  free(resp);
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: seccomp-agent SOCKET REPORT continue|exit\n");
    return 2;
  }
  int server = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
  unlink(argv[1]);
  if (bind(server, (struct sockaddr*)&addr, sizeof addr) < 0 || listen(server, 4) < 0) {
    perror("seccomp-agent: listen");
    return 1;
  }
  for (;;) {
    int conn = accept(server, NULL, NULL);
    if (conn < 0) continue;
    char data[4096];
    struct iovec iov = {data, sizeof data - 1};
    char control[CMSG_SPACE(sizeof(int) * 4)];
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n = recvmsg(conn, &msg, 0);
    close(conn);
    if (n < 0) continue;
    data[n] = '\0';
    int listener = -1;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
      if (c->cmsg_type == SCM_RIGHTS) memcpy(&listener, CMSG_DATA(c), sizeof listener);
    char what[256] = "none";
    if (listener >= 0) {
      char path[64];
      snprintf(path, sizeof path, "/proc/self/fd/%d", listener);
      ssize_t len = readlink(path, what, sizeof what - 1);
      what[len > 0 ? len : 0] = '\0';
    }
    FILE* report = fopen(argv[2], "a");
    if (report) {
      fprintf(report, "%s\t%s\n", data, what);
      fclose(report);
    }
    if (!strcmp(argv[3], "exit")) return 0;
    if (listener >= 0 && fork() == 0) {
      close(server);
      answer(listener);
      _exit(0);
    }
    if (listener >= 0) close(listener);
  }
}
