// The config file's mistakes, told by file and line. CLI11 refuses a key it does not know
// (allow_config_extras(error), set in cli.cpp) but names only the key; an operator with a
// long TOML file needs the line, and a key in the wrong section needs the right one named.
#include <fstream>
#include <string>
#include <vector>

#include "commands.h"

namespace lti {

namespace {

std::string trim(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

std::string unquoted(const std::string& key) {
  if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'') && key.back() == key.front())
    return key.substr(1, key.size() - 2);
  return key;
}

const CLI::Option* find_option(const CLI::App& section, const std::string& key) {
  const CLI::Option* option = section.get_option_no_throw("--" + key);
  return option != nullptr ? option : section.get_option_no_throw(key);
}

}  // namespace

std::string describe_config_mistake(CLI::App& app, const std::string& path) {
  std::ifstream file(path);
  std::vector<CLI::App*> subcommands = app.get_subcommands([](CLI::App*) { return true; });
  std::string names;
  for (const CLI::App* sub : subcommands) names += (names.empty() ? "" : ", ") + sub->get_name();

  const CLI::App* section = &app;
  std::string line;
  for (size_t number = 1; std::getline(file, line); ++number) {
    line = trim(line.substr(0, line.find('#')));  // keys and section names hold no '#'
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (line.front() == '[') {
      const std::string name = trim(line.substr(1, line.find(']') - 1));
      section = nullptr;
      for (const CLI::App* sub : subcommands)
        if (sub->get_name() == name) section = sub;
      if (section == nullptr)
        return where + "[" + name + "] is not a subcommand of lti (the sections are " + names +
               "; top-level options go before any section)";
      continue;
    }
    const size_t equals = line.find('=');
    if (equals == std::string::npos) continue;
    const std::string key = unquoted(trim(line.substr(0, equals)));
    const CLI::Option* option = find_option(*section, key);
    if (option != nullptr && !option->get_configurable())
      return where + "'" + key + "' can be given on the command line only, not in a config file";
    if (option == nullptr) {
      std::string elsewhere;  // the sections where the key is an option, if any
      for (const CLI::App* sub : subcommands)
        if (sub != section && find_option(*sub, key) != nullptr)
          elsewhere += (elsewhere.empty() ? "[" : ", [") + sub->get_name() + "]";
      const bool top = section == &app;
      const std::string help = top ? "lti --help" : "lti " + section->get_name() + " --help";
      std::string advice = " (" + help + " lists them)";
      if (!top && find_option(app, key) != nullptr)
        advice = "; it is a top-level option (before any section)";
      else if (!elsewhere.empty())
        advice = "; it is an option under " + elsewhere;
      return where + "'" + key + "' is not " +
             (top ? "a top-level option" : "an option of [" + section->get_name() + "]") + advice;
    }
  }
  return {};
}

}  // namespace lti
