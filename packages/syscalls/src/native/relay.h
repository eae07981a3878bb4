// The relay's bindings (relay.cc): a pipe copied to a descriptor on the event loop.
#pragma once

#include <napi.h>

namespace diyc {

Napi::Value Relay(const Napi::CallbackInfo& info);
Napi::Value StopRelay(const Napi::CallbackInfo& info);

}  // namespace diyc
