#include "app/log.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace meshcap::app {

namespace {

std::string level_name(const spdlog::details::log_msg& msg) {
  auto name = spdlog::level::to_string_view(msg.level);
  return std::string(name.data(), name.size());
}

// A message may carry user bytes (a flag, a path): printable() escapes
// whatever is not UTF-8 as \xNN, so stderr is valid UTF-8 in both formats.
std::string payload(const spdlog::details::log_msg& msg) {
  return printable(std::string_view(msg.payload.data(), msg.payload.size()), false, SIZE_MAX);
}

// One JSON object per line; the message is escaped by nlohmann::json, which a
// pattern-based formatter could not do.
class JsonStderrSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch());
    nlohmann::json line = {
        {"ts", static_cast<double>(ms.count()) / 1000.0},
        {"level", level_name(msg)},
        {"logger", "meshcap"},
        {"msg", payload(msg)},
    };
    auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  void flush_() override { std::fflush(stderr); }
};

// "meshcap error: ..." lines.
class TextStderrSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::fprintf(stderr, "meshcap %s: %s\n", level_name(msg).c_str(), payload(msg).c_str());
  }
  void flush_() override { std::fflush(stderr); }
};

void install(std::shared_ptr<spdlog::sinks::sink> sink, spdlog::level::level_enum level) {
  auto logger = std::make_shared<spdlog::logger>("meshcap", std::move(sink));
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

LogFormat g_format = LogFormat::Text;

}  // namespace

void print_block(const std::string& text) {
  std::string safe = printable(text, false, SIZE_MAX);
  if (g_format == LogFormat::Text) {
    std::fprintf(stderr, "%s", safe.c_str());
    return;
  }
  size_t start = 0;
  while (start < safe.size()) {
    size_t end = safe.find('\n', start);
    if (end == std::string::npos) end = safe.size();
    nlohmann::json line = {{"level", "error"}, {"logger", "meshcap"}, {"diff", safe.substr(start, end - start)}};
    std::fprintf(stderr, "%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    start = end + 1;
  }
}

void setup_default_logging() { setup_logging(LogFormat::Text, "info"); }

void setup_logging(LogFormat format, const std::string& level) {
  g_format = format;
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (format == LogFormat::Json)
    sink = std::make_shared<JsonStderrSink>();
  else
    sink = std::make_shared<TextStderrSink>();
  install(std::move(sink), spdlog::level::from_str(level));
}

}  // namespace meshcap::app
