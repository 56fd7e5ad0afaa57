// Connects a backend to a stream socket of length-prefixed frames, on a thread of its own:
// the qemu backend's NIC is `-netdev socket,fd=N` and Arrow's own libslirp stack sits on the
// other end, so both VMMs give the guest the same network, the same published ports and the
// same isolation (qemu's built-in user network cannot keep the guest off the host's loopback).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "runner/net/backend.h"

namespace arrow::runner::net {

class FramePump {
 public:
  FramePump(std::shared_ptr<NetBackend> backend, int fd);  // takes ownership of fd
  ~FramePump();
  void Start();
  void Stop();  // idempotent; joins
  // Why the pump stopped early (the peer broke the protocol), empty otherwise.
  std::string error() const;

 private:
  void Loop();
  std::shared_ptr<NetBackend> backend_;
  int fd_, stop_fd_;
  std::thread thread_;
  std::atomic<bool> started_{false};
  mutable std::mutex mu_;
  std::string error_;
};

}  // namespace arrow::runner::net
