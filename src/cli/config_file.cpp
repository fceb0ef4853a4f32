// The config file's mistakes, told by file and line. CLI11 refuses a key it does not know
// (allow_config_extras(error), set in cli.cpp) or a value it cannot take, but names only the
// option; an operator with a long TOML file needs the line, and a key in the wrong section
// needs the right one named.
#include <cctype>
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

// A line of a config file that says something: a section header or a key.
struct ConfigLine {
  size_t number = 0;
  std::string section;  // the section's name, "" at the top level
  std::string key;      // "" on a section header
  // A quoted value with a '#' inside: CLI11 2.1.2 takes the '#' for a comment and cuts there.
  bool value_cut_by_comment = false;
};

bool quoted_value_holds_hash(const std::string& line) {
  const size_t equals = line.find('=');
  const std::string value = equals == std::string::npos ? "" : trim(line.substr(equals + 1));
  if (value.empty() || (value.front() != '"' && value.front() != '\'')) return false;
  const size_t closing = value.find(value.front(), 1);
  const size_t hash = value.find('#');
  return hash != std::string::npos && (closing == std::string::npos || hash < closing);
}

std::vector<ConfigLine> read_config_lines(const std::string& path) {
  std::vector<ConfigLine> lines;
  std::ifstream file(path);
  std::string section;
  std::string text;
  for (size_t number = 1; std::getline(file, text); ++number) {
    const std::string whole = trim(text);
    if (whole.empty() || whole.front() == '#' || whole.front() == ';') continue;  // a comment
    const std::string line = trim(whole.substr(0, whole.find('#')));  // keys hold no '#'
    if (line.front() == '[') {
      section = trim(line.substr(1, line.find(']') - 1));
      lines.push_back({number, section, "", false});
    } else {
      // CLI11 reads a line without '=' as a flag set to true.
      lines.push_back({number, section, unquoted(trim(line.substr(0, line.find('=')))),
                       quoted_value_holds_hash(whole)});
    }
  }
  return lines;
}

const CLI::Option* find_option(const CLI::App& section, const std::string& key) {
  const CLI::Option* option = section.get_option_no_throw("--" + key);
  return option != nullptr ? option : section.get_option_no_throw(key);
}

// Whether CLI11's message names --key (not merely an option that begins with it).
bool names_option(const std::string& message, const std::string& key) {
  const std::string flag = "--" + key;
  for (size_t at = message.find(flag); at != std::string::npos; at = message.find(flag, at + 1)) {
    const size_t end = at + flag.size();
    if (end == message.size() ||
        (std::isalnum(static_cast<unsigned char>(message[end])) == 0 && message[end] != '_'))
      return true;
  }
  return false;
}

bool on_command_line(const std::string& key) {
  for (const std::string& argument : command_line())
    if (argument == "--" + key || argument.rfind("--" + key + "=", 0) == 0) return true;
  return false;
}

}  // namespace

std::string describe_config_mistake(CLI::App& app, const std::string& path) {
  std::vector<CLI::App*> subcommands = app.get_subcommands([](CLI::App*) { return true; });
  std::string names;
  for (const CLI::App* sub : subcommands) names += (names.empty() ? "" : ", ") + sub->get_name();

  const CLI::App* section = &app;
  for (const ConfigLine& line : read_config_lines(path)) {
    const std::string where = path + ":" + std::to_string(line.number) + ": ";
    if (line.key.empty()) {
      section = nullptr;
      for (const CLI::App* sub : subcommands)
        if (sub->get_name() == line.section) section = sub;
      if (section == nullptr)
        return where + "[" + line.section + "] is not a subcommand of lti (the sections are " +
               names + "; top-level options go before any section)";
      continue;
    }
    const std::string& key = line.key;
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

std::string config_value_cut_by_comment(const std::string& path) {
  for (const ConfigLine& line : read_config_lines(path))
    if (line.value_cut_by_comment)
      return path + ":" + std::to_string(line.number) +
             ": a '#' inside a quoted value would be read as the start of a comment, and the "
             "value cut there; give this option on the command line instead";
  return {};
}

std::string config_lines_naming(const std::string& path, const std::string& message) {
  std::string found;
  for (const ConfigLine& line : read_config_lines(path))
    if (!line.key.empty() && names_option(message, line.key) && !on_command_line(line.key))
      found += (found.empty() ? "" : ", ") + path + ":" + std::to_string(line.number);
  return found;
}

}  // namespace lti
