// N-API glue: converts JavaScript values to C, calls the kernel, and turns errno into
// Errors shaped like Node's own fs errors ({errno, code, syscall, path}). Policy (what
// to mount, which namespaces, which system calls a filter allows, which devices a
// cgroup may use) lives in TypeScript; this file only does what it is told.
//
// It is built to load on older systems (glibc 2.28 and libstdc++ of GCC 8: Debian 10,
// Ubuntu 20.04 and later): no newer symbol is used (raw syscall(2) where glibc added a
// wrapper late; see the end of this file for libstdc++), and libseccomp is linked in
// statically (binding.gyp). A test checks the symbol versions of the built addon.

#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <deque>
#include <string>
#include <vector>

#ifdef DIYC_HAVE_SECCOMP
#include <seccomp.h>
#endif

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#include "child.h"
#include "digest.h"
#include "relay.h"

namespace {

// ---- errors ------------------------------------------------------------------------

// The JavaScript function that makes a SyscallError from (errno, syscall, path):
// errors.ts registers it, so codes and messages come from Node's own table.
Napi::FunctionReference* g_error_factory = nullptr;

}  // namespace

Napi::Value diyc::ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path) {
  Napi::Value error;
  if (g_error_factory != nullptr) {
    error = g_error_factory->Call({Napi::Number::New(env, err), Napi::String::New(env, syscall),
                                   path.empty() ? env.Undefined() : Napi::String::New(env, path)});
  }
  if (error.IsEmpty() || !error.IsObject()) {
    Napi::Error e = Napi::Error::New(env, std::string(syscall) + " failed: errno " + std::to_string(err));
    e.Set("errno", Napi::Number::New(env, -err));
    error = e.Value();
  }
  return error;
}

namespace {

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& path = "") {
  Napi::Error(env, diyc::ErrnoError(env, err, syscall, path)).ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  if (g_error_factory == nullptr) g_error_factory = new Napi::FunctionReference();
  *g_error_factory = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// ---- argument helpers --------------------------------------------------------------

std::string StringField(const Napi::Object& o, const char* key, const std::string& fallback = "") {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : fallback;
}

bool HasString(const Napi::Object& o, const char* key) { return o.Get(key).IsString(); }

double NumberField(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

bool BoolField(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() && v.As<Napi::Boolean>().Value();
}

uint64_t BigField(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return v.IsNumber() ? static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()) : 0;
}

Napi::Array ArrayField(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsArray() ? v.As<Napi::Array>() : Napi::Array::New(o.Env());
}

// Owns every string and array the ChildPlan points into. A deque keeps the addresses
// of its strings stable as it grows.
struct PlanStorage {
  std::deque<std::string> strings;
  std::vector<diyc::NamespaceJoin> joins;
  std::vector<const char*> cgroup_procs, argv, envp, supervisor_argv, host_kernel_mounts;
  std::deque<std::vector<const char*>> hook_arrays;  // each hook's argv and envp
  std::vector<diyc::Hook> hooks;
  std::vector<int> supervisor_fds;
  std::vector<diyc::FsStep> fs;
  std::vector<diyc::Rlimit> rlimits;
  std::vector<gid_t> groups;
  std::vector<int> keep_fds;
  std::vector<sock_filter> seccomp;
  int cgroup_fd = -1;  // the v2 cgroup the child is cloned into, closed with the storage

  PlanStorage() = default;
  PlanStorage(const PlanStorage&) = delete;
  PlanStorage& operator=(const PlanStorage&) = delete;
  ~PlanStorage() {
    if (cgroup_fd >= 0) close(cgroup_fd);
  }

  const char* Keep(std::string s) {
    strings.push_back(std::move(s));
    return strings.back().c_str();
  }
  const char* OptionalString(const Napi::Object& o, const char* key) {
    return HasString(o, key) ? Keep(StringField(o, key)) : nullptr;
  }
  std::vector<const char*> StringArray(const Napi::Object& o, const char* key) {
    std::vector<const char*> out;
    Napi::Array a = ArrayField(o, key);
    for (uint32_t i = 0; i < a.Length(); i++) out.push_back(Keep(a.Get(i).ToString().Utf8Value()));
    return out;
  }
};

// The namespaces to join and make, the cgroups to enter, the names, the root to pivot to.
void ConvertNamespaces(const Napi::Object& o, PlanStorage& s, diyc::ChildPlan& p) {
  p.clone_flags = static_cast<int>(NumberField(o, "cloneFlags", 0));

  Napi::Array joins = ArrayField(o, "joins");
  for (uint32_t i = 0; i < joins.Length(); i++) {
    Napi::Object j = joins.Get(i).As<Napi::Object>();
    s.joins.push_back({s.Keep(StringField(j, "path")), static_cast<int>(NumberField(j, "nstype", 0))});
  }
  p.joins = s.joins.data();
  p.n_joins = static_cast<int>(s.joins.size());
  p.detach_after_fork = BoolField(o, "detachAfterFork");
  p.userns_root = BoolField(o, "usernsRoot");

  s.cgroup_procs = s.StringArray(o, "cgroupProcs");
  // Writing a cgroup.procs takes the kernel's cgroup_threadgroup_rwsem for writing, which
  // waits for an RCU grace period (5 to 20 ms here) unless another writer just had it:
  // - a cgroup v1 hierarchy's `tasks` takes "0" without that lock (the writing thread
  //   moves, and the child is one thread), so the child writes there instead;
  // - a v2 cgroup (pure v2, or a hybrid machine's unified tree) has no `tasks`: the child
  //   is cloned into it (clone3's CLONE_INTO_CGROUP, Linux 5.7), which takes no such lock.
  // https://docs.kernel.org/admin-guide/cgroup-v1/cgroups.html  https://man7.org/linux/man-pages/man2/clone3.2.html
  p.cgroup_fd = -1;
  p.cgroup_fd_index = -1;
  const std::string procs = "/cgroup.procs";
  for (size_t i = 0; i < s.cgroup_procs.size(); i++) {
    std::string file = s.cgroup_procs[i];
    if (file.size() <= procs.size() || file.compare(file.size() - procs.size(), procs.size(), procs) != 0) continue;
    std::string dir = file.substr(0, file.size() - procs.size());
    if (access((dir + "/tasks").c_str(), W_OK) == 0) {
      s.cgroup_procs[i] = s.Keep(dir + "/tasks");
    } else if (s.cgroup_fd < 0) {
      s.cgroup_fd = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (s.cgroup_fd >= 0) p.cgroup_fd_index = static_cast<int>(i);
    }
  }
  p.cgroup_fd = s.cgroup_fd;
  p.cgroup_procs = s.cgroup_procs.data();
  p.n_cgroup_procs = static_cast<int>(s.cgroup_procs.size());
  p.new_cgroupns = BoolField(o, "newCgroupns");
  p.hostname = s.OptionalString(o, "hostname");
  p.domainname = s.OptionalString(o, "domainname");
  p.set_oom_score_adj = o.Get("oomScoreAdj").IsNumber();
  p.oom_score_adj = static_cast<int>(NumberField(o, "oomScoreAdj", 0));
  p.make_root_private = BoolField(o, "makeRootPrivate");
  p.root = s.OptionalString(o, "root");
  p.no_pivot = BoolField(o, "noPivot");
  s.host_kernel_mounts = s.StringArray(o, "hostKernelMounts");
  p.host_kernel_mounts = s.host_kernel_mounts.data();
  p.n_host_kernel_mounts = static_cast<int>(s.host_kernel_mounts.size());
  p.chroot_only = BoolField(o, "chrootOnly");
  p.root_propagation = static_cast<unsigned long>(NumberField(o, "rootPropagation", 0));
}

// The filesystem steps run before the pivot: mounts, masks, nodes, links, writes.
void ConvertFsSteps(const Napi::Object& o, PlanStorage& s, diyc::ChildPlan& p) {
  Napi::Array fs = ArrayField(o, "fs");
  for (uint32_t i = 0; i < fs.Length(); i++) {
    Napi::Object m = fs.Get(i).As<Napi::Object>();
    diyc::FsStep step;
    step.op = static_cast<diyc::FsOp>(NumberField(m, "op", 0));
    step.opts = static_cast<uint32_t>(NumberField(m, "opts", 0));
    step.source = s.OptionalString(m, "source");
    step.target = s.Keep(StringField(m, "target"));
    step.fstype = s.OptionalString(m, "fstype");
    step.flags = static_cast<unsigned long>(NumberField(m, "flags", 0));
    step.data = s.OptionalString(m, "data");
    step.mode = static_cast<uint32_t>(NumberField(m, "mode", 0));
    step.dev = makedev(static_cast<unsigned>(NumberField(m, "major", 0)), static_cast<unsigned>(NumberField(m, "minor", 0)));
    step.uid = static_cast<long>(NumberField(m, "uid", -1));
    step.gid = static_cast<long>(NumberField(m, "gid", -1));
    step.attr_set = BigField(m, "attrSet");
    step.attr_clr = BigField(m, "attrClr");
    step.source_index = static_cast<int>(NumberField(m, "sourceIndex", -1));
    if ((step.opts & diyc::kFsSourceFd) && (step.source_index < 0 || step.source_index >= static_cast<int>(NumberField(o, "sourceFds", 0))))
      step.opts &= ~static_cast<uint32_t>(diyc::kFsSourceFd);  // no such descriptor: the path, then
    s.fs.push_back(step);
  }
  p.fs = s.fs.data();
  p.n_fs = static_cast<int>(s.fs.size());
  p.n_source_fds = static_cast<int>(NumberField(o, "sourceFds", 0));
  p.sync_before_pivot = BoolField(o, "syncBeforePivot");
}

// The process's place and limits: cwd, console, keyring, rlimits, user and groups.
void ConvertProcess(const Napi::Object& o, PlanStorage& s, diyc::ChildPlan& p) {
  p.cwd = s.OptionalString(o, "cwd");
  p.console_socket = s.OptionalString(o, "consoleSocket");
  p.console_fd = static_cast<int>(NumberField(o, "consoleFd", -1));
  p.console_rows = static_cast<unsigned short>(NumberField(o, "consoleRows", 0));
  p.console_cols = static_cast<unsigned short>(NumberField(o, "consoleCols", 0));
  p.new_keyring = BoolField(o, "newKeyring");

  Napi::Array rlimits = ArrayField(o, "rlimits");
  for (uint32_t i = 0; i < rlimits.Length(); i++) {
    Napi::Object r = rlimits.Get(i).As<Napi::Object>();
    s.rlimits.push_back({static_cast<int>(NumberField(r, "resource", 0)), BigField(r, "soft"), BigField(r, "hard")});
  }
  p.rlimits = s.rlimits.data();
  p.n_rlimits = static_cast<int>(s.rlimits.size());

  p.uid = static_cast<long>(NumberField(o, "uid", -1));
  p.gid = static_cast<long>(NumberField(o, "gid", -1));
  Napi::Array groups = ArrayField(o, "groups");
  for (uint32_t i = 0; i < groups.Length(); i++) s.groups.push_back(groups.Get(i).As<Napi::Number>().Uint32Value());
  p.groups = s.groups.data();
  p.n_groups = static_cast<int>(s.groups.size());
  p.umask = static_cast<int>(NumberField(o, "umask", -1));
}

// What it may do: capabilities, no_new_privs, the seccomp filter; what runs under it
// (startContainer hooks); the descriptors it keeps.
void ConvertSecurity(const Napi::Object& o, PlanStorage& s, diyc::ChildPlan& p) {
  Napi::Value caps = o.Get("capabilities");
  if (caps.IsObject()) {
    Napi::Object c = caps.As<Napi::Object>();
    p.caps = {true, BigField(c, "bounding"), BigField(c, "effective"), BigField(c, "permitted"),
              BigField(c, "inheritable"), BigField(c, "ambient")};
  }
  p.no_new_privs = BoolField(o, "noNewPrivileges");
  Napi::Value seccomp = o.Get("seccomp");
  if (seccomp.IsBuffer()) {
    Napi::Buffer<uint8_t> b = seccomp.As<Napi::Buffer<uint8_t>>();
    s.seccomp.resize(b.Length() / sizeof(sock_filter));
    memcpy(s.seccomp.data(), b.Data(), s.seccomp.size() * sizeof(sock_filter));
    p.seccomp = s.seccomp.data();
    p.seccomp_len = static_cast<unsigned short>(s.seccomp.size());
    p.seccomp_flags = static_cast<unsigned int>(NumberField(o, "seccompFlags", 0));
  }
  Napi::Array hooks = ArrayField(o, "startHooks");
  for (uint32_t i = 0; i < hooks.Length(); i++) {
    Napi::Object h = hooks.Get(i).As<Napi::Object>();
    s.hook_arrays.push_back(s.StringArray(h, "argv"));
    s.hook_arrays.back().push_back(nullptr);
    const char* const* argv = s.hook_arrays.back().data();
    s.hook_arrays.push_back(s.StringArray(h, "env"));
    s.hook_arrays.back().push_back(nullptr);
    s.hooks.push_back({s.Keep(StringField(h, "path")), argv, s.hook_arrays.back().data(), static_cast<int>(NumberField(h, "timeout", 0))});
  }
  p.start_hooks = s.hooks.data();
  p.n_start_hooks = static_cast<int>(s.hooks.size());
  Napi::Array keep = ArrayField(o, "keepFds");
  for (uint32_t i = 0; i < keep.Length(); i++) s.keep_fds.push_back(keep.Get(i).As<Napi::Number>().Int32Value());
  p.keep_fds = s.keep_fds.data();
  p.n_keep_fds = static_cast<int>(s.keep_fds.size());
}

// What it runs and how: argv, env, stdio, session, the start FIFO, the supervisor.
void ConvertCommand(const Napi::Object& o, PlanStorage& s, diyc::ChildPlan& p) {
  s.argv = s.StringArray(o, "argv");
  s.argv.push_back(nullptr);
  s.envp = s.StringArray(o, "env");
  s.envp.push_back(nullptr);
  p.argv = s.argv.data();
  p.envp = s.envp.data();
  p.path = s.OptionalString(o, "path");

  Napi::Array stdio = ArrayField(o, "stdio");
  for (uint32_t i = 0; i < 3; i++) {
    Napi::Value fd = i < stdio.Length() ? stdio.Get(i) : o.Env().Undefined();
    p.stdio[i] = fd.IsNumber() ? fd.As<Napi::Number>().Int32Value() : -1;
  }
  p.setsid = BoolField(o, "setsid");
  p.foreground = BoolField(o, "foreground");
  p.start_fifo = s.OptionalString(o, "startFifo");
  p.hold = BoolField(o, "hold");

  if (o.Get("supervisorArgv").IsArray()) {
    s.supervisor_argv = s.StringArray(o, "supervisorArgv");
    p.n_supervisor_argv = static_cast<int>(s.supervisor_argv.size());
    // Two free slots for "--pid PID" (child.cc fills them in the supervisor's own copy), then the end.
    s.supervisor_argv.insert(s.supervisor_argv.end(), {nullptr, nullptr, nullptr});
    p.supervisor_argv = s.supervisor_argv.data();
    Napi::Array fds = ArrayField(o, "supervisorFds");
    for (uint32_t i = 0; i < fds.Length(); i++) s.supervisor_fds.push_back(fds.Get(i).As<Napi::Number>().Int32Value());
    p.supervisor_fds = s.supervisor_fds.data();
    p.n_supervisor_fds = static_cast<int>(s.supervisor_fds.size());
  }
}

// The plan object comes from TypeScript (spawn.ts), already validated there; each part
// in the order the child uses it (child.h's ChildPlan).
diyc::ChildPlan ConvertPlan(const Napi::Object& o, PlanStorage& s) {
  diyc::ChildPlan p;
  memset(&p, 0, sizeof p);
  ConvertNamespaces(o, s, p);
  ConvertFsSteps(o, s, p);
  ConvertProcess(o, s, p);
  ConvertSecurity(o, s, p);
  ConvertCommand(o, s, p);
  return p;
}

// ---- spawn -------------------------------------------------------------------------

int64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// spawn(plan) -> { pid, pidfd, holdFd, errorFd, times }
// With plan.hold the child waits before its first step until go(holdFd). `times` is the
// page the child notes its steps on (StepTimes, child.h): an ArrayBuffer over memory
// shared with the child, unmapped when the buffer is collected.
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "spawn(plan): plan must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  PlanStorage storage;
  diyc::ChildPlan plan = ConvertPlan(info[0].As<Napi::Object>(), storage);
  if (plan.argv[0] == nullptr) {
    Napi::TypeError::New(env, "spawn(plan): argv must not be empty").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int error_pipe[2], hold_pipe[2] = {-1, -1};
  if (pipe2(error_pipe, O_CLOEXEC) < 0) return ThrowErrno(env, errno, "pipe2");
  // The child waits on it to be held, at its sync point, and while its seccomp listener
  // is taken; a socket, so that the first "go" can carry descriptors (the bind sources).
  bool listener = plan.seccomp != nullptr && (plan.seccomp_flags & (1U << 3)) != 0;  // SECCOMP_FILTER_FLAG_NEW_LISTENER
  bool hold = plan.hold || plan.sync_before_pivot || listener || plan.n_source_fds > 0;
  if (hold && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, hold_pipe) < 0) {
    int err = errno;
    close(error_pipe[0]);
    close(error_pipe[1]);
    return ThrowErrno(env, err, "socketpair");
  }
  void* page = mmap(nullptr, sizeof(diyc::StepTimes), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  diyc::StepTimes* times = page == MAP_FAILED ? nullptr : static_cast<diyc::StepTimes*>(page);
  if (times) times->clone_ns = MonotonicNs();
  plan.times = times;
  plan.error_fd = error_pipe[1];
  plan.error_peer_fd = error_pipe[0];
  plan.hold_fd = hold_pipe[0];
  plan.hold_peer_fd = hold_pipe[1];

  pid_t pid = diyc::SpawnChild(plan);
  close(error_pipe[1]);
  if (hold) close(hold_pipe[0]);
  if (pid < 0) {
    close(error_pipe[0]);
    if (hold) close(hold_pipe[1]);
    if (times) munmap(times, sizeof(diyc::StepTimes));
    return ThrowErrno(env, -pid, "clone");
  }
  // A pidfd (pidfd_open(2)) becomes readable when the child exits: libuv polls it, so
  // waiting never blocks the event loop.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) fcntl(pidfd, F_SETFD, FD_CLOEXEC);

  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", pid);
  result.Set("pidfd", pidfd);
  result.Set("holdFd", hold_pipe[1]);
  result.Set("errorFd", error_pipe[0]);
  if (times) {
    result.Set("times", Napi::ArrayBuffer::New(env, times, sizeof(diyc::StepTimes),
                                               [](Napi::Env, void* data) { munmap(data, sizeof(diyc::StepTimes)); }));
  }
  return result;
}

// go(holdFd, fds?): one byte on the hold socket: the child goes on (at the start, the sync,
// the seccomp listener). `fds` go with it (SCM_RIGHTS, unix(7)): the bind sources.
Napi::Value Go(const Napi::CallbackInfo& info) {
  char go = 1;
  struct iovec iov = {&go, 1};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<int> fds;
  if (info.Length() > 1 && info[1].IsArray()) {
    Napi::Array a = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) fds.push_back(a.Get(i).As<Napi::Number>().Int32Value());
  }
  std::vector<char> control(fds.empty() ? 0 : CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do n = sendmsg(info[0].As<Napi::Number>().Int32Value(), &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  if (n < 0) return ThrowErrno(info.Env(), errno, "sendmsg");
  return info.Env().Undefined();
}

// pidfdGetfd(pid, fd) -> fd: a copy of descriptor `fd` of process `pid`, close-on-exec
// (pidfd_open(2), pidfd_getfd(2), Linux 5.6): how the seccomp listener a container's
// process made reaches this process, as runc takes it.
Napi::Value PidfdGetfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pid = info[0].As<Napi::Number>().Int32Value();
  int target = info[1].As<Napi::Number>().Int32Value();
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return ThrowErrno(env, errno, "pidfd_open", std::to_string(pid));
  int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, target, 0));
  int err = errno;
  close(pidfd);
  if (fd < 0) return ThrowErrno(env, err, "pidfd_getfd", std::to_string(pid));
  return Napi::Number::New(env, fd);
}

// pidfdOpen(pid) -> fd: a descriptor that stays the process `pid` is now, whatever later
// takes its number (pidfd_open(2), Linux 5.3). Close it with close(2).
// https://man7.org/linux/man-pages/man2/pidfd_open.2.html
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  int pid = info[0].As<Napi::Number>().Int32Value();
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return ThrowErrno(info.Env(), errno, "pidfd_open", std::to_string(pid));
  return Napi::Number::New(info.Env(), fd);
}

// pidfdSendSignal(fd, sig): the signal to the process the pidfd holds, never to another that
// took its pid since (pidfd_send_signal(2)).
// https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html
Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int sig = info[1].As<Napi::Number>().Int32Value();
  if (syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) < 0)
    return ThrowErrno(info.Env(), errno, "pidfd_send_signal");
  return info.Env().Undefined();
}

// sendWithFd(socketPath, data: Buffer, fd): connects to a unix stream socket (a name
// starting with @ is abstract) and sends `data` with `fd` (SCM_RIGHTS) in one sendmsg(2),
// then closes the connection: how a seccomp agent gets its listener and the container's
// state (runc's sendContainerProcessState). Throws {syscall: "connect"} when no one listens.
Napi::Value SendWithFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Buffer<char> data = info[1].As<Napi::Buffer<char>>();
  int fd = info[2].As<Napi::Number>().Int32Value();
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) return ThrowErrno(env, path.empty() ? ENOENT : ENAMETOOLONG, "connect", path);
  memcpy(addr.sun_path, path.data(), path.size());
  socklen_t len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size() + 1);
  if (path[0] == '@') {
    addr.sun_path[0] = '\0';
    len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + path.size());
  }
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return ThrowErrno(env, errno, "socket");
  int rc;
  do rc = connect(sock, reinterpret_cast<struct sockaddr*>(&addr), len); while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int err = errno;
    close(sock);
    return ThrowErrno(env, err, "connect", path);
  }
  struct iovec iov = {data.Data(), data.Length()};
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = sendmsg(sock, &msg, MSG_NOSIGNAL); while (n < 0 && errno == EINTR);
  int err = errno;
  close(sock);
  if (n < 0) return ThrowErrno(env, err, "sendmsg", path);
  if (static_cast<size_t>(n) != data.Length()) return ThrowErrno(env, EMSGSIZE, "sendmsg", path);
  return env.Undefined();
}

// readMessage(errorFd) -> null (end of file: the child exec'd or is gone) | [step, index, errno]
// The steps before a message are a handful of system calls, so this short blocking
// read is the simplest correct way.
Napi::Value ReadMessage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  diyc::ChildError e;
  ssize_t n;
  do n = read(info[0].As<Napi::Number>().Int32Value(), &e, sizeof e); while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof e)) return env.Null();
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, e.step);
  out.Set(1u, e.index);
  out.Set(2u, e.err);
  return out;
}

// ---- waiting -----------------------------------------------------------------------

struct ExitWatch {
  uv_poll_t poll;
  pid_t pid;
  int pidfd;
  Napi::FunctionReference callback;
  Napi::AsyncContext* context;
  napi_env env;
};

void OnWatchClosed(uv_handle_t* handle) {
  ExitWatch* w = static_cast<ExitWatch*>(handle->data);
  close(w->pidfd);
  delete w;
}

void OnPidfdReadable(uv_poll_t* handle, int status, int events) {
  ExitWatch* w = static_cast<ExitWatch*>(handle->data);
  int wstatus = 0;
  pid_t r;
  do r = waitpid(w->pid, &wstatus, WNOHANG); while (r < 0 && errno == EINTR);
  if (r == 0) return;  // not yet (spurious wake-up)
  uv_poll_stop(&w->poll);
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  Napi::Value code = env.Null(), signal = env.Null();
  if (r > 0 && WIFEXITED(wstatus)) code = Napi::Number::New(env, WEXITSTATUS(wstatus));
  if (r > 0 && WIFSIGNALED(wstatus)) signal = Napi::Number::New(env, WTERMSIG(wstatus));
  // MakeCallback (not Call) so that promises resolved by the callback run now.
  w->callback.MakeCallback(env.Global(), {code, signal}, *w->context);
  delete w->context;
  w->callback.Reset();
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), OnWatchClosed);
}

// watchExit(pid, pidfd, callback(code, signal)): calls back once when the child ends.
Napi::Value WatchExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  int pidfd = info[1].As<Napi::Number>().Int32Value();
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  ExitWatch* w = new ExitWatch;
  w->pid = pid;
  w->pidfd = pidfd;
  w->env = env;
  w->callback = Napi::Persistent(info[2].As<Napi::Function>());
  w->context = new Napi::AsyncContext(env, "diyc:exit");
  w->poll.data = w;
  int err = uv_poll_init(loop, &w->poll, pidfd);
  if (err == 0) err = uv_poll_start(&w->poll, UV_READABLE, OnPidfdReadable);
  if (err != 0) {
    delete w->context;
    w->callback.Reset();
    delete w;
    return ThrowErrno(env, -err, "uv_poll_start");
  }
  return env.Undefined();
}

// ---- one-to-one wrappers -----------------------------------------------------------

std::string Str(const Napi::CallbackInfo& info, size_t i) {
  return info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : std::string();
}

int Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }

// mount(source, target, fstype, flags, data)  — mount(2)
Napi::Value Mount(const Napi::CallbackInfo& info) {
  std::string source = Str(info, 0), target = Str(info, 1), fstype = Str(info, 2), data = Str(info, 4);
  unsigned long flags = static_cast<unsigned long>(info[3].As<Napi::Number>().DoubleValue());
  if (mount(info[0].IsString() ? source.c_str() : nullptr, target.c_str(),
            info[2].IsString() ? fstype.c_str() : nullptr, flags,
            info[4].IsString() ? data.c_str() : nullptr) < 0)
    return ThrowErrno(info.Env(), errno, "mount", target);
  return info.Env().Undefined();
}

// umount2(target, flags)  — umount2(2)
Napi::Value Umount2(const Napi::CallbackInfo& info) {
  std::string target = Str(info, 0);
  if (umount2(target.c_str(), Int(info, 1)) < 0) return ThrowErrno(info.Env(), errno, "umount2", target);
  return info.Env().Undefined();
}

// setns(path, nstype)  — setns(2) on the calling thread. Only namespaces a
// multithreaded process may join (net, uts, ipc) make sense from Node.
Napi::Value Setns(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 0);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ThrowErrno(info.Env(), errno, "open", path);
  int r = setns(fd, Int(info, 1));
  int err = errno;
  close(fd);
  if (r < 0) return ThrowErrno(info.Env(), err, "setns", path);
  return info.Env().Undefined();
}

// pivotRoot(newRoot, putOld)  — pivot_root(2)
Napi::Value PivotRoot(const Napi::CallbackInfo& info) {
  std::string new_root = Str(info, 0), put_old = Str(info, 1);
  if (syscall(SYS_pivot_root, new_root.c_str(), put_old.c_str()) < 0)
    return ThrowErrno(info.Env(), errno, "pivot_root", new_root);
  return info.Env().Undefined();
}

// sethostname(name)  — sethostname(2);  setdomainname(name) — setdomainname(2)
Napi::Value Sethostname(const Napi::CallbackInfo& info) {
  std::string name = Str(info, 0);
  if (sethostname(name.c_str(), name.size()) < 0) return ThrowErrno(info.Env(), errno, "sethostname");
  return info.Env().Undefined();
}
Napi::Value Setdomainname(const Napi::CallbackInfo& info) {
  std::string name = Str(info, 0);
  if (setdomainname(name.c_str(), name.size()) < 0) return ThrowErrno(info.Env(), errno, "setdomainname");
  return info.Env().Undefined();
}

// mknod(path, mode, major, minor)  — mknod(2); mode includes S_IFCHR / S_IFBLK / S_IFIFO
Napi::Value Mknod(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 0);
  mode_t mode = info[1].As<Napi::Number>().Uint32Value();
  dev_t dev = makedev(info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().Uint32Value());
  // mknodat as a raw system call: glibc's mknod symbol is from 2.33.
  if (syscall(SYS_mknodat, AT_FDCWD, path.c_str(), mode, dev) < 0) return ThrowErrno(info.Env(), errno, "mknod", path);
  return info.Env().Undefined();
}

// lsetxattr(path, name, value: Buffer)  — setxattr(2), not following a final symlink
Napi::Value Lsetxattr(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 0), name = Str(info, 1);
  Napi::Buffer<char> value = info[2].As<Napi::Buffer<char>>();
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), 0) < 0)
    return ThrowErrno(info.Env(), errno, "lsetxattr", path);
  return info.Env().Undefined();
}

// lgetxattr(path, name) -> Buffer | null (null when the attribute is absent)  — getxattr(2)
Napi::Value Lgetxattr(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 0), name = Str(info, 1);
  std::vector<char> buf(65536);
  ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
  if (n < 0) {
    if (errno == ENODATA) return info.Env().Null();
    return ThrowErrno(info.Env(), errno, "lgetxattr", path);
  }
  return Napi::Buffer<char>::Copy(info.Env(), buf.data(), static_cast<size_t>(n));
}

// llistxattr(path) -> string[]  — listxattr(2)
Napi::Value Llistxattr(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 0);
  std::vector<char> buf(65536);
  ssize_t n = llistxattr(path.c_str(), buf.data(), buf.size());
  if (n < 0) return ThrowErrno(info.Env(), errno, "llistxattr", path);
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t k = 0;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(buf.data() + i)) + 1) out.Set(k++, std::string(buf.data() + i));
  return out;
}

// statfsType(path) -> f_type  — statfs(2): tells which filesystem a path is on
Napi::Value StatfsType(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 0);
  struct statfs st;
  if (statfs(path.c_str(), &st) < 0) return ThrowErrno(info.Env(), errno, "statfs", path);
  return Napi::Number::New(info.Env(), static_cast<double>(st.f_type));
}

// setLinkUp(name, up)  — a network interface up or down in this network namespace, as
// `ip link set dev NAME up|down` does, without running ip(8): SIOCGIFFLAGS then SIOCSIFFLAGS
// with IFF_UP set or cleared, on a datagram socket (netdevice(7)).
Napi::Value SetLinkUp(const Napi::CallbackInfo& info) {
  std::string name = Str(info, 0);
  bool up = info[1].ToBoolean();
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string::npos)
    return ThrowErrno(info.Env(), EINVAL, "ioctl", name);
  memcpy(ifr.ifr_name, name.data(), name.size());
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowErrno(info.Env(), errno, "socket");
  int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (r == 0) {
    if (up) ifr.ifr_flags |= IFF_UP;
    else ifr.ifr_flags &= ~IFF_UP;
    r = ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  int err = errno;
  close(fd);
  if (r < 0) return ThrowErrno(info.Env(), err, "ioctl", name);
  return info.Env().Undefined();
}

// tcsetpgrp(fd, pgrp)  — tcsetpgrp(3), with SIGTTOU blocked: a background process
// group takes the terminal back after its foreground child ended.
Napi::Value Tcsetpgrp(const Napi::CallbackInfo& info) {
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  sigprocmask(SIG_BLOCK, &ttou, &old);
  int r = tcsetpgrp(Int(info, 0), Int(info, 1));
  int err = errno;
  sigprocmask(SIG_SETMASK, &old, nullptr);
  if (r < 0) return ThrowErrno(info.Env(), err, "tcsetpgrp");
  return info.Env().Undefined();
}

Napi::Value Getpgrp(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), getpgrp());
}

// resolveInRoot(rootFd, path, flags, mode) -> fd: `path` opened inside the directory
// rootFd as its `/` (openat2(2) RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, or a walk
// that does the same on older kernels; see child.cc).
Napi::Value ResolveInRootJs(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 1);
  int fd = diyc::ResolveInRoot(Int(info, 0), path.c_str(), Int(info, 2), static_cast<mode_t>(Int(info, 3)));
  if (fd < 0) return ThrowErrno(info.Env(), -fd, "openat2", path);
  return Napi::Number::New(info.Env(), fd);
}

// walkInRoot(rootFd, path, flags, mode) -> fd: resolveInRoot's fallback for kernels
// before 5.6, on its own, so that tests can hold it to the same answers.
Napi::Value WalkInRootJs(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 1);
  int fd = diyc::WalkInRoot(Int(info, 0), path.c_str(), Int(info, 2) | O_CLOEXEC, static_cast<mode_t>(Int(info, 3)));
  if (fd < 0) return ThrowErrno(info.Env(), -fd, "open", path);
  return Napi::Number::New(info.Env(), fd);
}

// mkdirInRoot(rootFd, path, mode) -> O_PATH fd: the directory made, with its parents,
// inside the root as resolveInRoot resolves it.
Napi::Value MkdirInRootJs(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 1);
  int fd = diyc::MkdirInRoot(Int(info, 0), path.c_str(), static_cast<mode_t>(Int(info, 2)));
  if (fd < 0) return ThrowErrno(info.Env(), -fd, "mkdir", path);
  return Napi::Number::New(info.Env(), fd);
}

// mkdirat(dirFd, name, mode)  — mkdirat(2); an existing directory is not an error
Napi::Value Mkdirat(const Napi::CallbackInfo& info) {
  std::string name = Str(info, 1);
  if (mkdirat(Int(info, 0), name.c_str(), static_cast<mode_t>(Int(info, 2))) < 0 && errno != EEXIST)
    return ThrowErrno(info.Env(), errno, "mkdirat", name);
  return info.Env().Undefined();
}

// unlinkat(dirFd, name, flags)  — unlinkat(2)
Napi::Value Unlinkat(const Napi::CallbackInfo& info) {
  std::string name = Str(info, 1);
  if (unlinkat(Int(info, 0), name.c_str(), Int(info, 2)) < 0) return ThrowErrno(info.Env(), errno, "unlinkat", name);
  return info.Env().Undefined();
}

// openat(dirFd, name, flags, mode) -> fd  — openat(2), close-on-exec
Napi::Value Openat(const Napi::CallbackInfo& info) {
  std::string name = Str(info, 1);
  int fd = openat(Int(info, 0), name.c_str(), Int(info, 2) | O_CLOEXEC, static_cast<mode_t>(Int(info, 3)));
  if (fd < 0) return ThrowErrno(info.Env(), errno, "openat", name);
  return Napi::Number::New(info.Env(), fd);
}

// ---- seccomp -----------------------------------------------------------------------

#ifdef DIYC_HAVE_SECCOMP
// A failed libseccomp call: its errno (0: none failed), its name, what it was about.
struct SeccompFailure {
  int err = 0;
  const char* call = "";
  std::string what;
};

// The architectures the filter covers besides the native one (seccomp_init's).
SeccompFailure AddArchitectures(scmp_filter_ctx ctx, const Napi::Array& arches) {
  for (uint32_t i = 0; i < arches.Length(); i++) {
    std::string name = arches.Get(i).ToString().Utf8Value();
    uint32_t arch = seccomp_arch_resolve_name(name.c_str());
    if (arch == 0) return {EINVAL, "seccomp_arch_resolve_name", name};
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) return {-rc, "seccomp_arch_add", name};
  }
  return {};
}

// For each architecture, the highest number among the calls the profile names: the
// -ENOSYS stub seccomp.ts puts in front answers the calls above it (newer than the profile).
Napi::Object HighestSyscalls(Napi::Env env, const Napi::Array& arches, const Napi::Array& rules) {
  Napi::Object last = Napi::Object::New(env);
  for (uint32_t i = 0; i < arches.Length(); i++) {
    std::string name = arches.Get(i).ToString().Utf8Value();
    uint32_t arch = seccomp_arch_resolve_name(name.c_str());
    int highest = 0;
    for (uint32_t r = 0; r < rules.Length(); r++) {
      Napi::Array names = ArrayField(rules.Get(r).As<Napi::Object>(), "names");
      for (uint32_t k = 0; k < names.Length(); k++) {
        std::string call = names.Get(k).ToString().Utf8Value();
        int nr = seccomp_syscall_resolve_name_arch(arch, call.c_str());
        if (nr > highest) highest = nr;  // __NR_SCMP_ERROR and the pseudo-numbers are negative
      }
    }
    last.Set(name, highest);
  }
  return last;
}

// A rule's conditions on the call's arguments, and whether two are on one argument.
std::vector<scmp_arg_cmp> RuleArgs(const Napi::Object& rule, bool* same_index_twice) {
  std::vector<scmp_arg_cmp> args;
  Napi::Array raw = ArrayField(rule, "args");
  *same_index_twice = false;
  for (uint32_t k = 0; k < raw.Length(); k++) {
    Napi::Object a = raw.Get(k).As<Napi::Object>();
    scmp_arg_cmp cmp;
    cmp.arg = static_cast<unsigned int>(NumberField(a, "index", 0));
    cmp.op = static_cast<scmp_compare>(NumberField(a, "op", SCMP_CMP_EQ));
    cmp.datum_a = BigField(a, "value");
    cmp.datum_b = BigField(a, "valueTwo");
    for (const scmp_arg_cmp& prev : args) *same_index_twice |= prev.arg == cmp.arg;
    args.push_back(cmp);
  }
  return args;
}

// The profile's rules. A name this libseccomp does not know is left out, into `skipped`.
SeccompFailure AddRules(scmp_filter_ctx ctx, const Napi::Array& rules, uint32_t default_action, std::vector<std::string>* skipped) {
  for (uint32_t i = 0; i < rules.Length(); i++) {
    Napi::Object rule = rules.Get(i).As<Napi::Object>();
    uint32_t action = static_cast<uint32_t>(NumberField(rule, "action", 0));
    if (action == default_action) continue;  // libseccomp refuses a rule that changes nothing
    bool same_index_twice;
    std::vector<scmp_arg_cmp> args = RuleArgs(rule, &same_index_twice);
    Napi::Array names = ArrayField(rule, "names");
    for (uint32_t k = 0; k < names.Length(); k++) {
      std::string name = names.Get(k).ToString().Utf8Value();
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        skipped->push_back(name);
        continue;
      }
      int rc = 0;
      if (same_index_twice) {
        // libseccomp cannot AND two conditions on one argument: one rule each (runc).
        for (const scmp_arg_cmp& cmp : args) {
          rc = seccomp_rule_add_array(ctx, action, nr, 1, &cmp);
          if (rc < 0) break;
        }
      } else {
        rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned int>(args.size()), args.data());
      }
      if (rc < 0) return {-rc, "seccomp_rule_add", name};
    }
  }
  return {};
}

// The compiled program: seccomp_export_bpf writes to a descriptor, here a memfd.
SeccompFailure ExportBpf(scmp_filter_ctx ctx, std::vector<char>* program) {
  int memfd = static_cast<int>(syscall(SYS_memfd_create, "diyc-seccomp", 1 /* MFD_CLOEXEC */));
  if (memfd < 0) return {errno, "memfd_create", ""};
  int rc = seccomp_export_bpf(ctx, memfd);
  if (rc < 0) {
    close(memfd);
    return {-rc, "seccomp_export_bpf", ""};
  }
  off_t size = lseek(memfd, 0, SEEK_END);
  program->resize(static_cast<size_t>(size > 0 ? size : 0));
  ssize_t got = pread(memfd, program->data(), program->size(), 0);
  close(memfd);
  if (got != static_cast<ssize_t>(program->size())) return {EIO, "seccomp_export_bpf", ""};
  return {};
}
#endif

// compileSeccomp({defaultAction, architectures, syscalls: [{names, action, args}]})
//   -> { program: Buffer (struct sock_filter[]), skipped: string[],
//        lastSyscalls: {[arch]: number} }
// lastSyscalls: for each architecture named, the highest system call number the rules
// name there (every rule, whatever its action; names unknown there left out): what
// seccomp.ts needs for runc's -ENOSYS stub.
// libseccomp (what runc, crun and youki use) turns the OCI form into a BPF program;
// the child loads it with seccomp(2) itself, right before execve. Names the running
// libseccomp does not know are skipped and listed, as runc does.
Napi::Value CompileSeccomp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifndef DIYC_HAVE_SECCOMP
  Napi::Error e = Napi::Error::New(env, "@diyc/syscalls was built without libseccomp: install libseccomp-dev and rebuild it (or run without a seccomp profile)");
  e.Set("code", "ENOSECCOMP");
  e.ThrowAsJavaScriptException();
  return env.Undefined();
#else
  Napi::Object profile = info[0].As<Napi::Object>();
  uint32_t default_action = static_cast<uint32_t>(NumberField(profile, "defaultAction", 0));
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (ctx == nullptr) return ThrowErrno(env, EINVAL, "seccomp_init");
  struct Release { scmp_filter_ctx c; ~Release() { seccomp_release(c); } } release{ctx};
  // No no_new_privs from libseccomp: the plan decides it (OCI noNewPrivileges).
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  // A binary tree sorted by system call number (libseccomp 2.5): each call the
  // container makes is checked in a few steps instead of a walk down the whole list.
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  Napi::Array arches = ArrayField(profile, "architectures");
  Napi::Array rules = ArrayField(profile, "syscalls");
  std::vector<std::string> skipped;
  std::vector<char> program;
  SeccompFailure failed = AddArchitectures(ctx, arches);
  if (failed.err == 0) failed = AddRules(ctx, rules, default_action, &skipped);
  if (failed.err == 0) failed = ExportBpf(ctx, &program);
  if (failed.err != 0) return ThrowErrno(env, failed.err, failed.call, failed.what);
  Napi::Object out = Napi::Object::New(env);
  out.Set("program", Napi::Buffer<char>::Copy(env, program.data(), program.size()));
  Napi::Array names = Napi::Array::New(env, skipped.size());
  for (uint32_t i = 0; i < skipped.size(); i++) names.Set(i, skipped[i]);
  out.Set("skipped", names);
  out.Set("lastSyscalls", HighestSyscalls(env, arches, rules));
  return out;
#endif
}

// seccompVersion() -> "2.5.4" | null (built without libseccomp)
Napi::Value SeccompVersion(const Napi::CallbackInfo& info) {
#ifdef DIYC_HAVE_SECCOMP
  const scmp_version* v = seccomp_version();
  return Napi::String::New(info.Env(), std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->micro));
#else
  return info.Env().Null();
#endif
}

// ---- cgroup v2 device filter -------------------------------------------------------

long Bpf(int cmd, union bpf_attr* attr) {
  return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

// attachDeviceFilter(cgroupDir, instructions: Buffer): loads a
// BPF_PROG_TYPE_CGROUP_DEVICE program (bpf(2)) and attaches it to a cgroup v2
// directory, replacing the programs this call attached there before. The program
// itself (which devices are allowed) is made in TypeScript (device-filter.ts).
Napi::Value AttachDeviceFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = Str(info, 0);
  Napi::Buffer<uint8_t> insns = info[1].As<Napi::Buffer<uint8_t>>();
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return ThrowErrno(env, errno, "open", dir);
  static char license[] = "Apache";
  std::vector<char> log(64 * 1024);
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(insns.Data());
  attr.insn_cnt = static_cast<uint32_t>(insns.Length() / sizeof(struct bpf_insn));
  attr.license = reinterpret_cast<uint64_t>(license);
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  int prog = static_cast<int>(Bpf(BPF_PROG_LOAD, &attr));
  if (prog < 0) {
    int err = errno;
    close(dir_fd);
    std::string verifier(log.data());
    return ThrowErrno(env, err, "bpf(BPF_PROG_LOAD)", verifier.empty() ? dir : verifier);
  }
  fcntl(prog, F_SETFD, FD_CLOEXEC);
  uint32_t ids[64];
  memset(&attr, 0, sizeof attr);
  attr.query.target_fd = static_cast<uint32_t>(dir_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uint64_t>(ids);
  attr.query.prog_cnt = 64;
  uint32_t old_count = Bpf(BPF_PROG_QUERY, &attr) == 0 ? attr.query.prog_cnt : 0;
  memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(dir_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &attr) < 0) {
    int err = errno;
    close(prog);
    close(dir_fd);
    return ThrowErrno(env, err, "bpf(BPF_PROG_ATTACH)", dir);
  }
  // The new program is in place before the old ones go: no moment without a filter.
  for (uint32_t i = 0; i < old_count && i < 64; i++) {
    memset(&attr, 0, sizeof attr);
    attr.prog_id = ids[i];
    int old = static_cast<int>(Bpf(BPF_PROG_GET_FD_BY_ID, &attr));
    if (old < 0) continue;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(dir_fd);
    attr.attach_bpf_fd = static_cast<uint32_t>(old);
    attr.attach_type = BPF_CGROUP_DEVICE;
    Bpf(BPF_PROG_DETACH, &attr);
    close(old);
  }
  close(prog);
  close(dir_fd);
  return env.Undefined();
}

// ---- terminals -----------------------------------------------------------------------

// socketpair() -> [fd, fd]: a connected pair of unix stream sockets, close-on-exec
// (socketpair(2)). A container's first process sends its pty's master over one end.
Napi::Value Socketpair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) return ThrowErrno(info.Env(), errno, "socketpair");
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, fds[0]);
  out.Set(1u, fds[1]);
  return out;
}

// recvFd(socket) -> fd | null: the descriptor sent with SCM_RIGHTS on `socket`
// (recvmsg(2), unix(7)), close-on-exec; null when the peer closed without sending one.
Napi::Value RecvFd(const Napi::CallbackInfo& info) {
  int sock = Int(info, 0);
  char data[64];
  struct iovec iov = {data, sizeof data};
  char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
  if (n < 0) return ThrowErrno(info.Env(), errno, "recvmsg");
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return Napi::Number::New(info.Env(), fd);
    }
  }
  return info.Env().Null();
}

// getWindowSize(fd) -> [rows, cols] | null: TIOCGWINSZ; null when fd is not a terminal.
Napi::Value GetWindowSize(const Napi::CallbackInfo& info) {
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  if (ioctl(Int(info, 0), TIOCGWINSZ, &ws) < 0) return info.Env().Null();
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, ws.ws_row);
  out.Set(1u, ws.ws_col);
  return out;
}

// sendfile(outFd, inFd, offset, length) -> bytes copied: LENGTH bytes of IN_FD from OFFSET
// into OUT_FD at its file offset, inside the kernel (sendfile(2)): a tar body goes from the
// archive's page cache to the new file without a copy through this process. Fewer than
// LENGTH only at the end of IN_FD. IN_FD's own offset does not move.
// https://man7.org/linux/man-pages/man2/sendfile.2.html
Napi::Value Sendfile(const Napi::CallbackInfo& info) {
  int out_fd = Int(info, 0), in_fd = Int(info, 1);
  off_t offset = static_cast<off_t>(info[2].As<Napi::Number>().Int64Value());
  int64_t left = info[3].As<Napi::Number>().Int64Value();
  int64_t copied = 0;
  while (left > 0) {
    ssize_t n = sendfile(out_fd, in_fd, &offset, static_cast<size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ThrowErrno(info.Env(), errno, "sendfile");
    if (n == 0) break;  // the end of IN_FD
    copied += n;
    left -= n;
  }
  return Napi::Number::New(info.Env(), static_cast<double>(copied));
}

// Seconds (with a fraction, as pax headers give them) as a timespec, the way libuv turns
// node:fs's times into one (uv__fs_to_timespec), so that both paths set the same times: to
// the microsecond, the nanoseconds dropped. False for a time no time_t holds (a pax header
// may say 1e300): libuv's cast of one is undefined, and futimens(2) answered EINVAL.
bool SecondsToTimespec(double t, struct timespec* ts) {
  if (!(t > -9.2e18 && t < 9.2e18)) return false;
  ts->tv_sec = static_cast<time_t>(t);
  long nsec = static_cast<long>((t - static_cast<double>(ts->tv_sec)) * 1e9);
  nsec -= nsec % 1000;
  if (nsec < 0) {
    ts->tv_sec -= 1;
    nsec += 1000000000;
  }
  ts->tv_nsec = nsec;
  return true;
}

// writeNewFile(path, mode, data, start, end, uid, gid, atime, mtime): one file of an image
// layer in one call: open(2) with O_CREAT|O_EXCL|O_NOFOLLOW (never an existing file, never
// through a symlink) and MODE (the caller's umask is 0), its body data[start, end) written
// out, then, when UID is not -1, fchown(2) and fchmod(2) again (chown clears the setuid and
// setgid bits), futimens(2) and close(2). Six node:fs calls did this, each with its checks,
// its error object and its round trip: that cost more than the system calls in a layer of
// small files. A failure closes the file and throws, naming the call; the caller removes
// the layer. https://man7.org/linux/man-pages/man2/open.2.html
Napi::Value WriteNewFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = Str(info, 0);
  mode_t mode = static_cast<mode_t>(Int(info, 1));
  Napi::Buffer<char> data = info[2].As<Napi::Buffer<char>>();
  size_t start = static_cast<size_t>(info[3].As<Napi::Number>().Int64Value());
  size_t end = static_cast<size_t>(info[4].As<Napi::Number>().Int64Value());
  // -1: leave the owner (the wrapper checked the others are uid_t's).
  int64_t uid = info[5].As<Napi::Number>().Int64Value(), gid = info[6].As<Napi::Number>().Int64Value();
  struct timespec times[2];
  if (!SecondsToTimespec(info[7].As<Napi::Number>().DoubleValue(), &times[0]) ||
      !SecondsToTimespec(info[8].As<Napi::Number>().DoubleValue(), &times[1]))
    return ThrowErrno(env, EINVAL, "futimens", path);
  // A NUL would end the path open(2) reads before the one the caller checked.
  if (path.find('\0') != std::string::npos) return ThrowErrno(env, EINVAL, "open", path);
  if (start > end || end > data.Length()) return ThrowErrno(env, EINVAL, "write", path);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return ThrowErrno(env, errno, "open", path);
  const char* failed = nullptr;
  for (size_t off = start; off < end && failed == nullptr;) {
    ssize_t n = write(fd, data.Data() + off, end - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) failed = "write";
    else off += static_cast<size_t>(n);
  }
  if (failed == nullptr && uid != -1 &&
      (fchown(fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid)) < 0 || fchmod(fd, mode) < 0))
    failed = "fchown";
  if (failed == nullptr && futimens(fd, times) < 0) failed = "futimens";
  int err = errno;
  if (close(fd) < 0 && failed == nullptr) {
    failed = "close";
    err = errno;
  }
  if (failed != nullptr) return ThrowErrno(env, err, failed, path);
  return env.Undefined();
}

// pipe() -> [readFd, writeFd], both close-on-exec (pipe2(2)).
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return ThrowErrno(info.Env(), errno, "pipe2");
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, fds[0]);
  out.Set(1u, fds[1]);
  return out;
}

// setWindowSize(fd, rows, cols): TIOCSWINSZ on a terminal (ioctl_tty(2)); the
// foreground process group of its other end gets SIGWINCH.
Napi::Value SetWindowSize(const Napi::CallbackInfo& info) {
  struct winsize ws;
  memset(&ws, 0, sizeof ws);
  ws.ws_row = static_cast<unsigned short>(Int(info, 1));
  ws.ws_col = static_cast<unsigned short>(Int(info, 2));
  if (ioctl(Int(info, 0), TIOCSWINSZ, &ws) < 0) return ThrowErrno(info.Env(), errno, "ioctl(TIOCSWINSZ)");
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory));
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("go", Napi::Function::New(env, Go));
  exports.Set("pidfdGetfd", Napi::Function::New(env, PidfdGetfd));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal));
  exports.Set("sendWithFd", Napi::Function::New(env, SendWithFd));
  exports.Set("readMessage", Napi::Function::New(env, ReadMessage));
  exports.Set("watchExit", Napi::Function::New(env, WatchExit));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount2", Napi::Function::New(env, Umount2));
  exports.Set("setns", Napi::Function::New(env, Setns));
  exports.Set("pivotRoot", Napi::Function::New(env, PivotRoot));
  exports.Set("sethostname", Napi::Function::New(env, Sethostname));
  exports.Set("setdomainname", Napi::Function::New(env, Setdomainname));
  exports.Set("mknod", Napi::Function::New(env, Mknod));
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr));
  exports.Set("sendfile", Napi::Function::New(env, Sendfile));
  exports.Set("writeNewFile", Napi::Function::New(env, WriteNewFile));
  exports.Set("sha256File", Napi::Function::New(env, diyc::Sha256File));
  exports.Set("relay", Napi::Function::New(env, diyc::Relay));
  exports.Set("stopRelay", Napi::Function::New(env, diyc::StopRelay));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr));
  exports.Set("llistxattr", Napi::Function::New(env, Llistxattr));
  exports.Set("statfsType", Napi::Function::New(env, StatfsType));
  exports.Set("setLinkUp", Napi::Function::New(env, SetLinkUp));
  exports.Set("tcsetpgrp", Napi::Function::New(env, Tcsetpgrp));
  exports.Set("getpgrp", Napi::Function::New(env, Getpgrp));
  exports.Set("socketpair", Napi::Function::New(env, Socketpair));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize));
  exports.Set("getWindowSize", Napi::Function::New(env, GetWindowSize));
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("resolveInRoot", Napi::Function::New(env, ResolveInRootJs));
  exports.Set("walkInRoot", Napi::Function::New(env, WalkInRootJs));
  exports.Set("mkdirat", Napi::Function::New(env, Mkdirat));
  exports.Set("mkdirInRoot", Napi::Function::New(env, MkdirInRootJs));
  exports.Set("unlinkat", Napi::Function::New(env, Unlinkat));
  exports.Set("openat", Napi::Function::New(env, Openat));
  exports.Set("compileSeccomp", Napi::Function::New(env, CompileSeccomp));
  exports.Set("seccompVersion", Napi::Function::New(env, SeccompVersion));
  exports.Set("attachDeviceFilter", Napi::Function::New(env, AttachDeviceFilter));
  return exports;
}

}  // namespace

NODE_API_MODULE(diyc_syscalls, Init)

// GCC 11's headers call this from std::vector; its libstdc++ symbol (GLIBCXX_3.4.29) is
// missing on older systems. Defined here, the addon does not need it from libstdc++.
namespace std {
[[noreturn]] void __throw_bad_array_new_length() { abort(); }
}  // namespace std
