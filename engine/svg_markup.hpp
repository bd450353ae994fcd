#pragma once
// The pieces the charts (engine/svg_charts) are drawn with: numbers printed the same way
// everywhere, untrusted labels cleaned, shortened and escaped, the colours, and the frame
// every chart shares. Internal to the charts.

#include <cstddef>
#include <string>
#include <string_view>

namespace cvmd::charts::svg {

// Fixed-point, independent of the locale; NaN and infinities print as 0 and there is no "-0".
std::string number(double value, int decimals = 1);
// A share (0..1) as a percentage: 0.25 -> "25.0%".
std::string percent(double share, int decimals = 1);
// 1234567 -> "1,234,567".
std::string count(std::size_t value);
// A ratio that is 0 when there is nothing to divide by or either side is not finite.
double ratio(double part, double whole);

// The label with control characters and invalid UTF-8 replaced: XML forbids the former,
// and cutting the latter could produce an unparsable byte.
std::string clean(std::string_view text);
// Escaped for text and attribute values (& < > " ').
std::string escape(std::string_view text);
std::size_t length(std::string_view utf8);
// At most `max_chars` characters, the last one an ellipsis when shortened (not escaped).
std::string shorten(std::string_view text, std::size_t max_chars);
// A conservative estimate for sans-serif text, to decide whether a label fits a mark.
double text_width(std::string_view utf8, double font_size);

// Okabe–Ito, reordered so that neighbouring segments differ most; cycles past eight.
const char* category_colour(std::size_t index);
// A single-hue sequential scale (ColorBrewer Blues) for 0..1, light to dark.
std::string sequential_colour(double value);
// Black or white, whichever contrasts more with the "#rrggbb" background.
const char* text_colour_on(std::string_view background);

// One chart: the marks are appended to the body, `finish` wraps them in the <svg> with its
// title and description. Untrusted text goes only through `text` and `label`.
class Canvas
{
public:
  Canvas(std::string_view kind, std::string_view title, double width);

  double width() const { return m_width; }
  // Markup made by the charts themselves.
  Canvas& operator<<(std::string_view markup);
  // <text> with escaped content; `attributes` are trusted.
  void text(double x, double y, std::string_view content, std::string_view attributes = "");
  // As `text`, shortened to `max_chars`; a shortened label keeps the full one in a <title>.
  void label(double x, double y, std::string_view content, std::size_t max_chars, std::string_view attributes = "");
  std::string finish(double height, std::string_view description) const;

private:
  std::string m_kind;
  std::string m_title;
  double m_width;
  std::string m_body;
};

// The chart for no input at all: its title and "no data yet".
std::string empty_chart(std::string_view kind, std::string_view title);

} // namespace cvmd::charts::svg
