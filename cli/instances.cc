// Instance state on disk; see instances.h.
#include "cli/instances.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "common/file_util.h"

namespace arrow::cli {
namespace fs = std::filesystem;
namespace {

std::string NewId() {
  std::random_device rd;
  std::mt19937_64 g((uint64_t{rd()} << 32) ^ rd() ^ static_cast<uint64_t>(UnixNow()));
  char b[17];
  snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(g()));
  return std::string(b, 12);
}

bool ValidName(const std::string& n) {
  return !n.empty() && n.size() <= 64 && (std::isalnum(static_cast<unsigned char>(n[0])) != 0) &&
         std::all_of(n.begin(), n.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_' || c == '.';
         });
}

std::optional<Instance> Load(const fs::path& dir) {
  auto text = ReadFile(dir / "state.json");
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Instance in;
  in.id = j.value("id", "");
  in.name = j.value("name", "");
  in.image = j.value("image", "");
  in.ports = j.value("ports", std::vector<std::string>{});
  in.volumes = j.value("volumes", std::vector<std::string>{});
  in.pid = j.value("pid", 0);
  in.pid_start = j.value("pid_start", uint64_t{0});
  in.created = j.value("created", int64_t{0});
  in.finished = j.value("finished", int64_t{0});
  in.state = j.value("state", "");
  if (j.contains("exit_code") && j["exit_code"].is_number_integer()) in.exit_code = j["exit_code"].get<int>();
  in.dir = dir;
  if (in.id.empty()) return std::nullopt;
  return in;
}

// Serialises instance creation across processes.
class RootLock {
 public:
  explicit RootLock(const fs::path& root) {
    fd_ = open((root / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) flock(fd_, LOCK_EX);
  }
  ~RootLock() {
    if (fd_ >= 0) close(fd_);
  }

 private:
  int fd_ = -1;
};

}  // namespace

namespace {
// Fields 3 (state) and 22 (start time) of /proc/<pid>/stat; false when it is gone.
bool ProcStat(pid_t pid, char* state, uint64_t* start) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t paren = s.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos || paren + 2 >= s.size()) return false;
  std::istringstream in(s.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && in >> field; i++) {
    if (i == 3) *state = field[0];
    if (i == 22) {
      *start = std::strtoull(field.c_str(), nullptr, 10);
      return true;
    }
  }
  return false;
}
}  // namespace

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t ProcessStart(pid_t pid) {
  char state = 0;
  uint64_t start = 0;
  return ProcStat(pid, &state, &start) ? start : 0;
}

bool Instance::alive() const {
  char state = 0;
  uint64_t start = 0;
  // A zombie is dead too: a reparented instance may wait a while to be reaped.
  return pid > 0 && ProcStat(pid, &state, &start) && start == pid_start && state != 'Z' && state != 'X';
}

std::string Instance::Shown() const {
  if (state == "exited") return exit_code ? "exited (" + std::to_string(*exit_code) + ")" : "exited";
  if (!alive()) return "exited (crashed)";
  return state;
}

nlohmann::json Instance::ToJson() const {
  return {{"id", id},           {"name", name},       {"image", image},     {"ports", ports},
          {"volumes", volumes}, {"pid", pid},         {"pid_start", pid_start},
          {"created", created}, {"finished", finished}, {"state", state},
          {"exit_code", exit_code ? nlohmann::json(*exit_code) : nlohmann::json(nullptr)},
          {"log", log().string()}};
}

fs::path StateRoot() {
  if (const char* d = getenv("ARROW_STATE_DIR"); d && *d) return d;
  if (const char* d = getenv("XDG_RUNTIME_DIR"); d && *d) return fs::path(d) / "arrow";
  if (geteuid() == 0) return "/run/arrow";
  return "/tmp/arrow-" + std::to_string(getuid());
}

Status SaveInstance(const Instance& in) {
  nlohmann::json j = in.ToJson();
  j.erase("log");
  return WriteFileAtomic(in.dir / "state.json", j.dump(2) + "\n");
}

std::vector<Instance> ListInstances() {
  std::vector<Instance> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(StateRoot(), ec))
    if (e.is_directory(ec))
      if (auto in = Load(e.path())) out.push_back(std::move(*in));
  std::sort(out.begin(), out.end(), [](const Instance& a, const Instance& b) {
    return a.created != b.created ? a.created < b.created : a.id < b.id;
  });
  return out;
}

Result<Instance> CreateInstance(const std::string& image, std::string name) {
  const fs::path root = StateRoot();
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Err("state directory ", root.string(), ": ", ec.message());
  fs::permissions(root, fs::perms::owner_all, ec);
  RootLock lock(root);
  Instance in;
  in.id = NewId();
  if (name.empty()) {
    std::string base = fs::path(image).stem().string();
    std::replace_if(base.begin(), base.end(), [](unsigned char c) { return !std::isalnum(c) && c != '-'; }, '-');
    name = (base.empty() || !std::isalnum(static_cast<unsigned char>(base[0])) ? "arrow" : base) + "-" +
           in.id.substr(0, 4);
  }
  if (!ValidName(name))
    return Err("--name '", name, "': use 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit");
  for (const auto& other : ListInstances())
    if (other.name == name)
      return Err("the name '", name, "' is already used by instance ", other.id, " (", other.Shown(),
                 "); arrow rm ", name, " first, or pick another --name");
  in.name = name;
  in.image = image;
  in.created = UnixNow();
  in.state = "starting";
  in.dir = root / in.id;
  fs::create_directory(in.dir, ec);
  if (ec) return Err("instance directory ", in.dir.string(), ": ", ec.message());
  ARROW_TRY(SaveInstance(in));
  return in;
}

Result<Instance> FindInstance(const std::string& key) {
  auto all = ListInstances();
  for (const auto& in : all)
    if (in.name == key || in.id == key) return in;
  std::vector<Instance> prefix;
  if (key.size() >= 4)
    for (const auto& in : all)
      if (in.id.rfind(key, 0) == 0) prefix.push_back(in);
  if (prefix.size() == 1) return prefix[0];
  if (prefix.size() > 1) return Err("'", key, "' matches ", std::to_string(prefix.size()), " instances: give more of the id");
  return Err("no instance named or with id '", key, "' (arrow ps lists them)");
}

}  // namespace arrow::cli
