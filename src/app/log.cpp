#include "app/log.hpp"

#include <chrono>
#include <cstdio>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace meshcap::app {

namespace {

// One JSON object per line; the message is escaped by nlohmann::json, which a
// pattern-based formatter could not do.
class JsonStderrSink : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch());
    nlohmann::json line = {
        {"ts", static_cast<double>(ms.count()) / 1000.0},
        {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                              spdlog::level::to_string_view(msg.level).size())},
        {"logger", "meshcap"},
        {"msg", std::string(msg.payload.data(), msg.payload.size())},
    };
    auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  void flush_() override { std::fflush(stderr); }
};

void install(std::shared_ptr<spdlog::sinks::sink> sink, spdlog::level::level_enum level) {
  auto logger = std::make_shared<spdlog::logger>("meshcap", std::move(sink));
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
}

std::shared_ptr<spdlog::sinks::sink> text_sink() {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
  sink->set_pattern("meshcap %l: %v");
  return sink;
}

}  // namespace

void setup_default_logging() { install(text_sink(), spdlog::level::info); }

void setup_logging(LogFormat format, const std::string& level) {
  install(format == LogFormat::Json ? std::make_shared<JsonStderrSink>() : text_sink(),
          spdlog::level::from_str(level));
}

}  // namespace meshcap::app
