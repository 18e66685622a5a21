// Logging setup: everything goes to stderr (stdout carries only the product's
// output: dry-run text, or later the CNI result).
#pragma once

#include <string>

#include "meshcap/config.hpp"

namespace meshcap::app {

// Text or one JSON object per line, at the given level name. Either way
// stderr stays valid UTF-8: bytes that are not are written as \xNN.
void setup_logging(LogFormat format, const std::string& level);

// Before the configuration is known: plain text at info.
void setup_default_logging();

// A multi-line block for a person (a rule difference) on stderr: as is in text
// mode, one JSON object a line ({"level":"error","diff":LINE}) in json mode,
// so json output stays one object a line. Escaped like every log line.
void print_block(const std::string& text);

}  // namespace meshcap::app
