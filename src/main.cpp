#include "commands.h"

int main(int argc, char** argv) { return lti::run_cli(argc, argv); }
