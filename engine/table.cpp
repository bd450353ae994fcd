#include "engine/table.hpp"

#include <csv.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace cvmd {

namespace {

std::string
cell_text(const boost::json::value& v, bool exact = false)
{
  if (v.is_string()) {
    return std::string(v.as_string());
  }
  if (v.is_null()) {
    return "";
  }
  if (v.is_double()) {
    char buffer[32];
    if (exact) { // CSV is for tools: the shortest text that reads back to the same number
      return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, v.as_double()).ptr);
    }
    std::snprintf(buffer, sizeof buffer, "%.2f", v.as_double());
    return buffer;
  }
  return boost::json::serialize(v);
}

std::string
csv_field(const std::string& text)
{
  std::string out(text.size() * 2 + 2, '\0');
  out.resize(csv_write(out.data(), out.size(), text.data(), text.size()));
  return out;
}

} // namespace

std::string
Table::render(const std::string& format) const
{
  if (format == "json") {
    boost::json::array items;
    for (const auto& row : rows) {
      boost::json::object o;
      for (std::size_t c = 0; c < columns.size(); ++c) {
        o[columns[c]] = row[c];
      }
      items.push_back(std::move(o));
    }
    return boost::json::serialize(items) + "\n";
  }
  if (format == "csv") {
    std::string out;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      out += (c ? "," : "") + csv_field(columns[c]);
    }
    out += "\n";
    for (const auto& row : rows) {
      for (std::size_t c = 0; c < columns.size(); ++c) {
        out += (c ? "," : "") + csv_field(cell_text(row[c], true));
      }
      out += "\n";
    }
    return out;
  }
  std::vector<std::size_t> width(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    width[c] = columns[c].size();
    for (const auto& row : rows) {
      width[c] = std::max(width[c], cell_text(row[c]).size());
    }
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const bool numeric = !rows.empty() && (rows[0][c].is_number());
      std::string cell = cells[c];
      const std::string pad(width[c] - cell.size(), ' ');
      out += (c ? "  " : "") + (numeric ? pad + cell : cell + pad);
    }
    while (!out.empty() && out.back() == ' ') {
      out.pop_back();
    }
    out += "\n";
  };
  line(columns);
  for (const auto& row : rows) {
    std::vector<std::string> cells;
    for (const auto& v : row) {
      cells.push_back(cell_text(v));
    }
    line(cells);
  }
  return out;
}

} // namespace cvmd
