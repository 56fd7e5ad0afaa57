// Parsing, merging and verification of kernel config fragments (see kernel_config.h).
#include "builder/kernel_config.h"

#include <cctype>

#include "common/file_util.h"

namespace arrow::builder {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

bool ValidName(std::string_view n) {
  if (!n.starts_with("CONFIG_") || n.size() == 7) return false;
  for (char c : n)
    if (!IsNameChar(c)) return false;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// y, m, n, a double-quoted string (backslash escapes allowed), a decimal or 0x-hex number.
bool ValidValue(std::string_view v) {
  if (v == "y" || v == "m" || v == "n") return true;
  if (v.size() >= 2 && v.front() == '"') {
    for (size_t i = 1; i < v.size(); ++i) {
      if (v[i] == '\\') {
        ++i;
        continue;
      }
      if (v[i] == '"') return i == v.size() - 1;
    }
    return false;
  }
  size_t i = 0;
  if (v.starts_with("0x") || v.starts_with("0X")) {
    if (v.size() == 2) return false;
    for (i = 2; i < v.size(); ++i)
      if (!std::isxdigit(static_cast<unsigned char>(v[i]))) return false;
    return true;
  }
  if (!v.empty() && v[0] == '-') i = 1;
  if (i == v.size()) return false;
  for (; i < v.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(v[i]))) return false;
  return true;
}

}  // namespace

void KernelConfig::Set(const std::string& name, KernelOption option) {
  auto it = options_.find(name);
  if (it == options_.end()) {
    order_.push_back(name);
    options_.emplace(name, std::move(option));
  } else {
    it->second = std::move(option);
  }
}

void KernelConfig::Merge(const KernelConfig& overlay) {
  for (const auto& n : overlay.order_) Set(n, overlay.options_.find(n)->second);
}

const KernelOption* KernelConfig::Find(std::string_view name) const {
  auto it = options_.find(name);
  return it == options_.end() ? nullptr : &it->second;
}

std::string KernelConfig::ValueOf(std::string_view name) const {
  const KernelOption* o = Find(name);
  return o ? o->value : "n";
}

std::string KernelConfig::Text() const {
  std::string out;
  for (const auto& n : order_) {
    const std::string& v = options_.find(n)->second.value;
    if (v == "n")
      out += "# " + n + " is not set\n";
    else
      out += n + "=" + v + "\n";
  }
  return out;
}

Result<KernelConfig> ParseKernelConfig(std::string_view text, std::string_view name) {
  KernelConfig cfg;
  size_t line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    std::string where = std::string(name) + ":" + std::to_string(line_no);
    if (line.empty()) continue;
    if (line.front() == '#') {
      // "# CONFIG_X is not set" is a value; any other comment is ignored.
      std::string_view rest = Trim(line.substr(1));
      constexpr std::string_view kNotSet = " is not set";
      if (rest.starts_with("CONFIG_") && rest.ends_with(kNotSet)) {
        std::string_view opt = rest.substr(0, rest.size() - kNotSet.size());
        if (!ValidName(opt)) return Err(where, ": bad option name '", std::string(opt), "'");
        cfg.Set(std::string(opt), {"n", where});
      }
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return Err(where, ": expected CONFIG_NAME=value or '# CONFIG_NAME is not set', got '",
                 std::string(line), "'");
    std::string_view opt = Trim(line.substr(0, eq));
    std::string_view val = Trim(line.substr(eq + 1));
    if (!ValidName(opt))
      return Err(where, ": bad option name '", std::string(opt),
                 "' (expected CONFIG_ followed by letters, digits or '_')");
    if (!ValidValue(val))
      return Err(where, ": bad value '", std::string(val), "' for ", std::string(opt),
                 " (expected y, m, n, a number or a \"quoted string\")");
    cfg.Set(std::string(opt), {std::string(val), where});
  }
  return cfg;
}

Result<KernelConfig> LoadKernelConfig(const std::filesystem::path& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.error();
  return ParseKernelConfig(*text, path.filename().string());
}

std::vector<DroppedOption> FindDroppedOptions(const KernelConfig& requested,
                                              const KernelConfig& final_config) {
  std::vector<DroppedOption> dropped;
  for (const auto& n : requested.names()) {
    const KernelOption& want = *requested.Find(n);
    std::string got = final_config.ValueOf(n);
    if (got != want.value) dropped.push_back({n, want.value, got, want.origin});
  }
  return dropped;
}

Status VerifyKernelConfig(const KernelConfig& requested, const KernelConfig& final_config) {
  auto dropped = FindDroppedOptions(requested, final_config);
  if (dropped.empty()) return Ok{};
  std::string msg = std::to_string(dropped.size()) +
                    " requested kernel option(s) did not survive Kconfig's dependency resolution:";
  for (const auto& d : dropped) {
    msg += "\n  " + d.origin + ": " + d.name + "=" + d.requested + " -> ";
    msg += d.actual == "n" ? std::string("not set") : d.name + "=" + d.actual;
  }
  msg +=
      "\nEnable what these options depend on (see `depends on` in their Kconfig entry, or "
      "search with `make menuconfig` and '/') or remove them from the fragment.";
  return Err(msg);
}

}  // namespace arrow::builder
