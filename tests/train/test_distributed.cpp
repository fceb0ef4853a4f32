// Distributed training over c10d (Gloo on loopback) and the sharded export.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "lti/train/distributed.h"
#include "model_fixtures.h"
#include "redis_server.h"
#include "test_util.h"

using lti::test::run_command;
using lti::test::TempDir;

namespace {

const std::string kLti = LTI_EXE;
const std::string kLaunch = std::string(LTI_SOURCE_DIR) + "/scripts/launch-local.sh";

// What a rank's log says of the users' roles ("N train users, ... test users ..."), or "".
std::string roles(const std::string& log, const std::string& rank) {
  const size_t at = log.find("as rank " + rank + " of 2: ");
  if (at == std::string::npos) return std::string();
  const size_t from = log.find(": ", at);
  return log.substr(from, log.find(" parameters", from) - from);
}

const std::string kTinyModel =
    " --batch_size 32 --item_embedding_dim 8 --cate_embedding_dim 8 --hidden_dim 16 --depth 1"
    " --heads 2 --dim_head 8 --n_max 32 --k_max 8 --moe_experts 6 --moe_hidden 16 --lr 3e-3"
    " --seed 7";

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// A loopback port nothing listens on (free when asked): a rendezvous there waits for a rank 0
// that never comes.
int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), size) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0;
  ::close(fd);
  return ok ? ntohs(address.sin_port) : 0;
}

}  // namespace

TEST(ProcessGroup, AveragesGradientsAndKeepsMissingOnesMissing) {
  const int port = lti::test::free_loopback_port();
  std::vector<std::vector<torch::Tensor>> results(2);
  std::vector<double> sums(2);
  std::vector<bool> same(2), different(2);
  auto rank_main = [&](int rank) {
    lti::LaunchEnvironment env;
    env.rank = rank;
    env.world_size = 2;
    env.master_port = port;
    lti::ProcessGroup group(env, torch::kCPU);
    std::vector<torch::Tensor> params = {torch::zeros({3}), torch::zeros({2}), torch::zeros({2}),
                                         torch::full({2}, static_cast<float>(rank))};
    params[0].mutable_grad() =
        rank == 0 ? torch::tensor({1.0f, 2.0f, 3.0f}) : torch::tensor({3.0f, 4.0f, 5.0f});
    if (rank == 0) params[1].mutable_grad() = torch::tensor({2.0f, 4.0f});
    // params[2]: no gradient on either rank.
    group.average_gradients(params, /*bucket_bytes=*/8);  // several buckets
    group.broadcast_from_first({params[3]});
    results[rank] = {params[0].grad(), params[1].grad(), params[2].grad(), params[3]};
    sums[rank] = group.sum(rank + 1.0);
    same[rank] = group.same_on_all_ranks(42.0);
    different[rank] = group.same_on_all_ranks(rank);
    group.barrier();
  };
  std::thread other(rank_main, 1);
  rank_main(0);
  other.join();
  for (int rank = 0; rank < 2; ++rank) {
    SCOPED_TRACE(rank);
    EXPECT_TRUE(torch::equal(results[rank][0], torch::tensor({2.0f, 3.0f, 4.0f})));
    EXPECT_TRUE(torch::equal(results[rank][1], torch::tensor({1.0f, 2.0f})));
    EXPECT_FALSE(results[rank][2].defined());
    EXPECT_TRUE(torch::equal(results[rank][3], torch::zeros({2})));
    EXPECT_EQ(sums[rank], 3.0);
    EXPECT_TRUE(same[rank]);
    EXPECT_FALSE(different[rank]);
  }
}

TEST(DistributedTraining, TwoGlooRanksStayIdenticalAndMatchOneProcess) {
  TempDir dir;
  std::string out;
  ASSERT_EQ(run_command(kLti + " synth -o " + dir.file("data/train.csv") +
                            " --users 400 --rows 30000 --items 2000 --categories 40 --seed 5"
                            " --interest_share 0.9",
                        out),
            0)
      << out;
  // Without dropout the ranks draw no random masks of their own: two ranks then take the steps
  // one process takes, up to the order of floating-point sums. In fp32: under bf16 the rounding
  // of a product depends on its shape, and a rank encodes half the batch.
  const std::string args =
      " train --epochs 3 --threads 1 --dropout 0 --moe_dropout 0 "
      "--precision fp32 --data_path " +
      dir.file("data") + kTinyModel;
  ASSERT_EQ(run_command(kLti + args + " --save_dir " + dir.file("one"), out), 0) << out;
  // The launcher picks a port that is free when it looks; another process can take it before
  // rank 0 binds it. Only that case is retried.
  int code = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    code = run_command("LTI_LOG_DIR=" + dir.file("logs") + " " + kLaunch + " 2 " + kLti + args +
                           " --check_replicas --save_dir " + dir.file("two"),
                       out);
    if (code == 0 || out.find("Address already in use") == std::string::npos) break;
  }
  ASSERT_EQ(code, 0) << out;
  // Parameters compared after every step of every epoch, on both ranks.
  EXPECT_NE(out.find("rank 0: parameters identical on all 2 ranks after each of"),
            std::string::npos)
      << out;
  EXPECT_NE(lti::test::read_text(dir.file("logs/rank-1.log"))
                .find("rank 1: parameters identical on all 2 ranks after each of"),
            std::string::npos);
  EXPECT_NE(out.find("as rank 0 of 2"), std::string::npos) << out;
  // The users' roles come from their ids alone: both ranks train, validate and hold out the
  // same users.
  EXPECT_NE(roles(out, "0"), "") << out;
  EXPECT_EQ(roles(out, "0"), roles(lti::test::read_text(dir.file("logs/rank-1.log")), "1")) << out;
  // Rank 0 alone validates and saves; rank 1 ends with a line of its own and claims neither.
  EXPECT_NE(out.find("model saved in " + dir.file("two")), std::string::npos) << out;
  const std::string rank1 = lti::test::read_text(dir.file("logs/rank-1.log"));
  EXPECT_NE(rank1.find("rank 1 of 2: trained 3 epoch(s), "), std::string::npos) << rank1;
  EXPECT_EQ(rank1.find("saved"), std::string::npos) << rank1;
  EXPECT_EQ(rank1.find("val_"), std::string::npos) << rank1;

  const auto one = read_json(dir.file("one/model.json"))["epochs"];
  const auto two = read_json(dir.file("two/model.json"))["epochs"];
  ASSERT_EQ(two.size(), 3u);
  EXPECT_EQ(two[0]["steps"], one[0]["steps"]);  // the same global batches
  EXPECT_LT(two[2]["loss"].get<double>(), two[0]["loss"].get<double>());
  const double r_one = one[2]["val_recall_at_10"], r_two = two[2]["val_recall_at_10"];
  std::cout << "validation Recall@10: one process " << r_one << ", two ranks " << r_two << "\n";
  // Every epoch: the same steps up to the order of floating-point sums.
  for (size_t e = 0; e < 3; ++e) {
    SCOPED_TRACE("epoch " + std::to_string(e + 1));
    EXPECT_NEAR(two[e]["loss"].get<double>(), one[e]["loss"].get<double>(), 1e-3);
    EXPECT_NEAR(two[e]["val_loss"].get<double>(), one[e]["val_loss"].get<double>(), 1e-3);
    EXPECT_NEAR(two[e]["val_recall_at_10"].get<double>(), one[e]["val_recall_at_10"].get<double>(),
                0.02);
    EXPECT_EQ(two[e]["expert_usage"]["share"], one[e]["expert_usage"]["share"]);
  }
  // Rank 0's model loads and evaluates.
  EXPECT_EQ(
      run_command(kLti + " eval --data_path " + dir.file("data") + " --save_dir " + dir.file("two"),
                  out),
      0)
      << out;
}

// The README's launch: PyTorch's own torchrun (the venv's, scripts/install-deps.sh) starts two
// ranks of build/lti itself, which join through torchrun's agent store and form a Gloo group on
// loopback.
// A rank waiting for the others cannot poll the stop flag; a stop signal there ends it at once
// (exit 143), where it used to wait out the rendezvous timeout of minutes. That is what a
// launcher does when another rank fails: launch-local.sh hung on such a rank for 5 minutes
// and more after rank 0 lost the race for its port.
TEST(DistributedTraining, ASignalWhileWaitingForTheOtherRanksStopsAtOnce) {
  TempDir dir;
  std::string out;
  ASSERT_EQ(run_command(kLti + " synth -o " + dir.file("data/train.csv") +
                            " --users 50 --rows 2000 --items 100 --categories 5",
                        out),
            0)
      << out;
  const int port = unused_port();
  ASSERT_GT(port, 0);
  const std::string log = dir.file("rank-1.log");
  lti::test::write_text(
      dir.file("stop.sh"),
      "RANK=1 LOCAL_RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(port) +
          " " + kLti + " train --threads 1 --data_path " + dir.file("data") + " --save_dir " +
          dir.file("model") + " >" + log + " 2>&1 &\n" +
          "pid=$!\nfor i in $(seq 600); do\n  grep -q 'waiting for the other ranks' " + log +
          " && break\n  sleep 0.1\ndone\nkill -TERM $pid\nwait $pid\n");
  // `timeout` fails the test (124) rather than hang it if the signal is not honoured.
  EXPECT_EQ(run_command("timeout 120 sh " + dir.file("stop.sh"), out), 143) << out;
  const std::string text = lti::test::read_text(log);
  EXPECT_NE(
      text.find("rank 1 of 2: waiting for the other ranks at 127.0.0.1:" + std::to_string(port)),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("lti: SIGTERM: stopped at once while waiting for the other ranks"),
            std::string::npos)
      << text;
}

// Whatever a rank is stuck in, the launcher does not wait on it for ever once another failed:
// SIGTERM, then SIGKILL after LAUNCH_KILL_AFTER seconds.
TEST(DistributedTraining, TheLauncherKillsARankThatIgnoresSigterm) {
  TempDir dir;
  std::string out;
  const std::string ranks =
      "bash -c 'if [ $RANK = 0 ]; then sleep 1; exit 3; fi; trap \"\" TERM; exec sleep 300'";
  EXPECT_EQ(run_command("LAUNCH_KILL_AFTER=1 LTI_LOG_DIR=" + dir.file("logs") + " timeout 120 " +
                            kLaunch + " 2 " + ranks,
                        out),
            3)
      << out;
  EXPECT_NE(out.find("launch-local: rank 0 exited with 3; stopping the others"), std::string::npos)
      << out;
  EXPECT_NE(out.find("launch-local: ranks still running 1 s after SIGTERM; killing them"),
            std::string::npos)
      << out;
}

TEST(DistributedTraining, TorchrunStartsTwoGlooRanksOfLti) {
  const std::string torchrun = LTI_TORCHRUN;
  std::string out;
  if (torchrun.empty() || run_command(torchrun + " --help", out) != 0)
    LTI_SKIP_OR_FAIL_IN_CI("no torchrun next to " LTI_PYTHON ": " + out);
  TempDir dir;
  ASSERT_EQ(run_command(kLti + " synth -o " + dir.file("data/train.csv") +
                            " --users 200 --rows 12000 --items 1000 --categories 30 --seed 3",
                        out),
            0)
      << out;
  // --standalone: torchrun hosts the rendezvous on a free port of its own choosing.
  ASSERT_EQ(run_command(torchrun + " --standalone --nnodes 1 --nproc_per_node 2 --no-python " +
                            kLti + " train --epochs 2 --threads 1 --check_replicas --data_path " +
                            dir.file("data") + " --save_dir " + dir.file("model") + kTinyModel,
                        out),
            0)
      << out;
  EXPECT_NE(out.find("as rank 0 of 2"), std::string::npos) << out;
  // The users' roles come from their ids alone: both ranks train, validate and hold out the
  // same users.
  EXPECT_NE(roles(out, "0"), "") << out;
  EXPECT_EQ(roles(out, "0"), roles(out, "1")) << out;
  EXPECT_NE(out.find("rank 1 of 2: trained 2 epoch(s), "), std::string::npos) << out;
  EXPECT_NE(out.find("parameters identical on all 2 ranks after each of"), std::string::npos)
      << out;
  EXPECT_NE(out.find("model saved in " + dir.file("model")), std::string::npos) << out;
  EXPECT_EQ(read_json(dir.file("model/model.json"))["epochs"].size(), 2u);
}

// In-batch softmax over every rank's short vectors: after one step, the averaged gradient of every
// parameter on both ranks equals the gradient one process computes on the whole global batch
// (a rank's short vectors also get the gradient of the other ranks' queries).
TEST(DistributedTraining, SoftmaxGradientsOfTwoRanksEqualThoseOfOneProcess) {
  TempDir dir;
  const lti::Ingested data = lti::test::planted_data(dir, 120, 6000);
  lti::TrainOptions o = lti::test::tiny_train_options(dir.file("one"), 1);
  o.model.dropout = 0;
  o.model.moe_dropout = 0;
  o.train.max_steps_per_epoch = 1;
  o.train.loss = "softmax";
  std::vector<torch::Tensor> initial, expected;
  {
    lti::Trainer one(data, o);
    for (const auto& p : one.model().parameters()) initial.push_back(p.detach().clone());
    one.run();
    for (const auto& p : one.model().parameters()) expected.push_back(p.grad());
  }
  const int port = lti::test::free_loopback_port();
  std::vector<std::vector<torch::Tensor>> grads(2);
  auto rank_main = [&](int rank) {
    lti::LaunchEnvironment env;
    env.rank = rank;
    env.world_size = 2;
    env.master_port = port;
    lti::TrainOptions ro = o;
    ro.save_dir = dir.file("two");
    ro.process_group = std::make_shared<lti::ProcessGroup>(env, torch::kCPU);
    lti::Trainer trainer(data, ro);
    {
      torch::NoGradGuard no_grad;
      const auto params = trainer.model().parameters();
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(initial[i]);
    }
    trainer.run();
    for (const auto& p : trainer.model().parameters()) grads[rank].push_back(p.grad());
  };
  std::thread other(rank_main, 1);
  rank_main(0);
  other.join();
  size_t compared = 0;
  for (int rank = 0; rank < 2; ++rank) {
    ASSERT_EQ(grads[rank].size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      SCOPED_TRACE("rank " + std::to_string(rank) + " parameter " + std::to_string(i));
      ASSERT_EQ(grads[rank][i].defined(), expected[i].defined());
      if (!expected[i].defined()) continue;
      EXPECT_TRUE(torch::allclose(grads[rank][i], expected[i], 1e-4, 1e-7))
          << "max |diff| " << (grads[rank][i] - expected[i]).abs().max().item<double>()
          << ", max |grad| " << expected[i].abs().max().item<double>();
      ++compared;
    }
  }
  EXPECT_GT(compared, 20u);
}

TEST(ShardedExport, ShardsCoverEveryUserExactlyOnce) {
  TempDir dir;
  std::string out;
  ASSERT_EQ(run_command(kLti + " synth -o " + dir.file("data/train.csv") +
                            " --users 150 --rows 6000 --items 500 --categories 20",
                        out),
            0);
  const std::string data = " --data_path " + dir.file("data") + " --save_dir " + dir.file("m");
  ASSERT_EQ(run_command(kLti + " train --epochs 1 --threads 1" + kTinyModel + data, out), 0) << out;
  lti::test::RedisServer redis;
  const std::string at = " --redis 127.0.0.1:" + std::to_string(redis.port());
  ASSERT_EQ(run_command(kLti + " export --threads 1 --db 0" + at + data, out), 0) << out;
  // Three shards through the launcher's variables into one database, and three by --shard,
  // each into a database of its own (2, 3, 4) so that every shard's users can be counted.
  ASSERT_EQ(run_command(kLaunch + " 3 " + kLti + " export --db 1" + at + data, out), 0) << out;
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(run_command(kLti + " export --threads 1 --db " + std::to_string(2 + i) + " --shard " +
                              std::to_string(i) + "/3" + at + data,
                          out),
              0)
        << out;
  auto cli = [&](int db, const std::string& args) {
    std::string text;
    run_command("redis-cli -p " + std::to_string(redis.port()) + " -n " + std::to_string(db) +
                    " --raw " + args,
                text);
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  };
  // Users (key -> vector) and metadata keys of a database.
  auto contents = [&](int db) {
    std::map<std::string, std::vector<double>> users;
    std::map<std::string, nlohmann::json> meta;
    for (const std::string& key : cli(db, "keys '*'")) {
      const std::string value = cli(db, "get '" + key + "'").at(0);
      if (key.rfind("lti:meta", 0) == 0)
        meta[key] = nlohmann::json::parse(value);
      else
        users[key] = nlohmann::json::parse(value).get<std::vector<double>>();
    }
    return std::pair{users, meta};
  };
  // Each shard's vectors equal the unsharded export's (the same model; batches differ).
  auto expect_same_vectors = [](const std::map<std::string, std::vector<double>>& shard,
                                const std::map<std::string, std::vector<double>>& all) {
    for (const auto& [key, vec] : shard) {
      ASSERT_EQ(all.count(key), 1u) << key;
      ASSERT_EQ(vec.size(), all.at(key).size());
      for (size_t i = 0; i < vec.size(); ++i) ASSERT_NEAR(vec[i], all.at(key)[i], 1e-5) << key;
    }
  };
  const auto [all, all_meta] = contents(0);
  ASSERT_EQ(all.size(), 150u);
  EXPECT_EQ(all_meta.size(), 1u);
  EXPECT_EQ(all_meta.at("lti:meta").at("users"), 150);

  std::set<std::string> seen;
  size_t written = 0;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("shard " + std::to_string(i));
    const auto [users, meta] = contents(2 + i);
    EXPECT_GT(users.size(), 20u);  // a fair share of 150
    const std::string key = "lti:meta:" + std::to_string(i) + "-of-3";
    ASSERT_EQ(meta.count(key), 1u);
    EXPECT_EQ(meta.at(key).at("users"), users.size());  // counted per shard
    for (const auto& [user, vec] : users)
      EXPECT_TRUE(seen.insert(user).second) << "twice: " << user;
    written += users.size();
    expect_same_vectors(users, all);
  }
  EXPECT_EQ(written, 150u);  // disjoint shards that together hold every user
  EXPECT_EQ(seen.size(), 150u);

  // The launcher's shards into one database: every user once, and the shards' own counts add up
  // to the users (a user written by two shards would be counted twice there).
  const auto [launched, launched_meta] = contents(1);
  EXPECT_EQ(launched.size(), 150u);
  ASSERT_EQ(launched_meta.size(), 3u);
  int64_t counted = 0;
  for (const auto& [key, meta] : launched_meta) counted += meta.at("users").get<int64_t>();
  EXPECT_EQ(counted, 150);
  expect_same_vectors(launched, all);
  EXPECT_EQ(run_command(kLti + " export --shard 3/3" + at + data, out), 2);
  EXPECT_NE(out.find("--shard must be i/N with 0 <= i < N, not '3/3'"), std::string::npos) << out;
}
