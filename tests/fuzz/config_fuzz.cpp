// libFuzzer target: the settings parser. Input: lines "key=value", each a
// RawSettings entry as a flag, a variable or (later) a config file gives it;
// parse_config must accept or refuse every one without crashing, and a
// refusal is one line whose length is linear in the input (it names a few bad
// items and counts the rest rather than quoting the list once per item).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "meshcap/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  meshcap::RawSettings raw;
  while (!in.empty()) {
    auto nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    raw[std::string(line.substr(0, eq))] = {std::string(line.substr(eq + 1)), "--fuzz"};
  }
  auto config = meshcap::parse_config(raw);
  if (!config) {
    const std::string& m = config.error().message;
    // Bounded as the contract asks, not merely shorter than the input: each
    // known setting's problems are capped (its value quoted, at most 64
    // bytes escaped into up to 4 each, with at most 3 named bad items and a
    // count of the rest: a few KiB per setting, and the settings are a fixed
    // table), and each unknown key costs one short line. 4 * size was the
    // escaping alone and tripped on a 185-byte input whose four capped
    // problems took 1,802 bytes; the quadratic messages this guards against
    // (the whole list quoted once per bad item) take megabytes at max_len.
    if (m.find('\n') != std::string::npos || m.size() > 64 * 1024 + 16 * size) {
      std::fprintf(stderr, "parse_config: a %zu-byte message for a %zu-byte input: %.2000s\n", m.size(), size,
                   m.c_str());
      std::abort();
    }
  }
  return 0;
}
