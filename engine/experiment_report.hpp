#pragma once
// `cvmd report ab`: each experiment's variants against its control, from the store's
// assignments (splits and holdouts) or from outcomes exported elsewhere
// (CSV `experiment,variant,customer_id,converted,revenue`).

#include "engine/ab_analysis.hpp"
#include "engine/result.hpp"
#include "engine/store.hpp"
#include "engine/table.hpp"

#include <string>
#include <vector>

namespace cvmd {

enum class Success
{
  conversions,
  clicks
};

struct ExperimentData
{
  std::string scenario; // empty for outcomes from a file
  std::string experiment;
  Success metric = Success::conversions;
  bool still_running = false;
  // Some assignments had a probability other than the split's fixed share (an optimized
  // split): counts are inverse-propensity weighted.
  bool weighted = false;
  bool has_control = false; // arms[0] is the control
  std::vector<stats::ArmInput> arms; // weighted: counts at the effective sample size
  // As counted, in the order of `arms`: who was assigned and how many succeeded.
  std::vector<double> recipients;
  std::vector<double> successes;
};

// The baseline is the variant named `control` (a holdout's `holdout`); without one the
// variants are listed without comparisons, and the report says why.
std::vector<ExperimentData> experiments_from_results(const std::vector<AssignmentResult>& results, Success metric);

// All or nothing: a bad row is `FILE:LINE: reason` and no experiment is returned.
Result<std::vector<ExperimentData>> experiments_from_file(const std::string& path);

struct ExperimentResult
{
  ExperimentData data;
  stats::ExperimentAnalysis analysis;
};

std::vector<ExperimentResult> analyze_experiments(const std::vector<ExperimentData>& experiments);

// table: a block per experiment with its warnings; csv and json: one row per variant.
std::string render_experiments(const std::vector<ExperimentResult>& results, const std::string& format);

} // namespace cvmd
