#include "meshcap/text.hpp"

namespace meshcap {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    auto at = text.find(sep);
    out.push_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

std::vector<std::string_view> words(std::string_view line) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  std::vector<std::string_view> out;
  for (auto at = line.find_first_not_of(kSpace); at != std::string_view::npos;
       at = line.find_first_not_of(kSpace, at)) {
    auto end = line.find_first_of(kSpace, at);
    out.push_back(line.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    at = end;
  }
  return out;
}

}  // namespace meshcap
