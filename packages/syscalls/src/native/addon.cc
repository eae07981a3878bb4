// N-API glue: converts JavaScript values to C, calls the kernel, and turns errno into
// Errors shaped like Node's own fs errors ({errno, code, syscall, path}). Policy (what
// to mount, which namespaces) lives in TypeScript; this file only does what it is told.

#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <ctype.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <deque>
#include <string>
#include <vector>

#include "child.h"

namespace {

// ---- errors ------------------------------------------------------------------------

Napi::Error ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path) {
  const char* code = strerrorname_np(err);
  // Node's messages read "ENOENT: no such file or directory, open '/x'": lower-case.
  std::string text = strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(tolower(text[0]));
  std::string message = std::string(code ? code : "UNKNOWN") + ": " + text + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("errno", Napi::Number::New(env, -err));  // negative, as in Node's fs errors
  e.Set("code", Napi::String::New(env, code ? code : "UNKNOWN"));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", Napi::String::New(env, path));
  return e;
}

Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const std::string& path = "") {
  ErrnoError(env, err, syscall, path).ThrowAsJavaScriptException();
  return env.Undefined();
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

// Owns every string and array the ChildPlan points into. A deque keeps the addresses
// of its strings stable as it grows.
struct PlanStorage {
  std::deque<std::string> strings;
  std::vector<diyc::NamespaceJoin> joins;
  std::vector<const char*> cgroup_procs, argv, envp;
  std::vector<diyc::MountStep> mounts;

  const char* Keep(std::string s) {
    strings.push_back(std::move(s));
    return strings.back().c_str();
  }
  std::vector<const char*> StringArray(const Napi::Object& o, const char* key) {
    std::vector<const char*> out;
    Napi::Value v = o.Get(key);
    if (v.IsArray()) {
      Napi::Array a = v.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); i++) out.push_back(Keep(a.Get(i).ToString().Utf8Value()));
    }
    return out;
  }
};

// The plan object comes from TypeScript (native-plan.ts), already validated there.
diyc::ChildPlan ConvertPlan(const Napi::Object& o, PlanStorage& s) {
  diyc::ChildPlan p;
  memset(&p, 0, sizeof p);
  p.clone_flags = static_cast<int>(NumberField(o, "cloneFlags", 0));

  Napi::Value joins = o.Get("joins");
  if (joins.IsArray()) {
    Napi::Array a = joins.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Object j = a.Get(i).As<Napi::Object>();
      s.joins.push_back({s.Keep(StringField(j, "path")), static_cast<int>(NumberField(j, "nstype", 0))});
    }
  }
  p.joins = s.joins.data();
  p.n_joins = static_cast<int>(s.joins.size());

  s.cgroup_procs = s.StringArray(o, "cgroupProcs");
  p.cgroup_procs = s.cgroup_procs.data();
  p.n_cgroup_procs = static_cast<int>(s.cgroup_procs.size());
  p.new_cgroupns = BoolField(o, "newCgroupns");
  p.hostname = HasString(o, "hostname") ? s.Keep(StringField(o, "hostname")) : nullptr;
  p.domainname = HasString(o, "domainname") ? s.Keep(StringField(o, "domainname")) : nullptr;
  p.make_root_private = BoolField(o, "makeRootPrivate");

  Napi::Value mounts = o.Get("mounts");
  if (mounts.IsArray()) {
    Napi::Array a = mounts.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Object m = a.Get(i).As<Napi::Object>();
      diyc::MountStep step;
      step.op = static_cast<diyc::MountOp>(NumberField(m, "op", 0));
      step.source = HasString(m, "source") ? s.Keep(StringField(m, "source")) : nullptr;
      step.target = s.Keep(StringField(m, "target"));
      step.fstype = HasString(m, "fstype") ? s.Keep(StringField(m, "fstype")) : nullptr;
      step.flags = static_cast<unsigned long>(NumberField(m, "flags", 0));
      step.data = HasString(m, "data") ? s.Keep(StringField(m, "data")) : nullptr;
      step.mode = static_cast<uint32_t>(NumberField(m, "mode", 0));
      step.dev = makedev(static_cast<unsigned>(NumberField(m, "major", 0)),
                         static_cast<unsigned>(NumberField(m, "minor", 0)));
      s.mounts.push_back(step);
    }
  }
  p.mounts = s.mounts.data();
  p.n_mounts = static_cast<int>(s.mounts.size());

  p.root = HasString(o, "root") ? s.Keep(StringField(o, "root")) : nullptr;
  p.cwd = HasString(o, "cwd") ? s.Keep(StringField(o, "cwd")) : nullptr;
  p.uid = static_cast<long>(NumberField(o, "uid", -1));
  p.gid = static_cast<long>(NumberField(o, "gid", -1));

  s.argv = s.StringArray(o, "argv");
  s.argv.push_back(nullptr);
  s.envp = s.StringArray(o, "env");
  s.envp.push_back(nullptr);
  p.argv = s.argv.data();
  p.envp = s.envp.data();
  p.path = HasString(o, "path") ? s.Keep(StringField(o, "path")) : nullptr;

  Napi::Value stdio = o.Get("stdio");
  for (int i = 0; i < 3; i++) {
    p.stdio[i] = -1;
    if (stdio.IsArray()) {
      Napi::Value fd = stdio.As<Napi::Array>().Get(i);
      if (fd.IsNumber()) p.stdio[i] = fd.As<Napi::Number>().Int32Value();
    }
  }
  p.setsid = BoolField(o, "setsid");
  p.foreground = BoolField(o, "foreground");
  return p;
}

// ---- spawn -------------------------------------------------------------------------

// spawn(plan) -> { pid, pidfd, holdFd, errorFd }
// With plan.hold the child waits before its first step until release() is called.
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "spawn(plan): plan must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  PlanStorage storage;
  diyc::ChildPlan plan = ConvertPlan(o, storage);
  if (plan.argv[0] == nullptr) {
    Napi::TypeError::New(env, "spawn(plan): argv must not be empty").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  int error_pipe[2], hold_pipe[2] = {-1, -1};
  if (pipe2(error_pipe, O_CLOEXEC) < 0) return ThrowErrno(env, errno, "pipe2");
  bool hold = BoolField(o, "hold");
  if (hold && pipe2(hold_pipe, O_CLOEXEC) < 0) {
    int err = errno;
    close(error_pipe[0]);
    close(error_pipe[1]);
    return ThrowErrno(env, err, "pipe2");
  }
  plan.error_fd = error_pipe[1];
  plan.hold_fd = hold_pipe[0];

  pid_t pid = diyc::SpawnChild(plan);
  close(error_pipe[1]);
  if (hold) close(hold_pipe[0]);
  if (pid < 0) {
    close(error_pipe[0]);
    if (hold) close(hold_pipe[1]);
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
  return result;
}

// release(holdFd, errorFd) -> null | [step, index, errno]
// Lets a held child go (holdFd >= 0), then reads the error pipe until the child has
// exec'd (end of file) or reported the step that failed. The steps before execve are
// a handful of system calls, so this short blocking read is the simplest correct way.
Napi::Value Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int hold_fd = info[0].As<Napi::Number>().Int32Value();
  int error_fd = info[1].As<Napi::Number>().Int32Value();
  if (hold_fd >= 0) {
    char go = 1;
    ssize_t ignored = write(hold_fd, &go, 1);
    (void)ignored;
    close(hold_fd);
  }
  diyc::ChildError e;
  ssize_t n;
  do n = read(error_fd, &e, sizeof e); while (n < 0 && errno == EINTR);
  close(error_fd);
  if (n != static_cast<ssize_t>(sizeof e)) return env.Null();
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, e.step);
  out.Set(1u, e.index);
  out.Set(2u, e.err);
  return out;
}

// Closes the hold pipe without the "go" byte: a held child then exits quietly.
Napi::Value Abandon(const Napi::CallbackInfo& info) {
  close(info[0].As<Napi::Number>().Int32Value());
  close(info[1].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
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
  if (umount2(target.c_str(), info[1].As<Napi::Number>().Int32Value()) < 0)
    return ThrowErrno(info.Env(), errno, "umount2", target);
  return info.Env().Undefined();
}

// setns(path, nstype)  — setns(2) on the calling thread. Only namespaces a
// multithreaded process may join (net, uts, ipc) make sense from Node.
Napi::Value Setns(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 0);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ThrowErrno(info.Env(), errno, "open", path);
  int r = setns(fd, info[1].As<Napi::Number>().Int32Value());
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
  if (mknod(path.c_str(), mode, dev) < 0) return ThrowErrno(info.Env(), errno, "mknod", path);
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
  char buf[65536];
  ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf, sizeof buf);
  if (n < 0) {
    if (errno == ENODATA) return info.Env().Null();
    return ThrowErrno(info.Env(), errno, "lgetxattr", path);
  }
  return Napi::Buffer<char>::Copy(info.Env(), buf, static_cast<size_t>(n));
}

// llistxattr(path) -> string[]  — listxattr(2)
Napi::Value Llistxattr(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 0);
  char buf[65536];
  ssize_t n = llistxattr(path.c_str(), buf, sizeof buf);
  if (n < 0) return ThrowErrno(info.Env(), errno, "llistxattr", path);
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t k = 0;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(buf + i)) + 1) out.Set(k++, std::string(buf + i));
  return out;
}

// statfsType(path) -> f_type  — statfs(2): tells which filesystem a path is on
Napi::Value StatfsType(const Napi::CallbackInfo& info) {
  std::string path = Str(info, 0);
  struct statfs st;
  if (statfs(path.c_str(), &st) < 0) return ThrowErrno(info.Env(), errno, "statfs", path);
  return Napi::Number::New(info.Env(), static_cast<double>(st.f_type));
}

// tcsetpgrp(fd, pgrp)  — tcsetpgrp(3), with SIGTTOU blocked: a background process
// group takes the terminal back after its foreground child ended.
Napi::Value Tcsetpgrp(const Napi::CallbackInfo& info) {
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &old);
  int r = tcsetpgrp(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  int err = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (r < 0) return ThrowErrno(info.Env(), err, "tcsetpgrp");
  return info.Env().Undefined();
}

Napi::Value Getpgrp(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), getpgrp());
}

Napi::Value Strerror(const Napi::CallbackInfo& info) {
  int err = info[0].As<Napi::Number>().Int32Value();
  const char* code = strerrorname_np(err);
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, code ? code : "UNKNOWN");
  out.Set(1u, strerror(err));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("release", Napi::Function::New(env, Release));
  exports.Set("abandon", Napi::Function::New(env, Abandon));
  exports.Set("watchExit", Napi::Function::New(env, WatchExit));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount2", Napi::Function::New(env, Umount2));
  exports.Set("setns", Napi::Function::New(env, Setns));
  exports.Set("pivotRoot", Napi::Function::New(env, PivotRoot));
  exports.Set("sethostname", Napi::Function::New(env, Sethostname));
  exports.Set("setdomainname", Napi::Function::New(env, Setdomainname));
  exports.Set("mknod", Napi::Function::New(env, Mknod));
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr));
  exports.Set("llistxattr", Napi::Function::New(env, Llistxattr));
  exports.Set("statfsType", Napi::Function::New(env, StatfsType));
  exports.Set("tcsetpgrp", Napi::Function::New(env, Tcsetpgrp));
  exports.Set("getpgrp", Napi::Function::New(env, Getpgrp));
  exports.Set("strerror", Napi::Function::New(env, Strerror));
  return exports;
}

}  // namespace

NODE_API_MODULE(diyc_syscalls, Init)
