// The recipe's [verify] and [trace] sections: what arrow-build checks and traces against a
// booted arrow (the rest of the parser is recipe.cc).
#include <regex>

#include "builder/recipe_checker.h"

namespace arrow::builder::recipe_detail {

std::map<std::string, std::string> EnvTable(Checker& c, const toml::table& t, const std::string& where) {
  auto env = c.StringTable(t, "env");
  for (const auto& [k, unused] : env)
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos)
      c.Fail(t.get("env")->source(), where + "env name '" + k + "' is not a valid variable name");
  return env;
}

void ParseVerify(Checker& c, const toml::table& t, Recipe& r) {
  c.CheckKeys(t, "verify", {"args", "exit", "stdout", "http", "tcp", "timeout", "env"});
  Recipe::Verify& v = r.verify;
  v.present = true;
  auto regex_ok = [&](const toml::node* n, const std::string& re, const std::string& what) {
    try {
      std::regex(re, std::regex::extended);
    } catch (const std::regex_error& e) {
      c.Fail(n->source(), "[verify] " + what + ": bad regular expression: " + e.what());
    }
  };
  auto port_of = [&](const toml::node& n, const std::string& what) -> int {
    if (!n.is_integer() || n.as_integer()->get() < 1 || n.as_integer()->get() > 65535) {
      c.Fail(n.source(), "[verify] " + what + ": a port number in 1..65535");
      return 0;
    }
    return static_cast<int>(n.as_integer()->get());
  };
  if (t.get("args")) v.args = c.StringArray(t, "args");
  if (const toml::node* n = t.get("exit")) {
    if (!n->is_integer() || n->as_integer()->get() < 0 || n->as_integer()->get() > 255)
      c.Fail(n->source(), "[verify] exit: an exit status in 0..255");
    else v.exit = static_cast<int>(n->as_integer()->get());
  }
  if (auto s = c.String(t, "stdout")) {
    regex_ok(t.get("stdout"), *s, "stdout");
    v.stdout_re = *s;
  }
  if (auto s = c.String(t, "timeout")) v.timeout = *s;
  v.env = EnvTable(c, t, "[verify] ");
  if (const toml::node* n = t.get("tcp")) {
    const toml::array* a = n->as_array();
    if (!a) c.Fail(n->source(), "[verify] tcp: an array of ports");
    for (size_t i = 0; a && i < a->size(); i++)
      if (int p = port_of((*a)[i], "tcp")) v.tcp.push_back(p);
  }
  if (const toml::node* n = t.get("http")) {
    const toml::array* a = n->as_array();
    if (!a) c.Fail(n->source(), "[verify] http: an array of { port, path, status, body } tables");
    for (size_t i = 0; a && i < a->size(); i++) {
      const toml::table* h = (*a)[i].as_table();
      if (!h) {
        c.Fail((*a)[i].source(), "[verify] http entries are { port, path, status, body } tables");
        continue;
      }
      c.CheckKeys(*h, "verify.http", {"port", "path", "status", "body"});
      Recipe::Verify::Http check;
      if (const toml::node* p = h->get("port")) check.port = port_of(*p, "http port");
      else c.Fail((*a)[i].source(), "[verify] http: 'port' is required");
      if (auto s = c.String(*h, "path")) check.path = *s;
      if (check.path.empty() || check.path[0] != '/') c.Fail((*a)[i].source(), "[verify] http: 'path' must start with /");
      if (const toml::node* st = h->get("status")) {
        if (!st->is_integer()) c.Fail(st->source(), "[verify] http: 'status' is a number like 200");
        else check.status = static_cast<int>(st->as_integer()->get());
      }
      if (auto s = c.String(*h, "body")) {
        regex_ok(h->get("body"), *s, "http body");
        check.body_re = *s;
      }
      if (check.port) v.http.push_back(check);
    }
  }
}

void ParseTrace(Checker& c, const toml::table& t, Recipe& r) {
  c.CheckKeys(t, "trace", {"runs", "http", "timeout", "keep", "env"});
  r.trace.env = EnvTable(c, t, "[trace] ");
  Recipe::Trace& tr = r.trace;
  tr.present = true;
  if (const toml::node* n = t.get("runs")) {
    const toml::array* a = n->as_array();
    if (!a) c.Fail(n->source(), "[trace] runs: an array of argument lists, like [[\"--version\"]]");
    for (size_t i = 0; a && i < a->size(); i++) {
      const toml::array* args = (*a)[i].as_array();
      std::vector<std::string> run;
      for (size_t j = 0; args && j < args->size(); j++) {
        if (!(*args)[j].is_string()) { args = nullptr; break; }
        run.push_back((*args)[j].as_string()->get());
      }
      if (!args) c.Fail((*a)[i].source(), "[trace] runs: each run is an array of strings (argv[1..])");
      else tr.runs.push_back(std::move(run));
    }
  }
  if (const toml::node* n = t.get("http")) {
    const toml::array* a = n->as_array();
    if (!a) c.Fail(n->source(), "[trace] http: an array of { port, path } tables");
    for (size_t i = 0; a && i < a->size(); i++) {
      const toml::table* h = (*a)[i].as_table();
      if (!h) { c.Fail((*a)[i].source(), "[trace] http entries are { port, path } tables"); continue; }
      c.CheckKeys(*h, "trace.http", {"port", "path"});
      Recipe::Trace::Http probe;
      const toml::node* p = h->get("port");
      if (!p || !p->is_integer() || p->as_integer()->get() < 1 || p->as_integer()->get() > 65535)
        c.Fail((*a)[i].source(), "[trace] http: 'port' is a port number in 1..65535");
      else probe.port = static_cast<int>(p->as_integer()->get());
      if (auto s = c.String(*h, "path")) probe.path = *s;
      if (probe.path.empty() || probe.path[0] != '/') c.Fail((*a)[i].source(), "[trace] http: 'path' must start with /");
      if (probe.port && std::find(r.app.ports.begin(), r.app.ports.end(), std::to_string(probe.port) + "/tcp") == r.app.ports.end())
        c.Fail((*a)[i].source(), "[trace] http: port " + std::to_string(probe.port) + " is not in [app] ports");
      if (probe.port) tr.http.push_back(probe);
    }
  }
  if (auto s = c.String(t, "timeout")) {
    if (!std::regex_match(*s, std::regex("[0-9]+(\\.[0-9]+)?(ms|s|m)?")))
      c.Fail(t.get("timeout")->source(), "[trace] timeout: a duration like \"60s\", \"500ms\" or \"2m\", got '" + *s + "'");
    tr.timeout = *s;
  }
  tr.keep = c.StringArray(t, "keep");
  for (size_t i = 0; i < tr.keep.size(); ++i)
    if (!IsAbsoluteGuestPath(tr.keep[i]))
      c.Fail((*t.get("keep")->as_array())[i].source(), "[trace] keep entries must be absolute paths, got '" + tr.keep[i] + "'");
}

}  // namespace arrow::builder::recipe_detail
