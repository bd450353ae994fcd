#pragma once
// An experiment's arms judged together for the reports: each variant against the control
// with the statistics of ab_stats.hpp, and notes in plain English for what the numbers
// cannot say yet (no recipients, small samples, identical outcomes, looking early).

#include "engine/ab_stats.hpp"

#include <string>
#include <vector>

namespace cvmd::stats {

struct ArmInput
{
  std::string name;
  double recipients = 0;
  double conversions = 0;
  Sample revenue;
};

struct ArmResult
{
  std::string name;
  double recipients = 0, conversions = 0;
  std::optional<double> rate;
  std::optional<Interval> rate_interval;
  // Against the control; empty for the control itself.
  std::optional<double> uplift_absolute;
  std::optional<Interval> uplift_absolute_interval;
  std::optional<double> uplift_relative;
  std::optional<Interval> uplift_relative_interval;
  std::optional<double> p_value;
  std::optional<double> probability_to_beat_control;
  // Among the arms that have recipients, when there are at least two of them.
  std::optional<double> probability_best;
  std::optional<double> revenue_per_recipient;
  std::optional<Interval> revenue_difference_interval;
  bool is_control = false;
};

struct ExperimentAnalysis
{
  std::vector<ArmResult> arms;
  std::vector<std::string> warnings; // in a fixed order: the same data gives the same text
};

// arms[0] is the control (the caller picks it); `still_running`: the experiment is still
// enrolling, so a significant result may be an artefact of looking early.
// Without a control (`has_control` false) the arms are listed with their rates and their
// probability of being best, and nothing is compared.
// `successes` names them in the notes: "conversions" or "clicks".
ExperimentAnalysis analyze(const std::vector<ArmInput>& arms, bool still_running, bool has_control = true,
                           const std::string& successes = "conversions");

} // namespace cvmd::stats
