#pragma once
// `cvmd simulate --record-into FILE`: everything a simulation decided and the responses it
// drew, written into a copy of the store as if the scenarios had run, so that the reports
// and the dashboard read it like a real store. The original store is not touched; FILE
// appears whole or not at all, and an existing file is never overwritten.

#include "dsl/dsl.hpp"
#include "engine/plan.hpp"
#include "engine/response_model.hpp"
#include "engine/result.hpp"
#include "engine/store.hpp"
#include "engine/timeline.hpp"

#include <string>
#include <vector>

namespace cvmd {

// Checked before simulating: the file must not exist yet (nor a leftover of a failed try).
Result<bool> can_record_into(const std::string& path);

struct SimulationRecord
{
  const dsl::Program* program = nullptr;
  std::string sources; // the scenario files as JSON (what the store keeps of a version)
  std::int64_t from = 0;
  std::int64_t until = 0; // responses after the simulated days are not written
  std::vector<EnrollmentRecord> enrollments;
  const std::vector<Decision>* decisions = nullptr;
  const std::vector<Response>* responses = nullptr;
};

Result<bool> record_simulation(const Store& store, const std::string& path, const SimulationRecord& record);

} // namespace cvmd
