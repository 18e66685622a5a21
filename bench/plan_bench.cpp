// Micro-benchmarks of the pure path of `meshcap apply` (no kernel):
// parse_config, make_plan, render_nft, and the netlink encoding that the nft
// backend sends (encode_apply + build_batch), for the default configuration
// and for 10,000 excluded CIDRs + 1,000 excluded port ranges (the same
// deterministic lists as bench/apply.sh).
//
//   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DMESHCAP_BENCH=ON
//   cmake --build build-bench -j2 --target plan_bench && build-bench/bench/plan_bench
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "meshcap/config.hpp"
#include "meshcap/planner.hpp"
#include "meshcap/render.hpp"
#include "nft/encode.hpp"

namespace {

using namespace meshcap;

// n distinct /24 blocks: 11.0.0.0/24, 11.0.1.0/24, ... (as bench/apply.sh).
std::string cidr_list(int n) {
  std::string out;
  char buf[32];
  for (int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%s%d.%d.%d.0/24", i ? "," : "", 11 + i / 100, (i / 10) % 10, i % 10);
    out += buf;
  }
  return out;
}

// n two-port ranges 20000-20001, 20003-20004, ...
std::string port_list(int n) {
  std::string out;
  char buf[32];
  for (int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%s%d-%d", i ? "," : "", 20000 + 3 * i, 20001 + 3 * i);
    out += buf;
  }
  return out;
}

// range(0): excluded CIDRs, range(1): excluded port ranges.
RawSettings raw_settings(const benchmark::State& state) {
  RawSettings raw;
  if (state.range(0) > 0)
    raw["exclude-outbound-cidrs"] = {cidr_list(static_cast<int>(state.range(0))), "bench"};
  if (state.range(1) > 0)
    raw["exclude-outbound-ports"] = {port_list(static_cast<int>(state.range(1))), "bench"};
  raw["ipv6"] = {"on", "bench"};  // what `auto` resolves to in a pod with IPv6
  return raw;
}

Config config_for(const benchmark::State& state) {
  auto config = parse_config(raw_settings(state));
  if (!config) {
    std::fprintf(stderr, "plan_bench: parse_config failed\n");
    std::abort();
  }
  return *config;
}

void BM_ParseConfig(benchmark::State& state) {
  const RawSettings raw = raw_settings(state);
  for (auto _ : state) benchmark::DoNotOptimize(parse_config(raw));
}

void BM_MakePlan(benchmark::State& state) {
  const Config config = config_for(state);
  for (auto _ : state) benchmark::DoNotOptimize(make_plan(config));
}

void BM_RenderNft(benchmark::State& state) {
  const Plan plan = make_plan(config_for(state));
  for (auto _ : state) benchmark::DoNotOptimize(render_nft(plan));
}

// What the issue asks for: make_plan + render_nft together (the dry-run path).
void BM_MakePlanRenderNft(benchmark::State& state) {
  const Config config = config_for(state);
  for (auto _ : state) {
    Plan plan = make_plan(config);
    benchmark::DoNotOptimize(render_nft(plan));
  }
  state.SetLabel(std::to_string(render_nft(make_plan(config)).size()) + " bytes of nft");
}

// What the nft backend builds before the one sendmsg: libnftnl objects for
// every table/set/chain/rule, then the batch buffer.
void BM_EncodeApply(benchmark::State& state) {
  const Plan plan = make_plan(config_for(state));
  const std::vector<Family> families{Family::V4, Family::V6};
  size_t bytes = 0;
  for (auto _ : state) {
    auto messages = nft::encode_apply(plan, families);
    if (!messages) state.SkipWithError("encode_apply failed");
    auto batch = nft::build_batch(*messages, 1);
    bytes = batch.size();
    benchmark::DoNotOptimize(batch.data());
  }
  state.SetLabel(std::to_string(bytes) + " batch bytes");
}

// Only build_batch over already encoded messages.
void BM_BuildBatch(benchmark::State& state) {
  const Plan plan = make_plan(config_for(state));
  auto messages = nft::encode_apply(plan, {Family::V4, Family::V6});
  if (!messages) {
    state.SkipWithError("encode_apply failed");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(nft::build_batch(*messages, 1));
  state.SetLabel(std::to_string(messages->size()) + " messages");
}

// {0, 0}: the default configuration; {10000, 1000}: the big one.
#define MESHCAP_BENCH_ARGS ArgNames({"cidrs", "ports"})->Args({0, 0})->Args({10000, 1000})->Unit(benchmark::kMicrosecond)
BENCHMARK(BM_ParseConfig)->MESHCAP_BENCH_ARGS;
BENCHMARK(BM_MakePlan)->MESHCAP_BENCH_ARGS;
BENCHMARK(BM_RenderNft)->MESHCAP_BENCH_ARGS;
BENCHMARK(BM_MakePlanRenderNft)->MESHCAP_BENCH_ARGS;
BENCHMARK(BM_EncodeApply)->MESHCAP_BENCH_ARGS;
BENCHMARK(BM_BuildBatch)->MESHCAP_BENCH_ARGS;

}  // namespace

BENCHMARK_MAIN();
