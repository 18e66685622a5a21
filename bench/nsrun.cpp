// nsrun: the one controlling process of bench/apply.sh.
//
// Reads a spec of cases; each case is a list of untimed `prepare` commands and
// timed `run` commands. For every iteration it visits every case once, in an
// order shuffled afresh each round (a fixed seed, so runs repeat): drift hits
// all cases alike, and so does what a case leaves behind for the next one (an
// nf_tables case's namespace teardown and RCU callbacks still running, caches
// filled with other code), which a fixed order would charge to whichever case
// always follows it. For each case:
//   1. moves itself into a brand-new network namespace (unshare(CLONE_NEWNET)),
//      so each measured run starts from an empty netfilter state,
//   2. runs the `prepare` commands (not timed) and sleeps --settle ms so the
//      previous namespace's asynchronous teardown does not land in the timing,
//   3. times fork+exec+wait of every `run` command back to back with
//      CLOCK_MONOTONIC, and takes each child's peak RSS from wait4().
// The namespace creation is not part of the timing.
//
// Why a static, allocation-light C-style program: Linux folds the RSS of the
// mm a process had before execve() into its ru_maxrss (fs/exec.c
// exec_mmap → setmax_mm_hiwater_rss), and a forked child starts with the
// parent's RSS. A fat parent (bash, python, a libstdc++ program) would inflate
// every child's reported peak; this one stays around a few hundred KiB.
//
// Spec format (one item a line, arguments split on spaces, no quoting):
//   case <label>
//   prepare <argv...>
//   run <argv...>
// Output: one TSV line per measured iteration and case on stdout:
//   <label> <iteration> <wall_ns> <max_rss_kib over the case's run commands>
//   <cpu_us: user+system time of the case's run commands, summed>
// Exit 1 on any failing command (its stderr is shown).
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <cstdint>
#include <utility>

namespace {

constexpr int kMaxCases = 64;
constexpr int kMaxCmds = 16;
constexpr int kMaxArgs = 32;

struct Cmd {
  char* argv[kMaxArgs + 1];
};
struct Case {
  const char* label = nullptr;
  Cmd prepare[kMaxCmds];
  int n_prepare = 0;
  Cmd run[kMaxCmds];
  int n_run = 0;
};

Case cases[kMaxCases];
int n_cases = 0;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "nsrun: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

char* read_file(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  struct stat st{};
  if (fstat(fd, &st) != 0) die(path);
  auto* buf = static_cast<char*>(std::malloc(static_cast<size_t>(st.st_size) + 1));
  if (!buf) die("malloc");
  size_t got = 0;
  while (got < static_cast<size_t>(st.st_size)) {
    ssize_t r = read(fd, buf + got, static_cast<size_t>(st.st_size) - got);
    if (r <= 0) die(path);
    got += static_cast<size_t>(r);
  }
  buf[got] = '\0';
  close(fd);
  return buf;
}

void split(char* line, Cmd& cmd) {
  int n = 0;
  for (char* tok = std::strtok(line, " "); tok; tok = std::strtok(nullptr, " ")) {
    if (n == kMaxArgs) { errno = E2BIG; die("too many arguments"); }
    cmd.argv[n++] = tok;
  }
  cmd.argv[n] = nullptr;
  if (n == 0) { errno = EINVAL; die("empty command"); }
}

void parse_spec(char* text) {
  char* save = nullptr;
  for (char* line = strtok_r(text, "\n", &save); line; line = strtok_r(nullptr, "\n", &save)) {
    if (line[0] == '#' || line[0] == '\0') continue;
    char* rest = std::strchr(line, ' ');
    if (!rest) { errno = EINVAL; die(line); }
    *rest++ = '\0';
    if (std::strcmp(line, "case") == 0) {
      if (n_cases == kMaxCases) { errno = E2BIG; die("too many cases"); }
      cases[n_cases++].label = rest;
    } else if (n_cases == 0) {
      errno = EINVAL; die("command before the first case");
    } else if (std::strcmp(line, "prepare") == 0 || std::strcmp(line, "run") == 0) {
      Case& c = cases[n_cases - 1];
      bool prep = line[0] == 'p';
      int& n = prep ? c.n_prepare : c.n_run;
      if (n == kMaxCmds) { errno = E2BIG; die("too many commands"); }
      split(rest, prep ? c.prepare[n] : c.run[n]);
      ++n;
    } else {
      errno = EINVAL; die(line);
    }
  }
}

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Runs one command with stdin and stdout on /dev/null (stderr kept for
// failures, sent to a temp fd). Returns the child's peak RSS in KiB and adds
// its user+system time to *cpu_us.
long exec_one(const Cmd& cmd, int errfd, long* cpu_us) {
  pid_t pid = vfork();
  if (pid < 0) die("vfork");
  if (pid == 0) {
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(errfd, 2);
    execvp(cmd.argv[0], cmd.argv);
    _exit(127);
  }
  int status = 0;
  struct rusage ru{};
  if (wait4(pid, &status, 0, &ru) < 0) die("wait4");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "nsrun: command failed (status %d):", status);
    for (char* const* a = cmd.argv; *a; ++a) {
      size_t len = std::strlen(*a);
      if (len > 80)
        std::fprintf(stderr, " %.60s...(%zu bytes)", *a, len);
      else
        std::fprintf(stderr, " %s", *a);
    }
    std::fprintf(stderr, "\n--- its stderr:\n");
    lseek(errfd, 0, SEEK_SET);
    char buf[4096];
    ssize_t r;
    while ((r = read(errfd, buf, sizeof buf)) > 0) (void)!write(2, buf, static_cast<size_t>(r));
    std::exit(1);
  }
  *cpu_us += (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  return ru.ru_maxrss;
}

void sleep_ms(long ms) {
  timespec ts{ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 50, warmup = 3, settle_ms = 20;
  int opt;
  while ((opt = getopt(argc, argv, "n:w:s:")) != -1) {
    switch (opt) {
      case 'n': iterations = std::strtol(optarg, nullptr, 10); break;
      case 'w': warmup = std::strtol(optarg, nullptr, 10); break;
      case 's': settle_ms = std::strtol(optarg, nullptr, 10); break;
      default:
        std::fprintf(stderr, "usage: nsrun [-n iterations] [-w warmup] [-s settle_ms] SPEC\n");
        return 2;
    }
  }
  if (optind + 1 != argc) {
    std::fprintf(stderr, "usage: nsrun [-n iterations] [-w warmup] [-s settle_ms] SPEC\n");
    return 2;
  }
  parse_spec(read_file(argv[optind]));
  if (n_cases == 0) { errno = EINVAL; die("no cases in the spec"); }

  char errpath[] = "/tmp/nsrun-stderr-XXXXXX";
  int errfd = mkstemp(errpath);
  if (errfd < 0) die("mkstemp");
  unlink(errpath);
  // O_APPEND: the children share this description, and it is truncated per run.
  if (fcntl(errfd, F_SETFL, O_APPEND) != 0) die("fcntl");

  int order[kMaxCases];
  for (int c = 0; c < n_cases; ++c) order[c] = c;
  uint64_t seed = 0x9e3779b97f4a7c15u;
  for (long it = -warmup; it < iterations; ++it) {
    for (int i = n_cases - 1; i > 0; --i) {  // Fisher-Yates with xorshift64
      seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
      std::swap(order[i], order[seed % static_cast<uint64_t>(i + 1)]);
    }
    for (int k = 0; k < n_cases; ++k) {
      const int c = order[k];
      if (unshare(CLONE_NEWNET) != 0) die("unshare(CLONE_NEWNET)");
      if (ftruncate(errfd, 0) != 0) die("ftruncate");
      long cpu_us = 0;
      for (int p = 0; p < cases[c].n_prepare; ++p) exec_one(cases[c].prepare[p], errfd, &cpu_us);
      sleep_ms(settle_ms);
      long rss = 0;
      cpu_us = 0;
      int64_t t0 = now_ns();
      for (int r = 0; r < cases[c].n_run; ++r) {
        long one = exec_one(cases[c].run[r], errfd, &cpu_us);
        if (one > rss) rss = one;
      }
      int64_t wall = now_ns() - t0;
      if (it >= 0)
        std::printf("%s\t%ld\t%lld\t%ld\t%ld\n", cases[c].label, it, static_cast<long long>(wall), rss, cpu_us);
    }
    std::fflush(stdout);
  }
  // This process's own peak, to show it stayed below what it measures.
  struct rusage self{};
  getrusage(RUSAGE_SELF, &self);
  std::fprintf(stderr, "nsrun: own peak RSS %ld KiB\n", self.ru_maxrss);
  return 0;
}
