#pragma once
// The dashboard: one self-contained HTML page (inline CSS and SVG, no script, no outside
// request) with segment sizes and revenue shares, the lifecycle flow, cohort retention,
// each scenario's funnel and each experiment's variants with their intervals. `cvmd report
// html` writes it to a file; `cvmd serve` answers it at /dashboard.

#include "engine/customer_state.hpp"
#include "engine/store.hpp"

#include <cstdint>
#include <string>

namespace cvmd {

std::string dashboard_page(const Store& store, const MetricsConfig& metrics, std::int64_t at);

// What the page allows itself; the daemon sends the same as a header.
inline constexpr const char* dashboard_content_policy =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

} // namespace cvmd
