// The plan a container's first process runs between clone() and execve().
//
// Everything here is plain C data, converted from JavaScript before clone(): the
// child may not touch N-API, V8 or the allocator (see child.cc).
#pragma once

#include <linux/filter.h>
#include <stdint.h>
#include <sys/types.h>

namespace diyc {

// One step of the filesystem list, run in order once `/` is private and the root is a
// mount of its own. Every target is a path inside the root, resolved there by
// ResolveInRoot (child.cc): a symlink in the image never leads a step out of it.
enum FsOp : int32_t {
  kFsMount = 0,    // mount(source, target, fstype, flags, data)
  kFsMkdir = 1,    // make target and its missing parents (mode); existing ones are fine
  kFsMkfile = 2,   // make target an empty file if missing (a bind mount's target)
  kFsSymlink = 3,  // symlink(source, target); an existing link is fine
  kFsMknod = 4,    // mknod(target, mode, dev); an existing node is fine
  kFsWrite = 5,    // write data to the existing file target (/proc/sys/...)
  kFsMask = 6,     // hide target: a read-only tmpfs over a directory, /dev/null over a file
  kFsSetattr = 7,  // mount_setattr(2) of target and every mount below it (AT_RECURSIVE):
                   // attr_set, attr_clr (MOUNT_ATTR_*: rro, rnosuid, rnodev...)
};

// Step options, or'ed.
enum FsOpt : uint32_t {
  kFsOptional = 1,      // a target that does not exist is skipped (masked paths)
  kFsSourceInRoot = 2,  // the mount source is a path inside the root, too
  kFsKeepFlags = 4,     // a remount keeps the flags the mount has (nosuid, nodev...)
  kFsSourceFd = 8,      // the source is the descriptor source_index of those the parent sent
                        // with its first "go": opened by the host's root in our mount
                        // namespace, before we became root of our user namespace
};

struct FsStep {
  FsOp op;
  uint32_t opts;
  const char* source;  // mount source, or the symlink's contents
  const char* target;  // the path the step makes or mounts on, inside the root
  const char* fstype;
  unsigned long flags;
  const char* data;    // mount data, or what kFsWrite writes
  uint32_t mode;       // mkdir / mknod mode (mknod: with S_IFCHR, S_IFBLK or S_IFIFO)
  dev_t dev;           // mknod device
  long uid, gid;       // mknod owner; -1: unchanged
  uint64_t attr_set, attr_clr;  // kFsSetattr: MOUNT_ATTR_* bits
  int source_index;    // kFsSourceFd: which of the descriptors sent
};

struct NamespaceJoin {
  const char* path;    // /proc/PID/ns/net, /run/netns/NAME, ...
  int nstype;          // CLONE_NEWNET, ...
};

struct Rlimit {
  int resource;        // RLIMIT_NOFILE, ...
  uint64_t soft, hard;
};

// An OCI startContainer hook: run by the child after its seccomp filter, right before its
// own execve, with the container's state on its stdin (runc's order).
struct Hook {
  const char* path;
  const char* const* argv;
  const char* const* envp;
  int timeout;         // seconds; 0: none
};

// Where the child writes when each of its steps starts (CLOCK_MONOTONIC, the clock of
// Node's process.hrtime): one page, mapped MAP_SHARED by the parent before clone(), so
// that the parent reads the marks without a message. execve(2) unmaps it from the child.
struct StepMark {
  int64_t ns;
  int32_t step;        // a Step (below)
  int32_t index;       // which fs step, namespace, hook...; -1: none
};
constexpr int kMaxStepMarks = 254;
struct StepTimes {
  int64_t clone_ns;    // the parent's clock right before clone()
  int32_t count;       // marks made; those past kMaxStepMarks are dropped
  int32_t unused;
  StepMark marks[kMaxStepMarks];
};
static_assert(sizeof(StepTimes) <= 4096, "StepTimes must fit one page");

// Capability sets as bit masks (bit N: capability N). Applied only when `set`.
struct Capabilities {
  bool set;
  uint64_t bounding, effective, permitted, inheritable, ambient;
};

struct ChildPlan {
  int clone_flags;                // namespaces made by clone(): CLONE_NEW*
  const NamespaceJoin* joins;     // namespaces joined by setns(), in order
  int n_joins;
  bool detach_after_fork;         // joined a PID namespace: hand the grandchild over, exit
  bool userns_root;               // in a new or joined user namespace: become its root (uid 0)
  const char* const* cgroup_procs;  // cgroup.procs files the child writes itself into
  int n_cgroup_procs;             // (a v1 hierarchy's `tasks` instead: see EnterCgroups)
  int cgroup_fd;                  // a cgroup v2 directory to clone(3) into, or -1
  int cgroup_fd_index;            // which of cgroup_procs it is
  mutable bool in_cgroup;         // set for the child: clone3 put it in cgroup_fd already
  bool new_cgroupns;              // unshare(CLONE_NEWCGROUP) once inside the cgroup
  const char* hostname;           // null: unchanged
  const char* domainname;
  bool set_oom_score_adj;
  int oom_score_adj;
  bool make_root_private;         // mount --make-rprivate /
  const char* root;               // the container's root; null: "/" and no pivot
  bool no_pivot;                  // MS_MOVE + chroot instead of pivot_root (ramfs roots)
  const char* const* host_kernel_mounts;  // no_pivot: the host's proc and sysfs mounts, hidden
  int n_host_kernel_mounts;       // before the move (the chroot would leave them in reach)
  bool chroot_only;               // chroot alone: no mount namespace of its own (the host's)
  unsigned long root_propagation; // MS_SHARED, MS_SLAVE...: set on / after pivot_root; 0: none
  const FsStep* fs;
  int n_fs;
  int n_source_fds;               // descriptors the parent sends with its first "go" (kFsSourceFd)
  bool sync_before_pivot;         // report kSyncBeforePivot and wait for a go (hooks)
  const char* cwd;                // null: "/" after pivot, unchanged otherwise
  const char* console_socket;     // unix socket that gets a new pty's master; null: none
  int console_fd;                 // or a connected socket already open (a socketpair end); -1: none
  unsigned short console_rows, console_cols;
  bool new_keyring;               // join a new anonymous session keyring
  const Rlimit* rlimits;
  int n_rlimits;
  long uid, gid;                  // -1: unchanged
  const gid_t* groups;            // supplementary groups (with a uid/gid change)
  int n_groups;
  int umask;                      // -1: unchanged
  Capabilities caps;
  bool no_new_privs;
  const sock_filter* seccomp;     // compiled filter; null: none
  unsigned short seccomp_len;
  unsigned int seccomp_flags;     // SECCOMP_FILTER_FLAG_*; with NEW_LISTENER, the listener is
                                  // handed to the parent (kMsgSeccompListener) before anything else
  const Hook* start_hooks;        // startContainer hooks: after the start FIFO and the filter
  int n_start_hooks;              // (the state they read comes through the FIFO, see child.cc)
  const int* keep_fds;            // fds >= 3 the command inherits; every other is closed
  int n_keep_fds;
  const char* const* argv;
  const char* const* envp;
  const char* path;               // PATH used to find argv[0] (from envp)
  int stdio[3];                   // dup2()ed onto 0, 1, 2; -1: inherited
  bool setsid;                    // new session (detached containers)
  bool foreground;                // own process group, made the terminal's foreground
  const char* start_fifo;         // wait for a byte on this FIFO before execve (OCI start)
  bool hold;                      // wait for "go" on hold_fd before step one
  int hold_fd;                    // our end of the hold socketpair (hold, sync, the seccomp
                                  // listener, mount sources); -1: none
  int hold_peer_fd;               // the parent's end, closed first
  int error_fd;                   // write end, close-on-exec: messages to the parent
  int error_peer_fd;              // the error pipe's read end: the parent's, closed first
  StepTimes* times;               // where each step's start is written; null: not timed
  // A supervisor (diyc-shim) for the container's process: the process clone() makes first
  // clones the container's, then execs this argv with `--pid PID` added, keeping
  // supervisor_fds (the read ends of its output) and the container as its child.
  const char* const* supervisor_argv;  // null: none; a null-terminated array with 2 free slots before the null
  int n_supervisor_argv;          // entries before the free slots
  const int* supervisor_fds;
  int n_supervisor_fds;
};

// Steps a failure can name. The TypeScript side has the same list (spawn.ts).
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
  kStepResolve,      // a path inside the root could not be resolved (index: fs step)
  kStepWrite,        // a kFsWrite step
  kStepOomScoreAdj,
  kStepConsole,      // the console socket or the pty
  kStepKeyring,
  kStepRlimit,       // index: which rlimit
  kStepCapabilities,
  kStepNoNewPrivs,
  kStepSeccomp,
  kStepCloseFds,
  kStepStartFifo,
  kStepUmask,
  kStepDumpable,     // prctl(PR_SET_DUMPABLE, 0) at the start
  kStepSupervisor,   // the supervisor could not be started (index: 0 clone, 1 execve)
  kStepHook,         // a startContainer hook (index: which); its failure goes to stderr, as
                     // runc's init writes it: the parent has stopped listening by then
  kStepSeccompNotify,  // the seccomp listener, handed to the parent (timing only)
};

// What the child writes to error_fd: fixed size, one write(). A negative `step` is
// not a failure but one of these messages:
enum Message : int32_t {
  kMsgPid = -1,              // index: the pid of the process that will exec (after a fork)
  kMsgSyncBeforePivot = -2,  // mounted, not pivoted: the parent runs hooks, then says go
  kMsgReady = -3,            // all done but execve: waiting on the start FIFO
  kMsgSeccompListener = -4,  // index: the seccomp listener's fd number; waiting for "go"
  kMsgCommandPid = -5,       // after a fork, a relay stays: index is the command's pid
};

struct ChildError {
  int32_t step;
  int32_t index;  // which join / cgroup file / fs step, or -1; a pid for kMsgPid
  int32_t err;    // errno
};

// clone() a child that runs `plan`. Returns its pid (in the caller's PID namespace)
// or -errno. Signals are blocked around clone() so no handler of Node's runs in it.
pid_t SpawnChild(const ChildPlan& plan);

// Opens `path` inside the directory `root_fd` as if it were `/`: symlinks, absolute or
// relative, and `..` never leave it, and /proc's magic links are refused. openat2(2)
// with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, or on kernels without it (before 5.6)
// a walk that resolves one component at a time the same way. Returns an fd or -errno.
// Async-signal-safe: the child uses it too.
int ResolveInRoot(int root_fd, const char* path, int flags, mode_t mode);

// ResolveInRoot's fallback for kernels without openat2(2), callable on its own (tests).
int WalkInRoot(int root_fd, const char* path, int flags, mode_t mode);

// The directory `path` inside `root_fd` (resolved as ResolveInRoot does), made with its
// missing parents when absent. Returns an O_PATH fd or -errno. Async-signal-safe.
int MkdirInRoot(int root_fd, const char* path, mode_t mode);

}  // namespace diyc
