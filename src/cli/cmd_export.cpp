// `lti export`: every user's long-term vector into Redis.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "commands.h"
#include "lti/data/ingest.h"
#include "lti/model/runtime.h"
#include "lti/model/user_vectors.h"
#include "lti/publish/redis_client.h"
#include "lti/publish/redis_cluster.h"
#include "lti/publish/vector_writer.h"
#include "lti/train/trainer.h"
#include "lti/util/errors.h"
#include "lti/util/folder_lock.h"
#include "lti/util/interrupt.h"
#include "lti/util/launch.h"
#include "lti/util/time_util.h"

namespace lti {

namespace {

// FNV-1a of model.json: it holds the run's hyper-parameters and per-epoch losses, so it
// tells one trained model from another.
std::string model_fingerprint(const std::string& save_dir) {
  std::ifstream in(save_dir + "/model.json", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text.str()) h = (h ^ c) * 1099511628211ULL;
  return fmt::format("{:016x}", h);
}

// --since refreshes the vectors of the model already in Redis: refuse any other model, whose
// vectors would be mixed with the old ones.
void refuse_refresh_of_another_model(RedisStore& redis, const WriteOptions& write) {
  std::string in_redis, where;
  if (write.layout == KeyLayout::kVersioned) {
    where = current_key(write);
    in_redis = redis.command({"GET", where});
  } else {
    where = meta_key(write);
    std::string meta = redis.command({"GET", where});
    if (meta == "(nil)" && write.shards > 1) {  // a full export that was not sharded
      WriteOptions whole = write;
      whole.shards = 1;
      where = meta_key(whole);
      meta = redis.command({"GET", where});
    }
    if (meta != "(nil)") {
      const nlohmann::json j = nlohmann::json::parse(meta, nullptr, /*allow_exceptions=*/false);
      in_redis = j.is_object() ? j.value("model_fingerprint", std::string()) : std::string();
    } else {
      in_redis = meta;
    }
  }
  if (in_redis == "(nil)")
    throw Error(kExitModel, "--since: Redis holds no exported model (" + where +
                                " is missing): run a full export first");
  if (in_redis != write.model_fingerprint)
    throw Error(kExitModel, "--since: Redis holds the vectors of another model (" + where +
                                " names " + in_redis + ", this model is " +
                                write.model_fingerprint +
                                "); a refresh would mix two models: run a full export instead");
}

}  // namespace

void add_export_command(CLI::App& app, Action& slot) {
  struct Options {
    std::string data_path = "DATA/train_user";
    std::string save_dir = "saved_models";
    std::string redis = "localhost:6379";
    bool cluster = false;
    double cluster_retry = 60;
    int db = -1;
    std::string password_file;
    std::string key_prefix;
    int64_t ttl = 0;
    int64_t batch_size = 0;
    size_t write_batch = 1000;
    std::string format = "json";
    std::string shard;
    std::string layout = "plain";
    int64_t keep_previous = 86400;
    std::string since;
    std::string device = "auto";
    std::string precision = "fp32";
    int threads = 0;
    bool strict = false;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Compute every user's long-term vector with the trained model and write it to\n"
      "Redis under the raw user id (JSON array of H floats by default)");
  add_data_options(cmd, opt->data_path, opt->strict);
  add_compute_options(cmd, opt->device, opt->threads);
  add_precision_option(cmd, opt->precision,
                       "inference (fp32 by default: the vectors equal an fp32 recomputation)");
  cmd->add_option("--save_dir", opt->save_dir, "Folder of the trained model")
      ->capture_default_str();
  cmd->add_option("--redis", opt->redis,
                  "Redis address: host:port or redis://host:port/db (redis://:password@... only "
                  "in a config file). A Redis Cluster is detected (INFO cluster) and written "
                  "through its slot map; list several of its nodes, comma-separated, so that "
                  "any one of them can answer first: host:port,host:port,...")
      ->capture_default_str();
  cmd->add_flag("--cluster", opt->cluster,
                "Treat --redis as a Redis Cluster without asking INFO (fails clearly if it is "
                "not one)");
  cmd->add_option("--cluster_retry", opt->cluster_retry,
                  "Redis Cluster: seconds a write is retried through redirections, a failover "
                  "(a replica promoted after a master died) or a cluster that is down, before "
                  "the export fails")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--db", opt->db, "Redis database number (overrides the one in --redis)");
  cmd->add_option("--redis_password_file", opt->password_file,
                  "File whose first line is the Redis password (or set REDISCLI_AUTH); never "
                  "given on the command line");
  cmd->add_option("--key_prefix", opt->key_prefix, "Prefix of every key (e.g. 'lti:user:')")
      ->capture_default_str();
  cmd->add_option("--ttl", opt->ttl, "Expire keys after this many seconds (0 = never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  add_inference_batch_option(cmd, opt->batch_size);
  cmd->add_option("--write_batch", opt->write_batch, "SET commands per Redis pipeline")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--shard", opt->shard,
                  "Write only this share of the users, i/N (0 <= i < N): N exports, on one or "
                  "several machines, fill Redis together, each user exactly once. Default: "
                  "RANK/WORLD_SIZE when a launcher set them, else all users")
      ->capture_default_str();
  cmd->add_option("--layout", opt->layout,
                  "plain: the key is <prefix><user id> (the original design). versioned: "
                  "<prefix><version>:<user id>, the version being the model fingerprint; once "
                  "every user is written, SET <prefix>lti:current <version> switches all readers "
                  "to the new model at once (a reader GETs lti:current, then its user's key)")
      ->check(CLI::IsMember({"plain", "versioned"}))
      ->capture_default_str();
  cmd->add_option("--keep_previous", opt->keep_previous,
                  "versioned: seconds the previous version's keys live after the switch, so "
                  "readers still on it finish (0 = delete them at once)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--since", opt->since,
                  "Incremental refresh, \"YYYY-MM-DD HH\": recompute and write only the users "
                  "with an interaction at or after that hour (the same model on new data, the "
                  "daily job). Refused unless Redis holds this very model (lti:meta or "
                  "lti:current)");
  cmd->add_option("--format", opt->format,
                  "Value format: json (array of floats) or f32 (raw little-endian float32)")
      ->check(CLI::IsMember({"json", "f32"}))
      ->capture_default_str();

  cmd->callback([opt, &slot] {
    slot = [opt] {
      RedisOptions redis_options;
      std::vector<RedisAddress> addresses = parse_redis_addresses(opt->redis);
      if (opt->db >= 0)
        for (RedisAddress& a : addresses) a.db = opt->db;
      redis_options.address = addresses.front();
      if (!redis_options.address.password.empty()) {
        // A password typed on the command line is visible to every user of the machine (ps);
        // in a config file it is as private as the file.
        for (const auto& arg : command_line())
          if (arg.find(redis_options.address.password) != std::string::npos)
            throw Error(kExitUsage,
                        "--redis: a password on the command line is visible to every user of "
                        "the machine; use REDISCLI_AUTH, --redis_password_file or a config file");
      }
      // --redis_password_file, then REDISCLI_AUTH, then a password in a config file's URL.
      if (!opt->password_file.empty()) {
        redis_options.password = read_password_file(opt->password_file);
      } else if (const char* env = std::getenv("REDISCLI_AUTH")) {
        redis_options.password = env;
      } else {
        redis_options.password = redis_options.address.password;
      }
      WriteOptions write;
      write.key_prefix = opt->key_prefix;
      write.ttl_seconds = opt->ttl;
      write.batch = opt->write_batch;
      write.format = parse_vector_format(opt->format);
      const Shard shard = Shard::parse(opt->shard);
      write.shard = shard.index;
      write.shards = shard.count;
      write.layout = parse_key_layout(opt->layout);
      write.keep_previous_seconds = opt->keep_previous;
      std::optional<UnixHour> since;
      if (!opt->since.empty()) {
        since = parse_hour(opt->since);
        if (!since)
          throw Error(kExitUsage,
                      "--since must be a time 'YYYY-MM-DD HH', not '" + opt->since + "'");
        write.switch_version = false;  // a refresh writes into the version readers already use
      }

      set_threads(opt->threads);
      install_stop_handlers();  // a stop finishes the batch in flight (vector_writer.h)
      const torch::Device device = pick_device(opt->device);
      // The model, then Redis, before the long part: a bad model folder or an unreachable
      // Redis fails in seconds, not after the inference, and a bad model touches no key.
      Encoders encoders;
      std::unique_ptr<UserInterestModel> model;
      {
        // The weights and the fingerprint of one epoch, while training may save the next.
        const FolderLock one_epoch = FolderLock::for_reading(opt->save_dir);
        model = load_trained_model(opt->save_dir, device, &encoders);
        model->set_precision(resolve_precision(opt->precision, device));
        write.model_fingerprint = model_fingerprint(opt->save_dir);
      }
      const std::unique_ptr<RedisStore> redis_store =
          open_redis(addresses, redis_options, opt->cluster, opt->cluster_retry);
      RedisStore& redis = *redis_store;
      if (since) refuse_refresh_of_another_model(redis, write);
      ReadOptions read_options;
      read_options.strict = opt->strict;
      const Ingested data = ingest_with_encoders(opt->data_path, read_options, std::move(encoders));

      std::vector<size_t> users_here;
      std::vector<uint64_t> raw_ids_here;
      size_t inactive = 0;
      for (size_t u = 0; u < data.data.num_users(); ++u) {
        if (!shard.contains(data.data.user_raw_id[u])) continue;
        // Rows are sorted by time within a user: the last one says whether the user is active.
        if (since && data.data.time[data.data.user_rows(u).end - 1] < *since) {
          ++inactive;
          continue;
        }
        users_here.push_back(u);
        raw_ids_here.push_back(data.data.user_raw_id[u]);
      }
      if (since)
        spdlog::info(
            "refresh since {}: {} active user(s) to recompute, {} skipped (no "
            "interaction since)",
            format_hour(*since), users_here.size(), inactive);
      if (shard.count > 1)
        spdlog::info("shard {} of {}: {} of {} users", shard.index, shard.count, users_here.size(),
                     data.data.num_users());
      const auto start = std::chrono::steady_clock::now();
      const auto vectors =
          compute_user_vectors(*model, data.data, users_here, opt->batch_size, device);
      const double inference_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const size_t users = users_here.size();
      spdlog::info("computed {} vectors in {:.1f} s ({:.0f} users/s); writing to {}", users,
                   inference_seconds, users / inference_seconds, redis.describe());
      const WriteReport report = write_vectors(
          redis, raw_ids_here, vectors, static_cast<size_t>(model->config().hidden_dim), write);
      std::cout << fmt::format(
          "users expected {}, written {}, failed {}; inference {:.1f} s ({:.0f} users/s), "
          "write {:.1f} s ({:.0f} users/s); {}; metadata key {}\n",
          report.expected, report.written, report.expected - report.written, inference_seconds,
          users / inference_seconds, report.seconds,
          report.written / std::max(report.seconds, 1e-9), redis.activity(), meta_key(write));
      if (report.per_node.size() > 1) {
        std::string per_node;
        for (const auto& [node, count] : report.per_node)
          per_node += fmt::format("{}{} {}", per_node.empty() ? "" : ", ", node, count);
        std::cout << "users per node: " << per_node << "\n";
      }
      if (since)
        std::cout << fmt::format("refresh since {}: {} user(s) recomputed, {} skipped\n",
                                 format_hour(*since), report.written, inactive);
      if (report.switched)
        std::cout << fmt::format(
            "{} now names version {}{}\n", current_key(write), write.model_fingerprint,
            report.previous_version.empty()
                ? std::string()
                : fmt::format("; the {} key(s) of version {} {}", report.previous_keys,
                              report.previous_version,
                              write.keep_previous_seconds > 0
                                  ? fmt::format("expire in {} s", write.keep_previous_seconds)
                                  : std::string("were deleted")));
      else if (write.layout == KeyLayout::kVersioned && !since)
        std::cout << fmt::format(
            "{} not switched yet: the other shards' metadata keys are "
            "missing (the last shard to finish switches)\n",
            current_key(write));
      return report.written == report.expected ? kExitOk : kExitRedis;
    };
  });
}

}  // namespace lti
