// Host signals, control-channel lines and the graceful-stop policy; see stop.h.
#include "runner/stop.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
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
    if (line_.size() < kMaxControlLine) line_.push_back(b);
    else overlong_ = true;
    return false;
  }
  if (overlong_) {
    overlong_ = false;
    line_.clear();
    return false;
  }
  if (line_ == "arrow:ready") ready_.store(true);
  if (line_.rfind("arrow:exit ", 0) == 0 && line_.size() <= 14 &&
      line_.find_first_not_of("0123456789", 11) == std::string::npos && line_.size() > 11) {
    const int n = std::stoi(line_.substr(11));
    if (n <= 255) exit_status_.store(n);
  }
  if (on_trace && line_.rfind("arrow:trace", 0) == 0) on_trace(line_);
  const bool first_init = line_ == "arrow:init" && !init_up_.exchange(true);
  line_.clear();
  return first_init;
}

Result<std::shared_ptr<TraceFile>> TraceFile::Open(const std::string& path) {
  auto f = std::make_shared<TraceFile>();
  f->fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (f->fd_ < 0) return Err("trace output ", path, ": ", std::strerror(errno));
  return f;
}

Result<std::function<void(const std::string&)>> TraceFile::Sink(const std::string& path) {
  if (path.empty()) return std::function<void(const std::string&)>{};
  auto f = Open(path);
  if (!f) return f.error();
  return std::function<void(const std::string&)>([f = *f](const std::string& line) { f->Append(line); });
}

TraceFile::~TraceFile() {
  if (fd_ >= 0) close(fd_);
}

void TraceFile::Append(const std::string& line) {
  const std::string l = line + "\n";
  for (size_t off = 0; off < l.size();) {
    const ssize_t n = write(fd_, l.data() + off, l.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the reader finds no end line and reports the trace as incomplete
    off += static_cast<size_t>(n);
  }
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
