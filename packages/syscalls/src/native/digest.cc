// sha256File(path, stop) -> Promise<hex>: the SHA-256 of a file, read and hashed on libuv's
// thread pool while the JavaScript thread goes on.
//
// diyc-image hashes a plain layer file (its diff_id) this way while it extracts the same
// file: on two cores the hash is as long as the extraction. A child process (`openssl dgst`)
// did it before, and spawning one took 5 to 10 ms of the JavaScript thread (fork(2) of a
// Node process); a Node worker takes 40 to 130 ms to boot. This is a thread-pool task.
//
// The hash is Node's own OpenSSL, which Node exports to addons (node-gyp puts its headers
// on the include path); its SHA-256 uses the CPU's SHA extensions where there are some.
// https://docs.openssl.org/3.0/man3/EVP_DigestInit/
// https://nodejs.org/api/n-api.html#simple-asynchronous-operations

#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace diyc {
namespace {

// 1 MB reads: few system calls, and the page cache copy is what a read costs anyway.
constexpr size_t kChunk = 1 << 20;

class FileDigest : public Napi::AsyncWorker {
 public:
  FileDigest(Napi::Env env, std::string path, Napi::Int32Array stop)
      : Napi::AsyncWorker(env, "diyc:sha256File"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        stop_(stop.Data()),
        stop_ref_(Napi::Persistent(stop)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  // On a thread-pool thread: no JavaScript value is touched here.
  void Execute() override {
    int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Failed(errno, "open");
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
      EVP_MD_CTX_free(ctx);
      close(fd);
      return Failed(ENOMEM, "EVP_DigestInit_ex");
    }
    std::vector<unsigned char> buf(kChunk);
    for (;;) {
      // The caller gave up (the extraction failed): stop reading a file nobody waits for.
      if (__atomic_load_n(stop_, __ATOMIC_RELAXED) != 0) {
        Failed(ECANCELED, "read");
        break;
      }
      ssize_t n = read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Failed(errno, "read");
        break;
      }
      if (n == 0) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (EVP_DigestFinal_ex(ctx, md, &len) != 1) {
          Failed(EIO, "EVP_DigestFinal_ex");
          break;
        }
        static const char kHex[] = "0123456789abcdef";
        for (unsigned int i = 0; i < len; i++) {
          hex_.push_back(kHex[md[i] >> 4]);
          hex_.push_back(kHex[md[i] & 15]);
        }
        break;
      }
      EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(n));
    }
    EVP_MD_CTX_free(ctx);
    close(fd);
  }

  // Back on the JavaScript thread.
  void OnOK() override {
    Napi::Env env = Env();
    if (err_ == 0) {
      deferred_.Resolve(Napi::String::New(env, hex_));
      return;
    }
    deferred_.Reject(ErrnoError(env, err_, syscall_, path_));
  }

 private:
  void Failed(int err, const char* syscall) {
    err_ = err;
    syscall_ = syscall;
  }

  Napi::Promise::Deferred deferred_;
  std::string path_;
  int32_t* stop_;
  // Keeps the stop flag's memory alive while the thread reads it.
  Napi::Reference<Napi::Int32Array> stop_ref_;
  int err_ = 0;
  const char* syscall_ = "";
  std::string hex_;
};

}  // namespace

Napi::Value Sha256File(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // The stop flag is read by the thread: an Int32Array with room for it, or no call.
  if (!info[0].IsString() || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[1].As<Napi::TypedArray>().ElementLength() < 1) {
    Napi::TypeError::New(env, "sha256File(path, stop: Int32Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* worker = new FileDigest(env, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Int32Array>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();  // the AsyncWorker deletes itself once OnOK has run
  return promise;
}

}  // namespace diyc
