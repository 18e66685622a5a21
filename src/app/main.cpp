#include <malloc.h>

#include "app/run.hpp"
#include "sys/caps.hpp"

int main(int argc, char** argv) {
  // A large run's big temporaries (a 10,000-network set's keys, a dump's
  // elements) live one after another. A fixed mmap threshold hands each back
  // to the kernel when it is freed; glibc's default raises the threshold
  // after the first such free and keeps the next ones in the heap, which
  // adds them up in the peak RSS (docs/benchmarks.md, goal 6).
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
  meshcap::sys::raise_permitted_capabilities();  // the image's file capabilities are permitted-only
  return meshcap::app::run(argc, argv);
}
