#include "tests/support/test_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/config/textproto.h"
#include "common/events/envelope.h"
#include "common/events/signing.h"
#include "common/grpc/status.h"
#include "common/grpc/tls.h"
#include "common/ids/ids.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"

namespace signpost::testing {

// Every service a test starts (in this process, or a binary it spawns)
// serves its metrics on a free port, never on the fixed default, so that
// tests and stacks running side by side do not collide.
[[maybe_unused]] const bool kMetricsOnFreePorts =
    ::setenv("SIGNPOST_METRICS_ADDRESS", "127.0.0.1:0", /*overwrite=*/1) == 0;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      absl::StrCat(base ? base : "/tmp", "/signpost-test-XXXXXX");
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  char* made = mkdtemp(buf.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SourcePath(const std::string& relative) {
  return absl::StrCat(SIGNPOST_SOURCE_DIR, "/", relative);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

// Writes `pem` to `path` with `mode`, creating it with that mode so that a
// private key is never readable by others, even briefly.
void WritePemFile(const std::string& path, const std::string& pem,
                  mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, pem.data(), pem.size()), static_cast<ssize_t>(pem.size()))
      << path;
  close(fd);
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

void MakeSigningKeys(const std::string& dir) {
  for (const events::TopicProducer& tp : events::kTopicProducers) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), &EVP_PKEY_free);
    ASSERT_NE(key, nullptr);
    std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()),
                                                   &BIO_free);
    std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()),
                                                  &BIO_free);
    ASSERT_EQ(PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr,
                                       0, nullptr, nullptr),
              1);
    ASSERT_EQ(PEM_write_bio_PUBKEY(pub.get(), key.get()), 1);
    const std::string base = absl::StrCat(dir, "/", tp.producer);
    WritePemFile(base + ".key", BioText(priv.get()), 0600);
    WritePemFile(base + ".pub", BioText(pub.get()), 0644);
  }
}

v1::SubmitReferralRequest LoadExample(const std::string& name) {
  v1::SubmitReferralRequest request;
  absl::Status s = config::LoadTextProto(
      SourcePath(absl::StrCat("examples/referrals/", name, ".textproto")),
      &request);
  EXPECT_TRUE(s.ok()) << s;
  return request;
}

std::vector<std::string> ExampleNames() {
  std::vector<std::string> names;
  for (const auto& entry :
       std::filesystem::directory_iterator(SourcePath("examples/referrals"))) {
    std::string file = entry.path().filename().string();
    if (absl::EndsWith(file, ".textproto")) {
      names.push_back(file.substr(0, file.size() - strlen(".textproto")));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::unique_ptr<kafka::MockCluster> StartEmbeddedKafka(int brokers) {
  absl::StatusOr<std::unique_ptr<kafka::MockCluster>> cluster =
      kafka::MockCluster::Create(brokers);
  EXPECT_TRUE(cluster.ok()) << cluster.status();
  absl::StatusOr<std::vector<kafka::TopicSpec>> topics =
      kafka::ParseTopicList(ReadFile(SourcePath("deploy/kafka/topics.txt")));
  EXPECT_TRUE(topics.ok()) << topics.status();
  for (const auto& t : *topics) {
    absl::Status s = (*cluster)->CreateTopic(
        t.name, t.partitions, std::min(t.replication_factor, brokers));
    EXPECT_TRUE(s.ok()) << s;
  }
  return std::move(*cluster);
}

std::vector<kafka::ConsumedMessage> ReadTopic(const std::string& bootstrap,
                                              const std::string& topic,
                                              size_t expected,
                                              absl::Duration timeout) {
  kafka::ClientOptions options;
  options.bootstrap_servers = bootstrap;
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> consumer =
      kafka::Consumer::Create(options, absl::StrCat("reader-", NewUuid()),
                              {topic});
  EXPECT_TRUE(consumer.ok()) << consumer.status();
  std::vector<kafka::ConsumedMessage> out;
  absl::Time deadline = absl::Now() + timeout;
  while (out.size() < expected && absl::Now() < deadline) {
    absl::StatusOr<std::optional<kafka::ConsumedMessage>> m =
        (*consumer)->Poll(absl::Milliseconds(200));
    if (m.ok() && m->has_value()) out.push_back(std::move(**m));
  }
  // A little longer, to catch records beyond the expected count.
  absl::Time extra = absl::Now() + absl::Milliseconds(500);
  while (absl::Now() < extra) {
    absl::StatusOr<std::optional<kafka::ConsumedMessage>> m =
        (*consumer)->Poll(absl::Milliseconds(100));
    if (m.ok() && m->has_value()) out.push_back(std::move(**m));
  }
  (*consumer)->Close();
  return out;
}

std::vector<kafka::ConsumedMessage> ReadTopicToEnd(const std::string& bootstrap,
                                                   const std::string& topic,
                                                   absl::Duration timeout) {
  kafka::ClientOptions options;
  options.bootstrap_servers = bootstrap;
  absl::StatusOr<std::vector<kafka::ConsumedMessage>> records =
      kafka::ReadToEnd(options, topic, timeout);
  EXPECT_TRUE(records.ok()) << records.status();
  return records.ok() ? std::move(*records)
                      : std::vector<kafka::ConsumedMessage>();
}

Process::Process(const std::string& binary,
                 const std::vector<std::string>& args,
                 const std::string& stderr_path,
                 const std::vector<std::pair<std::string, std::string>>& env)
    : Process(binary, args, stderr_path, "/dev/null", env) {}

Process::Process(const std::string& binary,
                 const std::vector<std::string>& args,
                 const std::string& stderr_path, const std::string& stdout_path,
                 const std::vector<std::pair<std::string, std::string>>& env) {
  // Everything the child needs is made before fork: after it, only
  // async-signal-safe calls are sure to work in a threaded parent.
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    const absl::string_view entry(*e);
    bool replaced = false;
    for (const auto& [name, value] : env) {
      replaced |= absl::StartsWith(entry, absl::StrCat(name, "="));
    }
    if (!replaced) environment.emplace_back(entry);
  }
  for (const auto& [name, value] : env) {
    environment.push_back(absl::StrCat(name, "=", value));
  }
  std::vector<char*> envp;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  pid_ = fork();
  if (pid_ == 0) {
    FILE* err = std::fopen(stderr_path.c_str(), "w");
    if (err != nullptr) dup2(fileno(err), STDERR_FILENO);
    FILE* out = std::fopen(stdout_path.c_str(), "w");
    if (out != nullptr) dup2(fileno(out), STDOUT_FILENO);
    // The test runner may block signals; the child must start clean.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
}

Process::~Process() {
  if (Running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
}

bool Process::Running() {
  if (pid_ <= 0 || status_ != -1) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

int Process::Wait(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (Running()) {
    if (absl::Now() > deadline) return -1;
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

int Process::Terminate(absl::Duration timeout) {
  if (Running()) kill(pid_, SIGTERM);
  return Wait(timeout);
}

std::string WaitForLogValue(const std::string& path, const std::string& needle,
                            absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    std::string text = ReadFile(path);
    size_t at = text.find(needle);
    if (at != std::string::npos) {
      size_t start = at + needle.size();
      // A string value ends at its closing quote (the needle holds the
      // opening one); a number or boolean at the next , or }.
      size_t end = absl::EndsWith(needle, "\"")
                       ? text.find('"', start)
                       : text.find_first_of(",}", start);
      if (end != std::string::npos) return text.substr(start, end - start);
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return "";
}

const std::string& TestPki() {
  static const std::string* dir = [] {
    auto* temp = new TempDir();  // lives as long as the process
    const std::string pki = temp->File("pki");
    const std::string log = temp->File("dev-pki.log");
    const int rc = std::system(absl::StrCat("'", SourcePath("scripts/dev-pki"),
                                            "' '", pki, "' >'", log, "' 2>&1")
                                   .c_str());
    if (rc != 0) {
      ADD_FAILURE() << "scripts/dev-pki failed: " << ReadFile(log);
    }
    return new std::string(pki);
  }();
  return *dir;
}

std::shared_ptr<const crypto::Keyring> TestKeyring() {
  absl::StatusOr<std::string> key = crypto::RandomBytes(crypto::kKeyBytes);
  EXPECT_TRUE(key.ok());
  absl::StatusOr<crypto::Keyring> ring = crypto::Keyring::Parse(
      absl::StrCat("test-kek ", absl::Base64Escape(key.value_or(""))), "test");
  EXPECT_TRUE(ring.ok()) << ring.status();
  return std::make_shared<const crypto::Keyring>(*std::move(ring));
}

std::shared_ptr<const crypto::PersonKeys> TestPersonKeys() {
  return std::make_shared<const crypto::PersonKeys>(TestKeyring());
}

std::shared_ptr<const access::Registry> TestRegistry() {
  static const auto* registry = [] {
    absl::StatusOr<access::Registry> loaded =
        access::LoadRegistry(SourcePath("deploy/access/agencies.textproto"));
    if (!loaded.ok()) ADD_FAILURE() << loaded.status();
    return new std::shared_ptr<const access::Registry>(
        std::make_shared<const access::Registry>(
            loaded.ok() ? std::move(*loaded) : access::Registry()));
  }();
  return *registry;
}

access::Principal PrincipalOf(const std::string& agency_id) {
  const v1::Agency* agency = TestRegistry()->Find(AgencyId(agency_id));
  if (agency == nullptr) {
    ADD_FAILURE() << "agency " << agency_id << " is not registered";
    return access::Principal(v1::Agency());
  }
  return access::Principal(*agency);
}

TestGate::TestGate(store::Database& db, std::string producer)
    : authorizer_(TestRegistry()),
      audit_(db, std::move(producer), nullptr),
      gate_(executor_, authorizer_, &audit_) {}

std::vector<v1::AccessAudited> AccessAudits(store::Database& db) {
  std::vector<v1::AccessAudited> out;
  absl::Status status = db.Read([&](store::Tx& tx) -> absl::Status {
    absl::StatusOr<store::Statement> q =
        tx.Prepare("SELECT payload FROM outbox WHERE topic = ? ORDER BY seq");
    if (!q.ok()) return q.status();
    q->Bind(1, events::kAuditTopic);
    while (true) {
      absl::StatusOr<bool> row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      v1::EventEnvelope envelope;
      if (!envelope.ParseFromString(q->ColumnBlob(0))) {
        return absl::DataLossError("outbox row does not parse");
      }
      out.push_back(envelope.access_audited());
    }
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

InProcessServer::InProcessServer(const std::vector<grpc::Service*>& services) {
  grpcutil::ServerRunner::Options options;
  options.address = "127.0.0.1:0";
  const std::string& pki = TestPki();
  options.tls = grpcutil::TlsFiles{absl::StrCat(pki, "/services/intake.crt"),
                                   absl::StrCat(pki, "/services/intake.key"),
                                   absl::StrCat(pki, "/ca.crt")};
  auto runner = grpcutil::ServerRunner::Start(options, services);
  if (!runner.ok()) {
    ADD_FAILURE() << "in-process server: " << runner.status();
    return;
  }
  runner_ = std::move(*runner);
  runner_->SetServing(true);
  address_ = runner_->address();
}

std::shared_ptr<grpc::Channel> InProcessServer::ChannelAs(
    const std::string& agency_id) const {
  const std::string& pki = TestPki();
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      grpcutil::MutualTlsChannelCredentials(
          {absl::StrCat(pki, "/agencies/", agency_id, ".crt"),
           absl::StrCat(pki, "/agencies/", agency_id, ".key"),
           absl::StrCat(pki, "/ca.crt")});
  EXPECT_TRUE(credentials.ok()) << agency_id << ": " << credentials.status();
  if (!credentials.ok()) return nullptr;
  // A channel of its own per call site (no subchannel sharing), so that
  // each presents its own certificate.
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(address_, *credentials, args);
}

std::shared_ptr<grpc::Channel> InProcessServer::AnonymousChannel() const {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ReadFile(absl::StrCat(TestPki(), "/ca.crt"));
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(address_, grpc::SslCredentials(ssl), args);
}

InProcessServer::~InProcessServer() {
  if (runner_) runner_->Shutdown(absl::Seconds(1));
}

std::vector<std::string> BadFields(const grpc::Status& status) {
  google::rpc::BadRequest bad;
  EXPECT_TRUE(grpcutil::ExtractBadRequest(status, &bad))
      << "no BadRequest in " << status.error_message();
  std::vector<std::string> fields;
  for (const auto& v : bad.field_violations()) fields.push_back(v.field());
  return fields;
}

std::vector<std::string> RuleIds(const grpc::Status& status) {
  google::rpc::PreconditionFailure failure;
  EXPECT_TRUE(grpcutil::ExtractPreconditionFailure(status, &failure))
      << "no PreconditionFailure in " << status.error_message();
  std::vector<std::string> rules;
  for (const auto& v : failure.violations()) rules.push_back(v.type());
  return rules;
}

std::unique_ptr<grpc::ClientContext> ContextWithDeadline(
    absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

std::string Stack::Bin(const std::string& name) {
  return absl::StrCat(SIGNPOST_BIN_DIR, "/", name);
}

Stack::Stack() { Start(); }

void Stack::Start() {
  const std::string& pki = TestPki();
  broker_ = std::make_unique<Process>(
      Bin("signpost-devbroker"),
      std::vector<std::string>{"--topics_file",
                               SourcePath("deploy/kafka/topics.txt"),
                               "--bootstrap_file", dir_.File("bootstrap")},
      dir_.File("devbroker.log"));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (ReadFile(dir_.File("bootstrap")).empty() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  bootstrap_ = ReadFile(dir_.File("bootstrap"));
  while (!bootstrap_.empty() && bootstrap_.back() == '\n') {
    bootstrap_.pop_back();
  }
  ASSERT_FALSE(bootstrap_.empty()) << "devbroker did not start";
  const std::string calendar =
      SourcePath("deploy/calendar/england-and-wales.txt");
  for (const std::string svc :
       {"intake", "triage", "advocacy", "orders", "notification"}) {
    std::vector<std::string> args = {
        "--grpc_address",      "127.0.0.1:0",
        "--db_path",           dir_.File(svc + ".db"),
        "--kafka_bootstrap",   bootstrap_,
        "--event_signing_key", absl::StrCat(pki, "/signing/", svc, ".key"),
        "--event_keys_dir",    pki + "/signing",
        "--tls_cert_file",     absl::StrCat(pki, "/services/", svc, ".crt"),
        "--tls_key_file",      absl::StrCat(pki, "/services/", svc, ".key"),
        "--tls_ca_file",       pki + "/ca.crt",
        "--access_registry",   SourcePath("deploy/access/agencies.textproto"),
        "--kek_file",          pki + "/keys/kek.keys"};
    if (svc == "intake") {
      args.insert(args.end(),
                  {"--matching_key_file", pki + "/keys/matching.key",
                   "--retention_file",
                   SourcePath("deploy/policy/retention.textproto")});
    } else if (svc == "orders") {
      args.insert(args.end(), {"--calendar_file", calendar});
    } else if (svc == "triage") {
      args.insert(args.end(), {"--policy_file",
                               SourcePath("deploy/policy/default.textproto"),
                               "--calendar_file", calendar});
    } else if (svc == "advocacy") {
      args.insert(args.end(), {"--directory_file",
                               SourcePath("examples/directory.textproto"),
                               "--calendar_file", calendar});
    } else if (svc == "notification") {
      args.insert(args.end(), {"--subscriptions_file",
                               SourcePath("examples/subscriptions.textproto")});
    }
    args_[svc] = args;
    services_[svc] = std::make_unique<Process>(Bin("signpost-" + svc), args,
                                               dir_.File(svc + ".log"));
  }
  for (const auto& [svc, process] : services_) {
    const std::string addr = WaitForLogValue(
        dir_.File(svc + ".log"), "\"msg\":\"listening\",\"grpc_address\":\"",
        absl::Seconds(30));
    ASSERT_FALSE(addr.empty())
        << svc << " did not start: " << ReadFile(dir_.File(svc + ".log"));
    addrs_[svc] = addr;
  }
}

bool Stack::KillAndRestart(const std::string& service) {
  auto process = services_.find(service);
  if (process == services_.end()) return false;
  kill(process->second->pid(), SIGKILL);
  process->second->Wait(absl::Seconds(10));
  std::vector<std::string> args = args_.at(service);
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--grpc_address") args[i + 1] = addrs_.at(service);
  }
  // A log of its own, so that the wait below reads this start's line.
  const std::string log =
      dir_.File(absl::StrCat(service, ".", ++restarts_, ".log"));
  process->second =
      std::make_unique<Process>(Bin("signpost-" + service), args, log);
  const std::string addr = WaitForLogValue(
      log, "\"msg\":\"listening\",\"grpc_address\":\"", absl::Seconds(60));
  if (addr.empty()) {
    std::fprintf(stderr, "%s did not restart: %s\n", service.c_str(),
                 ReadFile(log).c_str());
    return false;
  }
  return true;
}

Stack::~Stack() {
  for (auto& [svc, process] : services_) {
    EXPECT_EQ(process->Terminate(), 0)
        << svc << " did not exit cleanly on SIGTERM";
  }
  services_.clear();
  if (broker_ != nullptr) broker_->Terminate();
}

}  // namespace signpost::testing
