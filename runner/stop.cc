// Host signals, control-channel lines and the graceful-stop policy; see stop.h.
#include "runner/stop.h"

#include <cstdio>
#include <cstring>

namespace arrow::runner {
namespace {

std::atomic<int> g_signal{0}, g_signals{0};
void OnSignal(int sig) {
  g_signal.store(sig);
  g_signals.fetch_add(1);
}

}  // namespace

HostSignals::HostSignals() {
  g_signal.store(0);
  g_signals.store(0);
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < 4; i++) {
    sa.sa_handler = kSignals[i] == SIGPIPE ? SIG_IGN : OnSignal;
    sigaction(kSignals[i], &sa, &old_[i]);
  }
}

HostSignals::~HostSignals() {
  for (int i = 0; i < 4; i++) sigaction(kSignals[i], &old_[i], nullptr);
}

int HostSignals::count() {
  return g_signals.load();
}

int HostSignals::last() {
  return g_signal.load();
}

bool ControlLines::Feed(char b) {
  if (b != '\n') {
    if (line_.size() < 128) line_.push_back(b);
    return false;
  }
  if (line_ == "arrow:ready") ready_.store(true);
  const bool first_init = line_ == "arrow:init" && !init_up_.exchange(true);
  line_.clear();
  return first_init;
}

std::optional<std::string> GracefulStop::Tick(const std::function<bool()>& send_stop) {
  const auto now = std::chrono::steady_clock::now();
  if (const int n = HostSignals::count(); n > seen_) {
    const int sig = HostSignals::last();
    const bool first = seen_ == 0;
    seen_ = n;
    if (first && send_stop()) {
      requested_ = true;
      deadline_ = now + grace_;
      fprintf(stderr, "arrow-run: %s: stopping the app (SIGTERM), killed after %lld ms\n",
              strsignal(sig), static_cast<long long>(grace_.count()));
      return std::nullopt;
    }
    return std::string("stopped by signal ") + strsignal(sig);
  }
  if (requested_ && now >= deadline_)
    return "the app did not stop within " + std::to_string(grace_.count()) +
           " ms of its SIGTERM: the guest was stopped";
  return std::nullopt;
}

}  // namespace arrow::runner
