#include "engine/response_model.hpp"

#include "engine/policies.hpp"

#include <xxhash.h>
#include <yaml-cpp/yaml.h>

#include <cmath>

namespace cvmd {

namespace {

std::string
where(const std::string& file, const YAML::Mark& mark)
{
  return file + ":" + std::to_string(mark.line + 1);
}

// A uniform draw in [0, 1) that depends only on the seed, the message and what is drawn.
double
draw(std::uint64_t seed, const std::string& key, const char* what)
{
  std::string text = key;
  text.append(1, '\x1f').append(what);
  const auto hash = XXH64(text.data(), text.size(), seed);
  return static_cast<double>(hash >> 11) / 9007199254740992.0;
}

Result<double>
rate(const std::string& file, const YAML::Node& node, const std::string& name)
{
  double v = -1;
  try {
    v = node.as<double>();
  } catch (const YAML::Exception&) {
  }
  if (!(v >= 0 && v <= 1)) {
    return Result<double>::failure(where(file, node.Mark()) + ": " + name + " must be a share between 0 and 1");
  }
  return v;
}

Result<ResponseRates>
rates(const std::string& file, const YAML::Node& node, const std::string& name, ResponseRates out)
{
  if (!node.IsMap()) {
    return Result<ResponseRates>::failure(where(file, node.Mark()) + ": " + name +
                                          " must be a mapping (open, click, order)");
  }
  for (const auto& entry : node) {
    const auto key = entry.first.as<std::string>();
    double* target = key == "open" ? &out.open : key == "click" ? &out.click : key == "order" ? &out.order : nullptr;
    if (!target) {
      return Result<ResponseRates>::failure(where(file, entry.first.Mark()) + ": unknown key '" + name + "." + key +
                                            "' (open, click, order)");
    }
    auto v = rate(file, entry.second, name + "." + key);
    if (!v) {
      return Result<ResponseRates>::failure(v.error());
    }
    *target = *v;
  }
  return out;
}

} // namespace

namespace {

Result<ResponseModel>
load_checked(const std::string& path)
{
  using Out = Result<ResponseModel>;
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Out::failure(path + ": cannot read the response model");
  } catch (const YAML::Exception& e) {
    return Out::failure(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  ResponseModel model;
  if (!root.IsMap()) {
    return Out::failure(path + ":1: a response model is a mapping (seed, baseline, channels, templates)");
  }
  for (const auto& entry : root) {
    const auto key = entry.first.as<std::string>();
    const auto& value = entry.second;
    if (key == "seed") {
      try {
        model.seed = value.as<std::uint64_t>();
      } catch (const YAML::Exception&) {
        return Out::failure(where(path, value.Mark()) + ": seed must be a whole number, 0 or more");
      }
    } else if (key == "baseline") {
      if (!value.IsMap()) {
        return Out::failure(where(path, value.Mark()) + ": baseline must be a mapping (order, within)");
      }
      for (const auto& b : value) {
        const auto name = b.first.as<std::string>();
        if (name == "order") {
          auto v = rate(path, b.second, "baseline.order");
          if (!v) {
            return Out::failure(v.error());
          }
          model.baseline_order = *v;
        } else if (name == "within") {
          auto d = parse_duration(b.second.as<std::string>(""));
          if (!d || *d <= 0) {
            return Out::failure(where(path, b.second.Mark()) + ": baseline.within must be a duration like 14 days");
          }
          model.baseline_within_seconds = *d;
        } else {
          return Out::failure(where(path, b.first.Mark()) + ": unknown key 'baseline." + name + "' (order, within)");
        }
      }
    } else if (key == "channels" || key == "templates") {
      if (!value.IsMap()) {
        return Out::failure(where(path, value.Mark()) + ": " + key + " must be a mapping of names to rates");
      }
      for (const auto& c : value) {
        const auto name = c.first.as<std::string>();
        if (key == "channels" && !model.channels.count(name)) {
          return Out::failure(where(path, c.first.Mark()) + ": unknown channel '" + name + "' (email, sms, webhook)");
        }
        auto& target = key == "channels" ? model.channels[name] : model.templates[name];
        auto parsed = rates(path, c.second, key + "." + name, target);
        if (!parsed) {
          return Out::failure(parsed.error());
        }
        target = *parsed;
      }
    } else {
      return Out::failure(where(path, entry.first.Mark()) + ": unknown key '" + key +
                          "' (seed, baseline, channels, templates)");
    }
  }
  return model;
}

} // namespace

Result<ResponseModel>
load_response_model(const std::string& path)
{
  try {
    return load_checked(path);
  } catch (const YAML::Exception& e) {
    // A key that is not a plain name (a list, a mapping), a value of the wrong kind.
    return Result<ResponseModel>::failure(path + ":" + std::to_string(e.mark.line + 1) + ": " +
                                          (e.msg.empty() ? std::string("not understood") : e.msg) +
                                          " (keys are plain names, rates are numbers)");
  }
}

std::vector<Response>
respond(const ResponseModel& model, const Decision& d, std::int64_t aov_cents)
{
  std::vector<Response> out;
  const auto amount = aov_cents > 0 ? aov_cents : 3000;
  const auto order = [&](std::int64_t at, const std::string& key) {
    Response r;
    r.event = {d.customer, "order", at, {}, amount, "sim-" + key, false, {}};
    out.push_back(std::move(r));
  };
  if (d.action == Action::enter) {
    const auto key = d.scenario + ":" + std::to_string(d.enrollment);
    if (draw(model.seed, key, "baseline") < model.baseline_order) {
      const auto delay = static_cast<std::int64_t>(draw(model.seed, key, "baseline-at") *
                                                   static_cast<double>(model.baseline_within_seconds));
      order(d.at + 3600 + delay, key);
    }
    return out;
  }
  if (d.action != Action::send) {
    return out;
  }
  const auto channel = model.channels.find(d.channel);
  auto r = channel == model.channels.end() ? ResponseRates{} : channel->second;
  if (const auto own = model.templates.find(d.template_name); own != model.templates.end()) {
    r = own->second;
  }
  auto t = d.at;
  const auto event = [&](const char* type, std::int64_t at) {
    Response response;
    response.event = {d.customer, type, at, d.template_name, 0, {}, false, {}};
    response.message_key = d.key;
    response.template_name = d.template_name;
    out.push_back(std::move(response));
  };
  if (d.channel == "email") {
    if (draw(model.seed, d.key, "open") >= r.open) {
      return out;
    }
    t += 600 + static_cast<std::int64_t>(draw(model.seed, d.key, "open-at") * 86400); // within a day
    event("opened", t);
  }
  if (draw(model.seed, d.key, "click") >= r.click) {
    return out;
  }
  t += 30 + static_cast<std::int64_t>(draw(model.seed, d.key, "click-at") * 3600);
  event("clicked", t);
  if (draw(model.seed, d.key, "order") < r.order) {
    order(t + 300 + static_cast<std::int64_t>(draw(model.seed, d.key, "order-at") * 3 * 86400), d.key);
  }
  return out;
}

} // namespace cvmd
