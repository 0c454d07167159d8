// signpost-devbroker: hosts librdkafka's mock cluster (a real Kafka-protocol
// broker set on loopback TCP) with every Signpost topic created from the
// topic list, prints its bootstrap address, and runs until SIGTERM/SIGINT.
// For development and tests only; production uses a real Kafka cluster.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/config/config.h"
#include "common/kafka/kafka.h"
#include "common/log/log.h"
#include "common/service/host.h"

int main(int argc, char** argv) {
  signpost::service::BlockShutdownSignals();
  signpost::log::SetService("devbroker");
  signpost::config::Config config("signpost-devbroker");
  config.DefineString("topics_file", "deploy/kafka/topics.txt",
                      "topic list: '<name> <partitions> <replication>' lines",
                      true);
  config.DefineInt("brokers", 3, 1, 9, "number of mock brokers");
  config.DefineString("bootstrap_file", "",
                      "also write the bootstrap address to this file");
  config.DefineString("log_level", "info", "debug, info, warn or error");
  if (int code = signpost::service::ParseConfig(config, argc, argv);
      code >= 0) {
    return code;
  }
  std::ifstream in(config.GetString("topics_file"));
  if (!in) {
    signpost::config::PrintConfigError(
        argv[0],
        absl::InvalidArgumentError(absl::StrCat(
            "topics_file: cannot read ", config.GetString("topics_file"))));
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  absl::StatusOr<std::vector<signpost::kafka::TopicSpec>> topics =
      signpost::kafka::ParseTopicList(text.str());
  if (!topics.ok()) {
    signpost::config::PrintConfigError(
        argv[0], absl::InvalidArgumentError(
                     absl::StrCat("topics_file: ", topics.status().message())));
    return 2;
  }
  int brokers = static_cast<int>(config.GetInt("brokers"));
  absl::StatusOr<std::unique_ptr<signpost::kafka::MockCluster>> cluster =
      signpost::kafka::MockCluster::Create(brokers);
  if (!cluster.ok()) {
    std::fprintf(stderr, "signpost-devbroker: %s\n",
                 std::string(cluster.status().message()).c_str());
    return 1;
  }
  for (const auto& topic : *topics) {
    int replication = std::min(topic.replication_factor, brokers);
    if (absl::Status s =
            (*cluster)->CreateTopic(topic.name, topic.partitions, replication);
        !s.ok()) {
      std::fprintf(stderr, "signpost-devbroker: %s\n",
                   std::string(s.message()).c_str());
      return 1;
    }
  }
  const std::string& bootstrap = (*cluster)->bootstrap_servers();
  if (!config.GetString("bootstrap_file").empty()) {
    std::string tmp = config.GetString("bootstrap_file") + ".tmp";
    {
      std::ofstream out(tmp);
      out << bootstrap << "\n";
    }
    std::rename(tmp.c_str(), config.GetString("bootstrap_file").c_str());
  }
  std::printf("%s\n", bootstrap.c_str());
  std::fflush(stdout);
  signpost::log::Info("devbroker ready", {{"bootstrap", bootstrap},
                                          {"brokers", brokers},
                                          {"topics", topics->size()}});
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  sigwait(&set, &sig);
  signpost::log::Info("devbroker stopping");
  return 0;
}
