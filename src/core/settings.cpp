// Names derived from the settings table (variables, JSON keys, annotations)
// and settings given as JSON: a --config file, and for the CNI plugin its
// `capture` object and the pod's annotations.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <string>

#include "meshcap/config.hpp"

namespace meshcap {

const Setting* find_setting(std::string_view flag) {
  const auto& all = settings();
  auto it = std::find_if(all.begin(), all.end(), [&](const Setting& s) { return s.flag == flag; });
  return it == all.end() ? nullptr : &*it;
}

std::string env_name(std::string_view flag) {
  std::string name = "MESHCAP_";
  for (char c : flag) name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::string json_key(std::string_view flag) {
  std::string key;
  bool upper = false;
  for (char c : flag) {
    if (c == '-') {
      upper = true;
    } else {
      key += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
  }
  return key;
}

std::string annotation_name(std::string_view flag) { return "meshcap.io/" + std::string(flag); }

bool is_switch(const Setting& s) { return s.type == ValueType::Switch; }

std::string shown_default(const Setting& s) {
  if (!s.default_words.empty()) return std::string(s.default_words);
  return s.default_text.empty() ? "empty" : std::string(s.default_text);
}

namespace {

// Collects a JSON object's problems, reported as parse_config reports its own.
class Problems {
 public:
  void add(std::string what) { all_.push_back(std::move(what)); }
  bool empty() const { return all_.empty(); }
  tl::unexpected<Error> error() const { return fail(ErrorKind::BadInput, detail::invalid_configuration(all_)); }

 private:
  std::vector<std::string> all_;
};

const char* type_name(const nlohmann::json& j) {
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number()) return "a number";
  if (j.is_null()) return "null";
  return "a string";
}

const char* expected(ValueType type) {
  switch (type) {
    case ValueType::Number:
      return "a number or a string";
    case ValueType::List:
      return "an array or a comma-separated string";
    case ValueType::Switch:
      return "a boolean or a string";
    case ValueType::Word:
      return "a string";
    case ValueType::Path:
      return "a string";
  }
  return "a string";
}

std::optional<std::string> number_text(const nlohmann::json& j) {
  if (j.is_number_unsigned()) return std::to_string(j.get<uint64_t>());
  if (j.is_number_integer()) return std::to_string(j.get<int64_t>());
  if (j.is_number()) return j.dump();  // a fraction: the setting's parser refuses it by name
  return std::nullopt;
}

// The setting's text for a JSON value, or nullopt when the JSON type does not fit.
std::optional<std::string> text_of(ValueType type, const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  switch (type) {
    case ValueType::Number:
      return number_text(j);
    case ValueType::List:
      if (auto n = number_text(j)) return n;
      if (j.is_array()) {
        std::string joined;
        for (size_t i = 0; i < j.size(); ++i) {
          const auto& item = j[i];
          auto text = item.is_string() ? std::optional(item.get<std::string>()) : number_text(item);
          // An item holding a comma would silently become two items.
          if (!text || text->find(',') != std::string::npos) return std::nullopt;
          joined += (i ? "," : "") + *text;
        }
        return joined;
      }
      return std::nullopt;
    case ValueType::Switch:
    case ValueType::Word:
      if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
      return std::nullopt;
    case ValueType::Path:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

Result<RawSettings> raw_from_json(const nlohmann::json& object, const Origin& origin) {
  if (!object.is_object())
    return fail(ErrorKind::BadInput, "invalid configuration: " + origin.name +
                                         " must be a JSON object of settings, not " + type_name(object));
  std::map<std::string, const Setting*> by_key;
  for (const auto& s : settings()) by_key[json_key(s.flag)] = &s;

  RawSettings raw;
  Problems problems;
  for (const auto& [key, value] : object.items()) {
    std::string name = origin.prefix + printable(key);
    auto it = by_key.find(key);
    if (it == by_key.end()) {
      problems.add(name + " is not a known setting");
      continue;
    }
    const Setting& s = *it->second;
    if (s.scope == Scope::Source) {
      problems.add(name + " cannot be set here (only --" + std::string(s.flag) + " or " + env_name(s.flag) +
                   ")");
    } else if (origin.capture_only && s.scope != Scope::Capture) {
      problems.add(name + " is not a capture setting");
    } else if (auto text = text_of(s.type, value)) {
      raw[std::string(s.flag)] = RawValue{std::move(*text), name};
    } else {
      problems.add(name + " must be " + expected(s.type) + ", not " +
                   (value.is_array() && s.type == ValueType::List
                        ? "an array with items other than strings and numbers without commas"
                        : type_name(value)));
    }
  }
  if (!problems.empty()) return problems.error();
  return raw;
}

Result<RawSettings> raw_from_annotations(const nlohmann::json& annotations) {
  if (!annotations.is_object())
    return fail(ErrorKind::BadInput, std::string("invalid configuration: pod annotations must be a "
                                                 "JSON object, not ") +
                                         type_name(annotations));
  const std::string prefix = annotation_name("");
  RawSettings raw;
  Problems problems;
  for (const auto& [key, value] : annotations.items()) {
    if (key.rfind(prefix, 0) != 0) continue;
    std::string flag = key.substr(prefix.size());
    if (flag == "capture") continue;  // selects the pod; not a setting
    std::string name = "annotation " + printable(key);
    const Setting* s = find_setting(flag);
    if (!s || s->scope != Scope::Capture)
      problems.add(name + " is not a meshcap capture setting");
    else if (!value.is_string())
      problems.add(name + " must be a string, not " + type_name(value));
    else
      raw[flag] = RawValue{value.get<std::string>(), name};
  }
  if (!problems.empty()) return problems.error();
  return raw;
}

}  // namespace meshcap
