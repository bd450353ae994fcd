#pragma once
// Listings in the three formats every cvmd listing offers: an aligned table for people,
// CSV (quoted by libcsv) and JSON (Boost.JSON) for tools.

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace cvmd {

struct Table
{
  std::vector<std::string> columns;
  std::vector<std::vector<boost::json::value>> rows;

  // format: table | csv | json
  std::string render(const std::string& format) const;
};

} // namespace cvmd
