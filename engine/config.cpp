#include "engine/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

namespace cvmd {

namespace fs = std::filesystem;

namespace {

// Keys of later subsystems are accepted here and validated by them when they load.
const char* const known_keys[] = {"store",    "scenarios",   "templates", "timezone",          "lifecycle",
                                  "vip",      "value_tiers", "clv",       "acquisition_spend", "policies",
                                  "rankings", "connectors",  "server",    "delivery",          "logging"};

std::string
where(const std::string& file, const YAML::Mark& mark)
{
  return file + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

// `lifecycle: {new_days, lapsing_after_days, inactive_after_days}` and `vip: {top_percent}`.
std::string
read_metrics(const std::string& file, const std::string& key, const YAML::Node& node, MetricsConfig& metrics)
{
  if (!node.IsMap()) {
    return where(file, node.Mark()) + ": error: '" + key + "' must be a mapping";
  }
  for (const auto& entry : node) {
    const auto name = entry.first.Scalar();
    double* number = nullptr;
    int* days = nullptr;
    if (key == "lifecycle" && name == "new_days") {
      days = &metrics.new_days;
    } else if (key == "lifecycle" && name == "lapsing_after_days") {
      days = &metrics.lapsing_after_days;
    } else if (key == "lifecycle" && name == "inactive_after_days") {
      days = &metrics.inactive_after_days;
    } else if (key == "vip" && name == "top_percent") {
      number = &metrics.vip_top_percent;
    } else if (key == "clv" && name == "horizon_days") {
      number = &metrics.clv_horizon_days;
    } else if (key == "clv" && name == "discount_rate") {
      number = &metrics.clv_discount_rate;
    } else {
      return where(file, entry.first.Mark()) + ": error: unknown key '" + key + "." + name + "'";
    }
    try {
      if (days) {
        *days = entry.second.as<int>();
        if (*days <= 0) {
          throw YAML::Exception(entry.second.Mark(), "");
        }
      } else {
        *number = entry.second.as<double>();
        const double high = name == "horizon_days" ? 3650 : name == "discount_rate" ? 1 : 100;
        if (!std::isfinite(*number) || *number < 0 || (*number == 0 && name != "discount_rate") || *number > high) {
          throw YAML::Exception(entry.second.Mark(), "");
        }
      }
    } catch (const YAML::Exception&) {
      return where(file, entry.second.Mark()) + ": error: '" + key + "." + name + "' must be " +
             (days                      ? "a whole number of days above 0"
              : name == "horizon_days"  ? "a number of days above 0 and at most 3650"
              : name == "discount_rate" ? "a yearly rate from 0 to 1 (0.1 = 10%)"
                                        : "a percentage above 0 and at most 100");
    }
  }
  if (metrics.lapsing_after_days >= metrics.inactive_after_days) {
    return where(file, node.Mark()) + ": error: lifecycle.lapsing_after_days must be below inactive_after_days";
  }
  return {};
}

// `acquisition_spend: [{channel: search, month: 2026-01, amount: 1200}, ...]`
std::string
read_spend(const std::string& file, const YAML::Node& node, std::vector<AcquisitionSpend>& out)
{
  if (!node.IsSequence()) {
    return where(file, node.Mark()) + ": error: 'acquisition_spend' must be a list of {channel, month, amount}";
  }
  for (const auto& item : node) {
    if (!item.IsMap()) {
      return where(file, item.Mark()) + ": error: each spend is {channel: NAME, month: YYYY-MM, amount: NUMBER}";
    }
    AcquisitionSpend spend;
    for (const auto& field : item) {
      const auto name = field.first.Scalar();
      const auto value = field.second.Scalar();
      const auto is_month = [](const std::string& v) {
        return v.size() == 7 && v[4] == '-' && std::all_of(v.begin(), v.begin() + 4, ::isdigit) && ::isdigit(v[5]) &&
               ::isdigit(v[6]) && std::stoi(v.substr(5)) >= 1 && std::stoi(v.substr(5)) <= 12;
      };
      if (name == "channel") {
        if (value.empty()) {
          return where(file, field.second.Mark()) + ": error: 'channel' must be a name";
        }
        spend.channel = value;
      } else if (name == "month") {
        if (!is_month(value)) {
          return where(file, field.second.Mark()) + ": error: 'month' must be a month, YYYY-MM";
        }
        spend.month = value;
      } else if (name == "amount") {
        try {
          spend.amount = field.second.as<double>();
        } catch (const YAML::Exception&) {
          spend.amount = -1;
        }
        if (!std::isfinite(spend.amount) || spend.amount < 0) {
          return where(file, field.second.Mark()) + ": error: 'amount' must be a number, 0 or more";
        }
      } else {
        return where(file, field.first.Mark()) + ": error: unknown key '" + name +
               "': a spend has channel, month and amount";
      }
    }
    if (spend.channel.empty() || spend.month.empty()) {
      return where(file, item.Mark()) + ": error: each spend needs a channel, a month and an amount";
    }
    out.push_back(spend);
  }
  return {};
}

// `policies: {frequency_cap: {max: 3, per: 7 days}, quiet_hours: "21:00-09:00"}`
std::string
read_policies(const std::string& file, const YAML::Node& node, PolicyConfig& out)
{
  if (!node.IsMap()) {
    return where(file, node.Mark()) + ": error: 'policies' must be a mapping (frequency_cap, quiet_hours)";
  }
  for (const auto& entry : node) {
    const auto name = entry.first.Scalar();
    const auto& value = entry.second;
    if (name == "quiet_hours") {
      auto quiet = parse_quiet_hours(value.IsScalar() ? value.Scalar() : std::string());
      if (!quiet) {
        return where(file, value.Mark()) + ": error: policies.quiet_hours: " + quiet.error();
      }
      out.quiet_hours = *quiet;
    } else if (name == "frequency_cap") {
      if (!value.IsMap() || !value["max"] || !value["per"]) {
        return where(file, value.Mark()) +
               ": error: policies.frequency_cap must be {max: N, per: DURATION}, e.g. {max: 3, per: 7 days}";
      }
      for (const auto& field : value) {
        const auto key = field.first.Scalar();
        if (key == "max") {
          int max = 0;
          try {
            max = field.second.as<int>();
          } catch (const YAML::Exception&) {
          }
          if (max <= 0) {
            return where(file, field.second.Mark()) +
                   ": error: policies.frequency_cap.max must be a whole number above 0";
          }
          out.cap_max = max;
        } else if (key == "per") {
          auto per = parse_duration(field.second.IsScalar() ? field.second.Scalar() : std::string());
          if (!per) {
            return where(file, field.second.Mark()) + ": error: policies.frequency_cap.per: " + per.error();
          }
          out.cap_per_seconds = *per;
        } else {
          return where(file, field.first.Mark()) + ": error: unknown key 'policies.frequency_cap." + key +
                 "' (max, per)";
        }
      }
    } else {
      return where(file, entry.first.Mark()) + ": error: unknown key 'policies." + name +
             "' (frequency_cap, quiet_hours)";
    }
  }
  return {};
}

} // namespace

Result<Config>
load_config(const std::string& path)
{
  Config config;
  const bool explicit_path = !path.empty();
  const std::string file = explicit_path ? path : "cvmd.yaml";
  std::error_code ec;
  if (fs::is_directory(file, ec)) {
    return Result<Config>::failure(file + ": is a folder, not a configuration file");
  }
  if (!fs::exists(file, ec)) {
    if (explicit_path) {
      return Result<Config>::failure(file + ": configuration file not found");
    }
    return config;
  }
  config.file = file;
  YAML::Node root;
  try {
    root = YAML::LoadFile(file);
  } catch (const YAML::BadFile&) {
    return Result<Config>::failure(file + ": cannot read the configuration file");
  } catch (const YAML::Exception& e) {
    return Result<Config>::failure(where(file, e.mark) + ": error: not valid YAML: " + e.msg);
  } catch (const std::exception& e) {
    return Result<Config>::failure(file + ": cannot read the configuration file: " + e.what());
  }
  if (root.IsNull()) {
    return config;
  }
  if (!root.IsMap()) {
    return Result<Config>::failure(where(file, root.Mark()) + ": error: the configuration must be a mapping of keys");
  }
  const auto base = fs::path(file).parent_path();
  auto relative = [&](const std::string& value) {
    return fs::path(value).is_absolute() || base.empty() ? value : (base / value).string();
  };
  for (const auto& entry : root) {
    const auto key = entry.first.Scalar();
    if (std::find(std::begin(known_keys), std::end(known_keys), key) == std::end(known_keys)) {
      return Result<Config>::failure(where(file, entry.first.Mark()) + ": error: unknown key '" + key + "'");
    }
    const bool text_key = key == "store" || key == "scenarios" || key == "templates" || key == "timezone";
    if (text_key && !entry.second.IsScalar()) {
      return Result<Config>::failure(where(file, entry.second.Mark()) + ": error: '" + key + "' must be text");
    }
    if (key == "store") {
      config.store = relative(entry.second.Scalar());
    } else if (key == "scenarios") {
      config.scenarios = relative(entry.second.Scalar());
    } else if (key == "templates") {
      config.templates = relative(entry.second.Scalar());
      config.templates_set = true;
    } else if (key == "timezone") {
      config.timezone = entry.second.Scalar();
      if (!known_time_zone(config.timezone)) {
        return Result<Config>::failure(where(file, entry.second.Mark()) + ": error: unknown time zone '" +
                                       config.timezone + "' (an IANA name like Europe/Berlin, or UTC)");
      }
    } else if (key == "rankings") {
      const auto& node = entry.second;
      if (!node.IsMap() || node.size() != 1 || !node["refresh_every"]) {
        return Result<Config>::failure(where(file, node.Mark()) +
                                       ": error: 'rankings' must be {refresh_every: DURATION} (e.g. 1 day, or never)");
      }
      const auto& value = node["refresh_every"];
      const auto text = value.IsScalar() ? value.Scalar() : std::string();
      if (text == "never") {
        config.rankings_refresh_seconds = 0;
      } else {
        auto every = parse_duration(text);
        if (!every || *every < 3600) {
          return Result<Config>::failure(where(file, value.Mark()) + ": error: rankings.refresh_every: " +
                                         (every ? "at least 1 hour" : every.error()) + ", or never");
        }
        config.rankings_refresh_seconds = *every;
      }
    } else if (key == "connectors") {
      if (auto error = read_connectors(file, entry.second, config.connectors, base.string()); !error.empty()) {
        return Result<Config>::failure(error);
      }
    } else if (key == "server") {
      if (auto error = read_server(file, entry.second, config.server); !error.empty()) {
        return Result<Config>::failure(error);
      }
    } else if (key == "delivery") {
      if (auto error = read_delivery(file, entry.second, config.delivery); !error.empty()) {
        return Result<Config>::failure(error);
      }
    } else if (key == "logging") {
      const auto& node = entry.second;
      const auto format = node.IsMap() && node.size() == 1 && node["format"] && node["format"].IsScalar()
                            ? node["format"].Scalar()
                            : std::string();
      if (format != "text" && format != "json") {
        return Result<Config>::failure(where(file, node.Mark()) +
                                       ": error: 'logging' must be {format: text} or {format: json}");
      }
      config.json_logs = format == "json";
    } else if (key == "policies") {
      if (auto error = read_policies(file, entry.second, config.policies); !error.empty()) {
        return Result<Config>::failure(error);
      }
    } else if (key == "acquisition_spend") {
      if (auto error = read_spend(file, entry.second, config.acquisition_spend); !error.empty()) {
        return Result<Config>::failure(error);
      }
    } else if (key == "lifecycle" || key == "vip" || key == "clv") {
      if (auto error = read_metrics(file, key, entry.second, config.metrics); !error.empty()) {
        return Result<Config>::failure(error);
      }
    }
  }
  for (const auto& c : config.connectors) {
    // Mailbox providers want a one-click unsubscribe (RFC 8058) in marketing mail, and a
    // link without a signature would let anyone unsubscribe anyone.
    if (c.type == "smtp" && (config.server.public_url.empty() || config.server.link_secret.empty())) {
      return Result<Config>::failure(file + ": error: connectors." + c.name +
                                     " sends real mail, whose List-Unsubscribe link needs server.public_url and "
                                     "server.link_secret (the link's HMAC key, from the environment)");
    }
  }
  return config;
}

const ConnectorConfig*
Config::find_connector(const std::string& name) const
{
  for (const auto& c : connectors) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

} // namespace cvmd
