#include "dialects/flags.hpp"

#include <algorithm>

namespace meshcap::dialects {

std::optional<bool> parse_go_bool(const std::string& s) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"})
    if (s == t) return true;
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"})
    if (s == f) return false;
  return std::nullopt;
}

Result<std::map<std::string, FlagValue>> parse_flags(const std::string& tool,
                                                     const std::vector<FlagSpec>& specs,
                                                     const std::vector<std::string>& args, const Env& env) {
  auto bad = [&](const std::string& what) {
    return fail(ErrorKind::BadInput, "invalid configuration: " + printable(what) + " (" + tool + ")");
  };
  std::map<std::string, FlagValue> out;
  auto set = [&](const FlagSpec& s, std::string value, std::string source) -> Result<void> {
    if (s.boolean) {
      auto b = parse_go_bool(value);
      if (!b) return bad(source + " \"" + value + "\" is not true or false");
      value = *b ? "true" : "false";
    }
    auto it = out.find(s.name);
    if (s.repeatable && it != out.end() && !it->second.value.empty() && !value.empty())
      value = it->second.value + "," + value;
    out[s.name] = FlagValue{std::move(value), std::move(source)};
    return {};
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-' || a == "--")
      return bad("unexpected argument '" + a + "': " + tool + " takes only flags");
    const FlagSpec* spec = nullptr;
    std::string written;
    std::optional<std::string> inline_value;
    if (a[1] == '-') {
      std::string body = a.substr(2);
      auto eq = body.find('=');
      std::string name = body.substr(0, eq);
      if (eq != std::string::npos) inline_value = body.substr(eq + 1);
      auto it = std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.name == name; });
      if (it == specs.end()) return bad("unknown flag --" + name);
      spec = &*it;
      written = "--" + name;
    } else {
      char c = a[1];
      auto it =
          std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.short_name == c; });
      if (it == specs.end()) return bad(std::string("unknown shorthand flag -") + c);
      spec = &*it;
      written = std::string("-") + c;
      if (a.size() > 2) inline_value = a[2] == '=' ? a.substr(3) : a.substr(2);
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (spec->boolean) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return bad("flag " + written + " needs a value");
    }
    if (auto r = set(*spec, std::move(value), written); !r) return tl::unexpected(r.error());
  }
  for (const auto& s : specs) {
    if (out.count(s.name)) continue;
    for (const auto& var : s.env)
      if (auto it = env.find(var); it != env.end()) {
        if (auto r = set(s, it->second, var); !r) return tl::unexpected(r.error());
        break;
      }
  }
  return out;
}

}  // namespace meshcap::dialects
