#pragma once
// The one place that knows the built-in customer attributes, the segment names that
// stand for lifecycle stages and RFM segments, and the variables a message provides.
// `cvmd check --list-attributes` prints it.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cvmd::dsl {

enum class ValueType { number, text, boolean, choice };

const char* to_string(ValueType type);

struct AttributeInfo
{
  std::string_view name;
  ValueType type;
  std::string_view meaning;
  std::optional<double> min = {};
  std::optional<double> max = {};
  std::vector<std::string_view> choices = {}; // for ValueType::choice
  bool always_known = false; // numbers: 0 rather than unknown for customers without orders
};

// Index = the attribute's id in compiled programs (AttrId); stable within a release.
const std::vector<AttributeInfo>& attributes();
std::optional<std::size_t> find_attribute(std::string_view lower_name);

// A bare name like `lapsing` or `champions` meaning `lifecycle = "lapsing"`.
struct BuiltinSegment
{
  std::string_view name;
  std::string_view attribute;
  std::string_view value;
};
const std::vector<BuiltinSegment>& builtin_segments();
const BuiltinSegment* find_builtin_segment(std::string_view lower_name);

// Variables a rendered message adds to the customer's attributes.
struct MessageVariable
{
  std::string_view name;
  std::string_view meaning;
};
const std::vector<MessageVariable>& message_variables();

// True for `profile.NAME`: custom fields from the shop's customer import.
bool is_profile_reference(std::string_view lower_name);

// Events the engine itself produces or the shop integrations send under these names.
// Others are allowed (`on wishlist_added`); a near miss of one of these is warned about.
const std::vector<std::string_view>& known_events();

std::string format_catalogue_text();
std::string format_catalogue_json();

} // namespace cvmd::dsl
