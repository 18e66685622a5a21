#include "app/run.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "app/cli.hpp"
#include "app/cni.hpp"
#include "app/log.hpp"
#include "app/traffic.hpp"
#include "app/validate.hpp"
#include "meshcap/diff.hpp"
#include "meshcap/planner.hpp"
#include "meshcap/render.hpp"
#include "ipt/ipt_backend.hpp"
#include "nft/nft_backend.hpp"
#include "sys/features.hpp"
#include "sys/netns.hpp"
#include "sys/rtnl.hpp"

namespace meshcap::app {

namespace {

using Clock = std::chrono::steady_clock;

Result<std::unique_ptr<Backend>> make_backend(BackendKind kind) {
  if (kind == BackendKind::Iptables) return make_iptables_backend();
  return make_nft_backend();  // Auto: meshcap prefers nftables
}

std::string families(const Plan& plan) {
  std::string out;
  for (const auto& t : plan.tables) out += (out.empty() ? "" : "+") + std::string(family_name(t.family));
  return out.empty() ? "none" : out;
}

size_t rule_count(const Plan& plan) {
  size_t n = 0;
  for (const auto& t : plan.tables)
    for (const auto& c : t.chains) n += c.rules.size();
  return n;
}

std::string print_plan(const Config& config, const Plan& plan) {
  switch (config.format) {
    case OutputFormat::Iptables:
      return render_iptables(plan, config.family);
    case OutputFormat::Json:
      return render_json(plan).dump(2) + "\n";
    case OutputFormat::Nft:
      break;
  }
  return render_nft(plan, config.family);
}

// What the namespace holds: meshcap's tables plus its routing state.
Result<Plan> observe_all(Backend& backend) {
  auto tables = backend.observe();
  if (!tables) return tl::unexpected(tables.error());
  auto sys = sys::observe_sys();
  if (!sys) return tl::unexpected(sys.error());
  Plan got = std::move(*tables);
  got.policy_rules = std::move(sys->policy_rules);
  got.local_routes = std::move(sys->local_routes);
  got.lo_addresses = std::move(sys->lo_addresses);
  return got;
}

Result<void> compare(Backend& backend, const Plan& want, const char* what, std::string* difference) {
  auto got = observe_all(backend);
  if (!got) return tl::unexpected(got.error());
  // meshcap never removes ::6 from lo (it may predate us), so an unwanted one
  // is no difference; a wanted one that is missing still is.
  std::erase_if(got->lo_addresses, [&](const LoAddress& a) {
    return std::find(want.lo_addresses.begin(), want.lo_addresses.end(), a) == want.lo_addresses.end();
  });
  if (auto d = diff(backend.held_form(want), *got); !d.empty()) {
    spdlog::debug("difference (- wanted, + found):\n{}", d);
    std::fprintf(stderr, "%s", d.c_str());
    if (difference) *difference = d;
    return fail(ErrorKind::Verify, std::string(what) +
                                       ": the kernel does not hold the intended rules (difference above); "
                                       "run `meshcap apply` to converge");
  }
  return {};
}

Result<void> apply(const Config& config, const Plan& plan, Backend& backend, std::string* difference) {
  auto start = Clock::now();
  auto undo = sys::apply_sys(plan);
  if (!undo) return tl::unexpected(undo.error());
  if (auto applied = backend.apply(plan); !applied) {
    if (auto rolled = sys::rollback(*undo); !rolled)
      spdlog::warn("rolling back routing state failed too: {}", rolled.error().message);
    return applied;
  }
  const char* verified = "not verified";
  if (config.verify != VerifyMode::None) {
    if (auto ok = compare(backend, plan, "verification", difference); !ok) return ok;
    verified = "verified rules";
  }
  if (config.verify == VerifyMode::Traffic) {
    if (auto probe = choose_probe(config)) {
      if (auto ok = verify_traffic(config, *probe); !ok) return ok;
      verified = "verified rules and traffic";
    } else {
      spdlog::warn("--verify traffic: this configuration captures no IPv4 connection meshcap itself "
                   "could open; only the rules were verified");
    }
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  spdlog::info("applied {} rules for {} via {} ({} inbound, {} policy rules), {} in {:.2f} ms",
               rule_count(plan), families(plan), backend.name(),
               config.inbound_mode == InboundMode::Tproxy ? "tproxy" : "redirect",
               plan.policy_rules.size(), verified, static_cast<double>(us) / 1000.0);
  return {};
}

Result<void> cleanup(Backend& backend) {
  if (auto removed = backend.remove(); !removed) return removed;
  if (auto removed = sys::remove_sys(); !removed) return removed;
  spdlog::info("removed meshcap's tables, policy rules and routes");
  return {};
}

}  // namespace

Result<void> execute(const Invocation& inv, Config config, std::string* difference) {
  if (config.dry_run) {
    // No namespace is inspected in a dry run, so `auto` shows both families.
    if (config.ipv6 == Ipv6Mode::Auto) config.ipv6 = Ipv6Mode::On;
    std::cout << print_plan(config, make_plan(config)) << std::flush;
    return {};
  }
  auto guard = sys::enter_netns(config.netns);
  if (!guard) return tl::unexpected(guard.error());
  if (config.ipv6 == Ipv6Mode::Auto)
    config.ipv6 = sys::ipv6_enabled() ? Ipv6Mode::On : Ipv6Mode::Off;
  auto backend = make_backend(config.backend);
  if (!backend) return tl::unexpected(backend.error());
  Plan plan = make_plan(config);
  switch (inv.command) {
    case Command::Apply:
      return apply(config, plan, **backend, difference);
    case Command::Check:
      if (auto ok = compare(**backend, plan, "check", difference); !ok) return ok;
      spdlog::info("check: the namespace holds exactly the intended rules ({} rules for {})",
                   rule_count(plan), families(plan));
      return {};
    case Command::Cleanup:
      return cleanup(**backend);
    case Command::Validate:
      break;  // run() sends it to validate(): it needs no backend and no privilege
  }
  return {};
}

namespace {

int report(const Error& e) {
  spdlog::error("{}", e.message);
  return exit_code(e.kind);
}

}  // namespace

int run(int argc, char** argv) {
  // A runtime runs CNI plugins with CNI_COMMAND set; nothing else sets it.
  if (std::getenv("CNI_COMMAND")) return cni_main(environment());
  auto env = environment();
  auto inv = read_invocation(argc, argv, env);
  // In json mode every line is JSON from the first, so the log format is
  // settled, as far as the input allows, before anything is reported.
  setup_logging(inv ? log_format_of(inv->raw) : log_format_hint(argc, argv, env), "info");
  if (!inv) return report(inv.error());
  if (inv->exit_now) {
    std::cout << inv->output << std::flush;
    return 0;
  }
  auto config = parse_config(inv->raw);
  if (!config) return report(config.error());
  setup_logging(config->log_format, config->log_level);
  for (const auto& name : inv->unknown_env)
    spdlog::warn("ignoring {}: not a meshcap setting", name);
  try {
    bool validating = inv->command == Command::Validate;
    auto done = validating ? validate(*config) : execute(*inv, *config);
    if (done) return 0;
    int code = report(done.error());
    return validating && done.error().kind == ErrorKind::Verify ? config->failure_exit_code : code;
  } catch (const std::exception& e) {
    return report(Error{ErrorKind::Other, std::string("unexpected failure: ") + e.what()});
  }
}

}  // namespace meshcap::app
