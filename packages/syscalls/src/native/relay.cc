// A relay: what a container writes to a pipe, copied to this process's stdout or stderr as
// it comes, on libuv's event loop, without Node's streams. Making process.stdout on a
// terminal loads node:tty, node:net and the stream modules: about 8 ms of CPU of every
// `diyc-run` typed at a terminal, and of every `diyc run`, for bytes that only need read(2)
// and write(2).
//
// The loop must not block, or a signal the user sends (Ctrl-C, to be forwarded to the
// container) waits with it: a terminal held by Ctrl-S, or a pipe nobody reads, would stop
// it. So the destination is written through a description of its own, non-blocking
// (reopened through /proc/self/fd, as libuv does for a terminal: O_NONBLOCK on the shared
// one would reach the shell too). A write that would block stops the reading until the
// destination takes more: the container's pipe then fills and it waits, and nothing is
// buffered here but one read. A regular file is written as it is (its writes do not wait,
// and a description of its own would write from another offset), as is a destination that
// cannot be reopened (a socket).
//
// A destination that fails (its reader is gone: EPIPE) ends the relay, and with it our
// end of the pipe: the container's next write gets SIGPIPE, as a command's does in a shell
// pipeline whose reader has quit (`diyc-run NAME IMAGE yes | head -1` ends). The end of
// the pipe, an error reading it, or stopRelay() ends it too: the pipe is closed, and
// `onEnd` called.
// https://man7.org/linux/man-pages/man7/pipe.7.html
#include "relay.h"

#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>

namespace diyc {
namespace {

struct RelayState {
  int id = 0;
  int from = -1;
  int to = -1;
  bool own_to = false;     // `to` was opened here, and is closed here
  uv_poll_t in;
  uv_poll_t out;
  bool out_started = false;
  int open_handles = 0;
  bool ending = false;
  char buf[64 * 1024];
  size_t pending_at = 0;
  size_t pending_end = 0;
  Napi::FunctionReference on_data;  // empty: no callback
  Napi::FunctionReference on_end;
  Napi::AsyncContext* context = nullptr;
  napi_env env = nullptr;
};

std::map<int, RelayState*> relays;
int next_id = 1;

void OnHandleClosed(uv_handle_t* handle) {
  RelayState* r = static_cast<RelayState*>(handle->data);
  if (--r->open_handles > 0) return;
  delete r->context;
  delete r;
}

// Ends the relay (once): the polls stopped and closed, the pipe and our description of the
// destination closed, then onEnd.
void End(RelayState* r) {
  if (r->ending) return;
  r->ending = true;
  relays.erase(r->id);
  uv_poll_stop(&r->in);
  if (r->out_started) uv_poll_stop(&r->out);
  close(r->from);
  if (r->own_to) close(r->to);
  Napi::Env env(r->env);
  Napi::HandleScope scope(env);
  Napi::FunctionReference on_end = std::move(r->on_end);
  r->on_data.Reset();
  uv_close(reinterpret_cast<uv_handle_t*>(&r->in), OnHandleClosed);
  if (r->out_started) uv_close(reinterpret_cast<uv_handle_t*>(&r->out), OnHandleClosed);
  // MakeCallback (not Call) so that promises resolved by it run now.
  if (!on_end.IsEmpty()) on_end.MakeCallback(env.Global(), {}, *r->context);
}

void OnOutWritable(uv_poll_t* handle, int status, int events);

enum class Flushed { kAll, kWouldBlock, kBroken };

// Writes what is pending: all of it, or as much as the destination takes before it would
// block, or until it fails (the reader is gone: EPIPE; a terminal hung up: EIO).
Flushed Flush(RelayState* r) {
  while (r->pending_at < r->pending_end) {
    ssize_t n = write(r->to, r->buf + r->pending_at, r->pending_end - r->pending_at);
    if (n >= 0) {
      r->pending_at += static_cast<size_t>(n);
    } else if (errno == EAGAIN) {
      return Flushed::kWouldBlock;
    } else if (errno != EINTR) {
      return Flushed::kBroken;
    }
  }
  r->pending_at = r->pending_end = 0;
  return Flushed::kAll;
}

void OnInReadable(uv_poll_t* handle, int status, int events) {
  RelayState* r = static_cast<RelayState*>(handle->data);
  ssize_t n;
  do n = read(r->from, r->buf, sizeof r->buf); while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return;
  if (n <= 0) {
    End(r);
    return;
  }
  if (!r->on_data.IsEmpty()) {
    Napi::Env env(r->env);
    Napi::HandleScope scope(env);
    r->on_data.MakeCallback(env.Global(), {Napi::Buffer<char>::Copy(env, r->buf, static_cast<size_t>(n))}, *r->context);
    if (r->ending) return;  // stopped by the callback
  }
  r->pending_at = 0;
  r->pending_end = static_cast<size_t>(n);
  Flushed flushed = Flush(r);
  if (flushed == Flushed::kAll) return;
  // The reader is gone: so is the pipe's, and the container's next write gets SIGPIPE (or
  // EPIPE), as a command's does in a shell pipeline whose reader has quit (runc hands the
  // container the descriptor itself, with the same result).
  if (flushed == Flushed::kBroken) {
    End(r);
    return;
  }
  // The destination is full: stop reading until it takes the rest.
  uv_poll_stop(&r->in);
  if (!r->out_started) {
    if (uv_poll_init(uv_handle_get_loop(reinterpret_cast<uv_handle_t*>(handle)), &r->out, r->to) != 0) {
      End(r);  // it cannot be waited for (no such descriptor says EAGAIN): as if broken
      return;
    }
    r->out.data = r;
    r->out_started = true;
    r->open_handles++;
  }
  uv_poll_start(&r->out, UV_WRITABLE, OnOutWritable);
}

void OnOutWritable(uv_poll_t* handle, int status, int events) {
  RelayState* r = static_cast<RelayState*>(handle->data);
  Flushed flushed = status < 0 ? Flushed::kBroken : Flush(r);
  if (flushed == Flushed::kWouldBlock) return;
  if (flushed == Flushed::kBroken) {
    End(r);
    return;
  }
  uv_poll_stop(&r->out);
  uv_poll_start(&r->in, UV_READABLE, OnInReadable);
}

// The destination as the relay writes it: a description of its own, non-blocking, for
// anything but a regular file or block device; the fd itself where that cannot be had.
int OpenDestination(int to, bool* own) {
  *own = false;
  // statx(2), not fstat(3): glibc's fstat symbol is from 2.33, and the addon loads on 2.28.
  struct statx st;
  if (statx(to, "", AT_EMPTY_PATH, STATX_TYPE, &st) < 0 || S_ISREG(st.stx_mode) || S_ISBLK(st.stx_mode)) return to;
  char path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", to);
  int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return to;
  *own = true;
  return fd;
}

}  // namespace

// relay(from, to, onData | null, onEnd) -> id: copies pipe FROM (ours: it is made
// non-blocking, and closed at the end, or here when the relay cannot start) to descriptor
// TO, calling onData(chunk) with each chunk read when given, and onEnd() once at the end.
Napi::Value Relay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int from = info[0].As<Napi::Number>().Int32Value();
  int to = info[1].As<Napi::Number>().Int32Value();
  int flags = fcntl(from, F_GETFL);
  if (flags < 0 || fcntl(from, F_SETFL, flags | O_NONBLOCK) < 0) {
    int err = errno;
    close(from);  // ours in every case, as the caller was told
    Napi::Error::New(env, std::string("relay: fcntl: ") + strerror(err)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  RelayState* r = new RelayState;
  r->from = from;
  r->to = OpenDestination(to, &r->own_to);
  r->env = env;
  if (info[2].IsFunction()) r->on_data = Napi::Persistent(info[2].As<Napi::Function>());
  r->on_end = Napi::Persistent(info[3].As<Napi::Function>());
  r->context = new Napi::AsyncContext(env, "diyc:relay");
  r->in.data = r;
  int err = uv_poll_init(loop, &r->in, from);
  if (err == 0) err = uv_poll_start(&r->in, UV_READABLE, OnInReadable);
  if (err != 0) {
    close(from);
    if (r->own_to) close(r->to);
    delete r->context;
    delete r;
    Napi::Error::New(env, std::string("relay: uv_poll_start: ") + uv_strerror(err)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  r->open_handles = 1;
  r->id = next_id++;
  relays[r->id] = r;
  return Napi::Number::New(env, r->id);
}

// stopRelay(id): ends a relay now (what is still in the pipe is not copied); no error for
// one that has ended.
Napi::Value StopRelay(const Napi::CallbackInfo& info) {
  auto found = relays.find(info[0].As<Napi::Number>().Int32Value());
  if (found != relays.end()) End(found->second);
  return info.Env().Undefined();
}

}  // namespace diyc
