#include "app/run.hpp"

int main(int argc, char** argv) { return meshcap::app::run(argc, argv); }
