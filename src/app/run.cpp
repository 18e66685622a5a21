#include "app/run.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "app/cli.hpp"
#include "app/cni.hpp"
#include "app/dialect.hpp"
#include "app/explain.hpp"
#include "app/log.hpp"
#include "app/traffic.hpp"
#include "app/validate.hpp"
#include "app/cni_install.hpp"
#include "meshcap/diff.hpp"
#include "meshcap/planner.hpp"
#include "meshcap/render.hpp"
#include "ipt/ipt_backend.hpp"
#include "nft/nft_backend.hpp"
#include "sys/features.hpp"
#include "sys/file.hpp"
#include "sys/netns.hpp"
#include "sys/backend_probe.hpp"
#include "sys/lock.hpp"
#include "sys/routing.hpp"

namespace meshcap::app {

namespace {

using Clock = std::chrono::steady_clock;

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
      return render_iptables(plan, config.family, config.ipset == IpsetMode::Auto);
    case OutputFormat::Json:
      return render_json(plan).dump(2) + "\n";
    case OutputFormat::Nft:
      break;
  }
  return render_nft(plan, config.family);
}

Result<void> compare(Backend& backend, const Plan& want, const char* what, std::string* difference) {
  auto got = backend.observe();
  if (!got) return tl::unexpected(got.error());
  // Moved in: diff() canonicalises in place instead of copying both plans.
  if (auto d = diff(backend.held_form(want), std::move(*got)); !d.empty()) {
    spdlog::debug("difference (- wanted, + found):\n{}", d);
    print_block(d);
    if (difference) *difference = d;
    return fail(ErrorKind::Verify, std::string(what) +
                                       ": the kernel does not hold the intended rules (difference above); "
                                       "run `meshcap apply` to converge");
  }
  return {};
}

// A stray backend's rules by count; a chain without rules (on iptables, an
// ipset no rule uses: its "chain" is named for it) by name, since a count of
// zero rules would read as nothing held.
std::string describe(const std::vector<Stray>& strays) {
  std::string out;
  for (const auto& s : strays) {
    std::string held;
    if (size_t n = rule_count(s.held))
      held = std::to_string(n) + " of meshcap's rules for " + families(s.held);
    for (const auto& t : s.held.tables)
      for (const auto& c : t.chains)
        if (c.rules.empty()) held += (held.empty() ? "" : ", ") + c.name;
    out += (out.empty() ? "" : "; ") + std::string("the ") + s.backend + " backend still holds " + held;
  }
  return out;
}

// Verification failed: put the namespace back as it was before the run.
Result<void> restore(Backend& backend, const Error& failed) {
  if (auto undone = backend.undo(); !undone)
    return fail(failed.kind, failed.message + "; putting back the previous state failed too: " +
                                 undone.error().message);
  spdlog::info("put back what the namespace held before this run");
  return tl::unexpected(failed);
}

Result<void> verify(const Config& config, const Plan& plan, Backend& backend, const char*& verified,
                    std::string* difference) {
  verified = "not verified";
  if (config.verify == VerifyMode::None) return {};
  if (auto ok = compare(backend, plan, "verification", difference); !ok) return ok;
  verified = "verified rules";
  if (config.verify != VerifyMode::Traffic) return {};
  if (auto probe = choose_probe(config)) {
    if (auto ok = verify_traffic(config, *probe); !ok) return ok;
    verified = "verified rules and traffic";
  } else {
    spdlog::warn("--verify traffic: this configuration captures no IPv4 connection meshcap itself "
                 "could open; only the rules were verified");
  }
  return {};
}

// meshcap's state in the other netfilter backends. One that cannot be read
// (legacy iptables without CAP_NET_RAW) is said once and passed over: this
// run needs nothing from it.
Result<std::vector<Stray>> strays(Backend& backend) {
  auto found = backend.strays();
  if (!found) return found;
  std::vector<Stray> held;
  for (auto& s : *found) {
    if (s.unreadable.empty())
      held.push_back(std::move(s));
    else
      spdlog::warn("could not look for meshcap's rules in the {} backend ({}); passed over", s.backend,
                   s.unreadable);
  }
  return held;
}

// Removes what strays() found, and says so.
Result<void> remove_strays(Backend& backend, const std::vector<Stray>& found, const char* why) {
  if (found.empty()) return {};
  if (auto removed = backend.remove_strays(found); !removed) return removed;
  for (const auto& s : found)
    spdlog::info("removed meshcap's {} rules for {} from the {} backend{}", rule_count(s.held),
                 families(s.held), s.backend, why);
  return {};
}

Result<void> apply(const Config& config, const Plan& plan, Backend& backend, std::string* difference) {
  auto start = Clock::now();
  if (auto applied = backend.apply(plan); !applied) return applied;
  const char* verified = nullptr;
  if (auto ok = verify(config, plan, backend, verified, difference); !ok) return restore(backend, ok.error());
  // The other backend's meshcap state goes once this one's is verified, so a
  // failed run never leaves the namespace without either.
  auto found = strays(backend);
  if (!found) return tl::unexpected(found.error());
  if (auto ok = remove_strays(backend, *found, fmt::format(" (this run uses {})", backend.name()).c_str()); !ok)
    return ok;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  spdlog::info("applied {} rules for {} via {} ({} inbound, {} policy rules), {} in {:.2f} ms",
               rule_count(plan), families(plan), backend.name(),
               config.inbound_mode == InboundMode::Tproxy ? "tproxy" : "redirect",
               plan.policy_rules.size(), verified, static_cast<double>(us) / 1000.0);
  return {};
}

Result<void> check(const Plan& plan, Backend& backend, std::string* difference) {
  auto same = compare(backend, plan, "check", difference);
  if (!same && same.error().kind != ErrorKind::Verify) return same;
  auto found = strays(backend);
  if (!found) return tl::unexpected(found.error());
  if (!found->empty()) {
    std::string also = describe(*found) + "; run `meshcap apply` to converge or `meshcap cleanup`";
    return fail(ErrorKind::Verify, same ? "check: " + also : same.error().message + "; and " + also);
  }
  if (!same) return same;
  spdlog::info("check: the namespace holds exactly the intended rules ({} rules for {})", rule_count(plan),
               families(plan));
  return {};
}

Result<void> cleanup(Backend& backend) {
  auto found = strays(backend);
  if (!found) return tl::unexpected(found.error());
  if (auto removed = backend.remove(); !removed) return removed;
  if (auto removed = remove_strays(backend, *found, ""); !removed) return removed;
  spdlog::info("removed meshcap's tables, policy rules and routes");
  return {};
}

}  // namespace

namespace {

// nft as the other backend of an iptables run, whose read (the stray check)
// is also the probe: its first message asks nf_tables for its tables. So
// the kernel is asked on its own whether it has nf_tables only when that read
// fails, and one without it holds nothing of meshcap's there. One netfilter
// socket per run instead of the probe's and the read's.
class NftUnlessAbsent final : public NetfilterBackend {
 public:
  const char* name() const override { return nft_->name(); }
  Result<void> apply(const Plan& plan) override { return nft_->apply(plan); }
  Result<Plan> observe() override {
    auto held = nft_->observe();
    if (!held && !sys::nf_tables_available()) return Plan{};
    return held;
  }
  Result<void> remove() override { return nft_->remove(); }
  Plan held_form(const Plan& plan) const override { return nft_->held_form(plan); }

 private:
  std::unique_ptr<NetfilterBackend> nft_ = make_nft_backend();
};

}  // namespace

Result<std::unique_ptr<Backend>> kernel_backend(BackendKind kind, IpsetMode ipset) {
  std::optional<bool> nft;  // whether the kernel has nf_tables, where it decides the backend
  if (kind == BackendKind::Auto) {
    nft = sys::nf_tables_available();
    auto legacy = sys::legacy_iptables_user();
    if (!legacy) return tl::unexpected(legacy.error());
    if (!*nft) {
      kind = BackendKind::Iptables;
      spdlog::info("--backend auto: iptables, this kernel has no nf_tables");
    } else if (*legacy) {
      kind = BackendKind::Iptables;
      spdlog::info("--backend auto: iptables, the namespace already uses legacy iptables ({})", **legacy);
    } else {
      kind = BackendKind::Nft;
      spdlog::debug("--backend auto: nft");
    }
  }
  std::vector<std::unique_ptr<NetfilterBackend>> others;
  if (kind == BackendKind::Iptables) {
    if (!nft)
      others.push_back(std::make_unique<NftUnlessAbsent>());
    else if (*nft)
      others.push_back(make_nft_backend());
    return compose(make_iptables_backend(XtablesLockHold::ForLifetime, ipset == IpsetMode::Auto),
                   std::move(others), sys::make_kernel_routing());
  }
  others.push_back(make_iptables_backend(XtablesLockHold::ForLifetime, ipset == IpsetMode::Auto));
  return compose(make_nft_backend(), std::move(others), sys::make_kernel_routing());
}

Result<void> execute(const Invocation& inv, Config config, const Environment& env, std::string* difference) {
  if (config.dry_run) {
    // No namespace is inspected in a dry run, so `auto` shows both families.
    if (config.ipv6 == Ipv6Mode::Auto) config.ipv6 = Ipv6Mode::On;
    sys::write_all(STDOUT_FILENO, print_plan(config, make_plan(config)));
    return {};
  }
  auto guard = sys::enter_netns(config.netns);
  if (!guard) return tl::unexpected(guard.error());
  // After entering: the lock is the namespace's, and so is everything below.
  auto lock = sys::lock_netns(env.lock_timeout);
  if (!lock) return tl::unexpected(lock.error());
  if (config.ipv6 == Ipv6Mode::Auto)
    config.ipv6 = sys::ipv6_enabled() ? Ipv6Mode::On : Ipv6Mode::Off;
  auto backend = env.make_backend(config.backend, config.ipset);
  if (!backend) return tl::unexpected(backend.error());
  Plan plan = make_plan(config);
  switch (inv.command) {
    case Command::Apply:
      return apply(config, plan, **backend, difference);
    case Command::Check:
      return check(plan, **backend, difference);
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
  if (argc > 1 && std::string_view(argv[1]) == "explain") return explain_command(argc, argv);
  if (argc > 1 && std::string_view(argv[1]) == "cni") return cni_install_command(argc, argv);
  if (argc > 1 && std::string_view(argv[1]) == "istio-iptables") return dialect_command(Dialect::Istio, argc, argv, 2);
  if (argc > 1 && std::string_view(argv[1]) == "linkerd-proxy-init")
    return dialect_command(Dialect::Linkerd, argc, argv, 2);
  if (linkerd_command_line(argc, argv)) return dialect_command(Dialect::Linkerd, argc, argv, 1);
  auto env = environment("MESHCAP_");  // all that the settings read
  auto inv = read_invocation(argc, argv, env);
  // In json mode every line is JSON from the first, so the log format is
  // settled, as far as the input allows, before anything is reported.
  setup_logging(inv ? log_format_of(inv->raw) : log_format_hint(argc, argv, env), "info");
  if (!inv) return report(inv.error());
  if (inv->exit_now) {
    sys::write_all(STDOUT_FILENO, inv->output);
    return 0;
  }
  auto config = parse_config(inv->raw);
  if (!config) return report(config.error());
  setup_logging(config->log_format, config->log_level);
  for (const auto& name : inv->unknown_env)
    spdlog::warn("ignoring {}: not a meshcap setting", name);
  try {
    bool validating = inv->command == Command::Validate;
    auto done = validating ? validate(*config) : execute(*inv, std::move(*config));
    if (done) return 0;
    int code = report(done.error());
    return validating && done.error().kind == ErrorKind::Verify ? config->failure_exit_code : code;
  } catch (const std::exception& e) {
    return report(Error{ErrorKind::Other, std::string("unexpected failure: ") + e.what()});
  }
}

}  // namespace meshcap::app
