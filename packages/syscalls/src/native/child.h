// The plan a container's first process runs between clone() and execve().
//
// Everything here is plain C data, converted from JavaScript before clone(): the
// child may not touch N-API, V8 or the allocator (see child.cc).
#pragma once

#include <sys/types.h>
#include <stdint.h>

namespace diyc {

// One step of the mount list, run in order after `/` is made private.
enum MountOp : int32_t {
  kOpMount = 0,    // mount(source, target, fstype, flags, data)
  kOpMkdir = 1,    // mkdir(target, mode); an existing directory is fine
  kOpSymlink = 2,  // symlink(source, target); an existing link is fine
  kOpMknod = 3,    // mknod(target, mode, dev); an existing node is fine
};

struct MountStep {
  MountOp op;
  const char* source;  // mount source, or the symlink's contents
  const char* target;  // the path the step makes or mounts on
  const char* fstype;
  unsigned long flags;
  const char* data;
  uint32_t mode;       // mkdir / mknod mode (mknod: with S_IFCHR, S_IFBLK or S_IFIFO)
  dev_t dev;           // mknod device
};

struct NamespaceJoin {
  const char* path;    // /proc/PID/ns/net, /run/netns/NAME, ...
  int nstype;          // CLONE_NEWNET, ...
};

struct ChildPlan {
  int clone_flags;                // namespaces made by clone(): CLONE_NEW*
  const NamespaceJoin* joins;     // namespaces joined by setns(), in order
  int n_joins;
  const char* const* cgroup_procs;  // cgroup.procs files the child writes itself into
  int n_cgroup_procs;
  bool new_cgroupns;              // unshare(CLONE_NEWCGROUP) once inside the cgroup
  const char* hostname;           // null: unchanged
  const char* domainname;
  bool make_root_private;         // mount --make-rprivate /
  const MountStep* mounts;
  int n_mounts;
  const char* root;               // pivot_root into this directory; null: stay
  const char* cwd;                // null: "/" after pivot, unchanged otherwise
  long uid, gid;                  // -1: unchanged
  const char* const* argv;
  const char* const* envp;
  const char* path;               // PATH used to find argv[0] (from envp)
  int stdio[3];                   // dup2()ed onto 0, 1, 2; -1: inherited
  bool setsid;                    // new session (detached containers)
  bool foreground;                // own process group, made the terminal's foreground
  int hold_fd;                    // read end: wait for one byte before step one; -1: none
  int error_fd;                   // write end, close-on-exec: a ChildError on failure
};

// Steps a failure can name. The TypeScript side has the same list (child-steps.ts).
enum Step : int32_t {
  kStepHold = 0,
  kStepOpenNs,
  kStepSetns,
  kStepFork,
  kStepCgroup,
  kStepUnshare,  // (the order of this list is the wire format, not the run order)
  kStepSethostname,
  kStepSetdomainname,
  kStepMakePrivate,
  kStepMount,
  kStepMkdir,
  kStepSymlink,
  kStepMknod,
  kStepPivotRoot,
  kStepChdir,
  kStepSetgroups,
  kStepSetgid,
  kStepSetuid,
  kStepStdio,
  kStepSetsid,
  kStepTerminal,
  kStepExecve,
};

// What the child writes to error_fd when a step fails: fixed size, one write().
struct ChildError {
  int32_t step;
  int32_t index;  // which join / cgroup file / mount step, or -1
  int32_t err;    // errno
};

// clone() a child that runs `plan`. Returns its pid (in the caller's PID namespace)
// or -errno. Signals are blocked around clone() so no handler of Node's runs in it.
pid_t SpawnChild(const ChildPlan& plan);

}  // namespace diyc
