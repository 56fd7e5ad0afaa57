// The recipe parser's internals, shared by recipe.cc and recipe_sections.cc: the Checker that
// walks a toml++ document against Arrow's schema and collects every problem as
// "file:line:column: message".
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "builder/recipe.h"

namespace arrow::builder::recipe_detail {

inline std::string_view TypeName(toml::node_type t) {
  switch (t) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::array: return "array";
    case toml::node_type::table: return "table";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    default: return "nothing";
  }
}

inline size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "[app]" for a section, "top level" for the root.
inline std::string SectionLabel(std::string_view section) {
  return section.empty() ? std::string("at the top level") : "in [" + std::string(section) + "]";
}

class Checker {
 public:
  explicit Checker(std::string file) : file_(std::move(file)) {}

  std::string Where(const toml::source_region& r) const {
    return file_ + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
  }
  void Fail(const toml::source_region& r, std::string msg) {
    errors_.push_back(Where(r) + ": " + std::move(msg));
  }
  bool failed() const { return !errors_.empty(); }
  Error ToError() const {
    std::string all;
    for (const auto& e : errors_) all += (all.empty() ? "" : "\n") + e;
    return Error{all};
  }

  void CheckKeys(const toml::table& t, std::string_view section,
                 std::initializer_list<std::string_view> allowed) {
    for (auto&& [key, node] : t) {
      std::string_view k = key.str();
      if (std::find(allowed.begin(), allowed.end(), k) != allowed.end()) continue;
      std::string msg = "unknown key '" + std::string(k) + "' " + SectionLabel(section);
      std::string_view best;
      size_t best_d = 3;
      for (auto a : allowed) {
        size_t d = EditDistance(k, a);
        if (d < best_d) best_d = d, best = a;
      }
      if (!best.empty()) msg += " (did you mean '" + std::string(best) + "'?)";
      else {
        msg += " (expected one of:";
        for (auto a : allowed) msg += " " + std::string(a);
        msg += ")";
      }
      Fail(key.source(), msg);
    }
  }

  const toml::node* Get(const toml::table& t, std::string_view key) const { return t.get(key); }

  std::string Expect(std::string_view key, std::string_view what, const toml::node& n) {
    return "'" + std::string(key) + "' must be " + std::string(what) + ", not " +
           std::string(TypeName(n.type()));
  }

  std::optional<std::string> String(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_string()) {
      Fail(n->source(), Expect(key, "a string", *n));
      return std::nullopt;
    }
    return n->as_string()->get();
  }

  std::optional<bool> Bool(const toml::table& t, std::string_view key) {
    const toml::node* n = t.get(key);
    if (!n) return std::nullopt;
    if (!n->is_boolean()) {
      Fail(n->source(), Expect(key, "true or false", *n));
      return std::nullopt;
    }
    return n->as_boolean()->get();
  }

  std::vector<std::string> StringArray(const toml::table& t, std::string_view key) {
    std::vector<std::string> out;
    const toml::node* n = t.get(key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    if (!a) {
      Fail(n->source(), Expect(key, "an array of strings", *n));
      return out;
    }
    for (const toml::node& e : *a) {
      if (!e.is_string()) {
        Fail(e.source(), "'" + std::string(key) + "' must hold only strings, not " +
                             std::string(TypeName(e.type())));
        continue;
      }
      out.push_back(e.as_string()->get());
    }
    return out;
  }

  std::map<std::string, std::string> StringTable(const toml::table& t, std::string_view key) {
    std::map<std::string, std::string> out;
    const toml::node* n = t.get(key);
    if (!n) return out;
    const toml::table* tt = n->as_table();
    if (!tt) {
      Fail(n->source(), Expect(key, "a table of strings", *n));
      return out;
    }
    for (auto&& [k, v] : *tt) {
      if (!v.is_string()) {
        Fail(v.source(), "'" + std::string(key) + "." + std::string(k.str()) +
                             "' must be a string, not " + std::string(TypeName(v.type())));
        continue;
      }
      out[std::string(k.str())] = v.as_string()->get();
    }
    return out;
  }

  const toml::table* Section(const toml::table& root, std::string_view key) {
    const toml::node* n = root.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      Fail(n->source(), "'" + std::string(key) + "' must be a table ([" + std::string(key) +
                            "]), not " + std::string(TypeName(n->type())));
      return nullptr;
    }
    return n->as_table();
  }

 private:
  std::string file_;
  std::vector<std::string> errors_;
};

inline bool IsAbsoluteGuestPath(std::string_view p) { return !p.empty() && p[0] == '/'; }

// An `env` table of table `t`: strings, under names a process environment can hold.
std::map<std::string, std::string> EnvTable(Checker& c, const toml::table& t, const std::string& where);

// The [verify] and [trace] sections (recipe_sections.cc).
void ParseVerify(Checker& c, const toml::table& t, Recipe& r);
void ParseTrace(Checker& c, const toml::table& t, Recipe& r);

}  // namespace arrow::builder::recipe_detail
