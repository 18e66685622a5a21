// Cutting text into pieces, as views into it: lines of a file read whole,
// comma lists, the words of a line.
#pragma once

#include <string_view>
#include <vector>

namespace meshcap {

// `text` cut at each `sep`, as std::getline would give the pieces: empty
// pieces between two separators count, but an empty text has none and a
// final separator does not start another one.
std::vector<std::string_view> split(std::string_view text, char sep = '\n');

// The words of `line` as `>>` reads them in the C locale: runs of characters
// separated by spaces, tabs, \r, \v and \f.
std::vector<std::string_view> words(std::string_view line);

}  // namespace meshcap
