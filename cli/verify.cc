// [verify] checks against a booted arrow; see verify.h.
#include "cli/verify.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <regex>
#include <thread>

#include "common/file_util.h"
#include "packer/arrow_file.h"
#include "runner/net/ports.h"
#include "runner/qemu.h"

namespace arrow::cli {
namespace fs = std::filesystem;

int RunSelf(const std::vector<std::string>& args, const fs::path& out) {
  std::error_code ec;
  const std::string exe = fs::read_symlink("/proc/self/exe", ec).string();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<std::string> a = {exe};
    a.insert(a.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : a) argv.push_back(s.data());
    argv.push_back(nullptr);
    FILE* f = std::fopen(out.c_str(), "w");
    if (!f) _exit(125);
    dup2(fileno(f), 1);
    dup2(fileno(f), 2);
    freopen("/dev/null", "r", stdin);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 125;
}

namespace {

int Connect(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return s;
  close(s);
  return -1;
}

}  // namespace

std::pair<int, std::string> HttpGet(int port, const std::string& path) {
  int s = Connect(port);
  if (s < 0) return {0, ""};
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  std::string resp;
  if (write(s, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
    char buf[8192];
    for (ssize_t n; (n = read(s, buf, sizeof buf)) > 0 && resp.size() < (8u << 20);) resp.append(buf, static_cast<size_t>(n));
  }
  close(s);
  int status = 0;
  if (resp.rfind("HTTP/1.", 0) == 0 && resp.size() > 12) status = std::atoi(resp.c_str() + 9);
  const size_t body = resp.find("\r\n\r\n");
  return {status, body == std::string::npos ? "" : resp.substr(body + 4)};
}

namespace {

bool AnyLineMatches(const std::string& text, const std::regex& re) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (std::regex_search(line, re)) return true;
    start = nl + 1;
  }
  return false;
}

}  // namespace

std::vector<std::string> EnvFlags(const std::map<std::string, std::string>& env) {
  std::vector<std::string> flags;
  for (const auto& [k, v] : env) flags.insert(flags.end(), {"--env", k + "=" + v});
  return flags;
}

void PrintTail(const fs::path& f) {
  auto t = ReadFile(f);
  if (!t) return;
  std::string s = *t;
  if (s.size() > 1500) s = s.substr(s.size() - 1500);
  std::cerr << s << (s.ends_with("\n") ? "" : "\n");
}

int VerifyArrow(const fs::path& arrow, const std::string& vmm) {
  auto img = packer::ReadArrow(arrow);
  if (!img) {
    std::cerr << "verify: " << img.message() << "\n";
    return runner::kExitRunnerError;
  }
  const auto v = img->config_json.value("verify", nlohmann::json());
  if (!v.is_object()) {
    std::cerr << "verify: " << arrow.string() << " has no [verify] checks (add a [verify] section to its recipe)\n";
    return runner::kExitRunnerError;
  }
  auto tmp = TempDir::Create("arrow-verify");
  if (!tmp) {
    std::cerr << "verify: " << tmp.message() << "\n";
    return runner::kExitRunnerError;
  }
  const fs::path log = tmp->path() / "run.log";
  const std::string timeout = v.value("timeout", "120s");
  std::vector<std::string> app_args;
  const bool has_args = v.contains("args") && v["args"].is_array();
  if (has_args) app_args = v["args"].get<std::vector<std::string>>();
  int failed = 0;
  auto report = [&](bool ok, const std::string& what) {
    std::cerr << "verify: " << (ok ? "PASS " : "FAIL ") << what << "\n";
    failed += !ok;
  };
  const auto env_flags = EnvFlags(v.value("env", std::map<std::string, std::string>{}));  // of the check run
  const auto http = v.value("http", nlohmann::json::array());
  const auto tcp = v.value("tcp", std::vector<int>{});
  if (http.empty() && tcp.empty()) {  // a command: run it to the end
    std::vector<std::string> args = {"run", "-q", "--vmm", vmm, "--timeout", timeout};
    args.insert(args.end(), env_flags.begin(), env_flags.end());
    args.push_back(arrow.string());
    if (has_args) {
      args.push_back("--");
      args.insert(args.end(), app_args.begin(), app_args.end());
    }
    const int code = RunSelf(args, log);
    const int want = v.value("exit", 0);
    report(code == want, "exit status " + std::to_string(code) + (code == want ? "" : ", want " + std::to_string(want)));
    auto out = ReadFile(log);
    const std::string re = v.value("stdout", "");
    if (!re.empty()) report(out && AnyLineMatches(*out, std::regex(re, std::regex::extended)), "output has a line matching /" + re + "/");
    if (failed) PrintTail(log);
    return failed ? 1 : 0;
  }
  // A service: detached in a private state directory, checked ports published.
  setenv("ARROW_STATE_DIR", (tmp->path() / "state").c_str(), 1);
  std::map<int, int> host_port;  // guest -> host
  for (const auto& h : http) host_port.emplace(h.value("port", 0), 0);
  for (int p : tcp) host_port.emplace(p, 0);
  std::vector<runner::net::PortMapping> published;
  for (const auto& [guest, unused] : host_port) {
    runner::net::PortMapping m;
    m.host_addr = "127.0.0.1";
    m.guest_port = static_cast<uint16_t>(guest);
    published.push_back(m);
  }
  if (auto st = runner::net::ResolveFreePorts(published); !st) {
    std::cerr << "verify: " << st.message() << "\n";
    return runner::kExitRunnerError;
  }
  std::vector<std::string> args = {"run", "-d", "-q", "--vmm", vmm, "--name", "verify", "--ready-timeout", timeout};
  for (const auto& m : published) {
    host_port[m.guest_port] = m.host_port;
    args.insert(args.end(), {"-p", "127.0.0.1:" + std::to_string(m.host_port) + ":" + std::to_string(m.guest_port)});
  }
  args.insert(args.end(), env_flags.begin(), env_flags.end());
  args.push_back(arrow.string());
  if (has_args) {
    args.push_back("--");
    args.insert(args.end(), app_args.begin(), app_args.end());
  }
  const int started = RunSelf(args, tmp->path() / "start.log");
  if (started != 0) {
    report(false, "the arrow did not become ready (arrow run -d exit " + std::to_string(started) + ")");
    PrintTail(tmp->path() / "start.log");
    return 1;
  }
  auto retry = [](auto&& check) {  // a published port may need a moment after readiness
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!check() && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return check();
  };
  for (int p : tcp)
    report(retry([&] {
             int s = Connect(host_port[p]);
             if (s >= 0) close(s);
             return s >= 0;
           }),
           "tcp " + std::to_string(p) + " accepts a connection");
  for (const auto& h : http) {
    const int port = h.value("port", 0), want = h.value("status", 200);
    const std::string path = h.value("path", "/"), body = h.value("body", "");
    std::pair<int, std::string> got;
    const bool ok = retry([&] {
      got = HttpGet(host_port[port], path);
      return got.first == want && (body.empty() || std::regex_search(got.second, std::regex(body, std::regex::extended)));
    });
    std::string what = "http :" + std::to_string(port) + path + " -> " + std::to_string(got.first);
    if (!ok && got.first != want) what += ", want " + std::to_string(want);
    if (!body.empty()) what += ok ? ", body matches /" + body + "/" : ", body does not match /" + body + "/";
    report(ok, what);
  }
  (void)RunSelf({"stop", "--time", "10", "verify"}, tmp->path() / "stop.log");
  if (failed) RunSelf({"logs", "verify"}, log), PrintTail(log);
  (void)RunSelf({"rm", "-f", "verify"}, tmp->path() / "rm.log");
  return failed ? 1 : 0;
}

}  // namespace arrow::cli
