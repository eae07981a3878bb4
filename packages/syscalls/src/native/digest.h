// A file's SHA-256 on libuv's thread pool (digest.cc), and the errors the addon makes.
#pragma once

#include <napi.h>

#include <string>

namespace diyc {

Napi::Value Sha256File(const Napi::CallbackInfo& info);

// An Error shaped as Node's fs errors ({errno, code, syscall, path}), not thrown (addon.cc).
Napi::Value ErrnoError(Napi::Env env, int err, const char* syscall, const std::string& path = "");

}  // namespace diyc
