#include "engine/simulation_record.hpp"

#include "engine/command_common.hpp"

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <unistd.h>

namespace cvmd {

namespace {

void
remove_store_files(const std::string& path)
{
  std::error_code ignored;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::filesystem::remove(path + suffix, ignored);
  }
}

void
write_simulation(Store& target, const SimulationRecord& r)
{
  Store::Writer writer(target);
  for (const auto& s : r.program->scenarios) {
    writer.save_scenario_version(s.id, s.version, s.file, r.sources, r.from);
    writer.mark_launched(s.id, r.from);
  }
  for (const auto& e : r.enrollments) {
    writer.ensure_customer(e.customer_id, r.from);
    writer.save_enrollment(e);
  }
  for (const auto& d : *r.decisions) {
    writer.save_decision(d);
    if (d.action == Action::send) {
      writer.queue_message(planned_message(d));
      writer.record_delivery({d.key, "sent", true, d.at, 0, "simulation", "", "simulated"});
    }
  }
  for (const auto& response : *r.responses) {
    const auto& e = response.event;
    if (e.at >= r.until) {
      continue; // drawn for a moment the simulation did not reach
    }
    if (e.type == "order") {
      writer.insert_order({e.order_id, e.customer_id, e.at, e.amount_cents, "", ""});
    } else {
      writer.insert_event({e.customer_id, e.type, e.at,
                           boost::json::serialize(boost::json::object{{"template", response.template_name},
                                                                      {"message_key", response.message_key}})});
    }
  }
  writer.commit();
}

} // namespace

Result<bool>
can_record_into(const std::string& path)
{
  if (std::filesystem::exists(path)) {
    return Result<bool>::failure(path + " exists; --record-into writes a new store and never overwrites one");
  }
  if (std::filesystem::exists(path + ".part")) {
    return Result<bool>::failure(path + ".part exists (left by a recording that did not finish): remove it first");
  }
  return true;
}

Result<bool>
record_simulation(const Store& store, const std::string& path, const SimulationRecord& record)
{
  if (auto free = can_record_into(path); !free) {
    return free;
  }
  // Written beside the target and moved in place when whole: a crash leaves a .part file,
  // never a store that looks complete without the simulation in it.
  const auto part = path + ".part";
  auto copied = store.copy_to(part);
  if (!copied) {
    remove_store_files(part);
    return copied;
  }
  try {
    {
      auto opened = Store::open(part);
      if (!opened) {
        throw std::runtime_error(opened.error());
      }
      write_simulation(**opened, record);
    }                                              // closed: the last connection folds the WAL into the file
    if (::link(part.c_str(), path.c_str()) != 0) { // fails rather than replace a file made meanwhile
      throw std::runtime_error(std::string("cannot create it: ") + std::strerror(errno));
    }
  } catch (const std::exception& e) {
    remove_store_files(part);
    return Result<bool>::failure(path + ": cannot record the simulation: " + e.what());
  }
  remove_store_files(part);
  return true;
}

} // namespace cvmd
