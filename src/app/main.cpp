#include "app/run.hpp"
#include "sys/caps.hpp"

int main(int argc, char** argv) {
  meshcap::sys::raise_permitted_capabilities();  // the image's file capabilities are permitted-only
  return meshcap::app::run(argc, argv);
}
