// End to end: a reflection-only client against the real binaries over mutual
// TLS. The client has no generated code for health or google.rpc: its
// descriptor pool holds only the FileDescriptorProtos the server's reflection
// (grpc.reflection.v1, and v1alpha) answers. With them it calls
// grpc.health.v1.Health/Check and decodes the google.rpc.BadRequest of a
// refused SubmitReferral from the grpc-status-details-bin trailer.
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/grpc/tls.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "grpc/reflection/v1/reflection.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using grpc::reflection::v1::ServerReflectionRequest;
using grpc::reflection::v1::ServerReflectionResponse;
using ::testing::Contains;
using ::testing::UnorderedElementsAreArray;

constexpr char kV1[] = "grpc.reflection.v1.ServerReflection";
constexpr char kV1alpha[] = "grpc.reflection.v1alpha.ServerReflection";

std::string Bin(const std::string& name) {
  return absl::StrCat(SIGNPOST_BIN_DIR, "/", name);
}

// A deadline far beyond any wait a slow machine needs: a hung call fails
// instead of hanging the suite.
std::chrono::system_clock::time_point Deadline() {
  return absl::ToChronoTime(absl::Now() + absl::Minutes(2));
}

std::shared_ptr<grpc::Channel> DialAs(const std::string& address,
                                      const std::string& agency) {
  const std::string& pki = testing::TestPki();
  auto credentials = grpcutil::MutualTlsChannelCredentials(
      {absl::StrCat(pki, "/agencies/", agency, ".crt"),
       absl::StrCat(pki, "/agencies/", agency, ".key"),
       absl::StrCat(pki, "/ca.crt")});
  EXPECT_TRUE(credentials.ok()) << credentials.status();
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(
      address,
      credentials.ok() ? *credentials : grpc::InsecureChannelCredentials(),
      args);
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

// One ServerReflectionInfo stream through GenericStub, so that the same
// client speaks v1 and v1alpha: the two versions' messages are the same on
// the wire. Requests are answered one at a time, in order.
class ReflectionStream {
 public:
  ReflectionStream(const std::shared_ptr<grpc::Channel>& channel,
                   const std::string& service)
      : stub_(channel) {
    context_.set_deadline(Deadline());
    call_ = stub_.PrepareCall(
        &context_, absl::StrCat("/", service, "/ServerReflectionInfo"), &cq_);
    call_->StartCall(this);
    open_ = Await();
  }

  ~ReflectionStream() {
    if (open_) {
      call_->WritesDone(this);
      Await();
    }
    grpc::Status status;
    call_->Finish(&status, this);
    Await();
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }

  // The answer to `request`, or nullopt when the stream broke.
  std::optional<ServerReflectionResponse> Ask(
      const ServerReflectionRequest& request) {
    if (!open_) return std::nullopt;
    call_->Write(ToBuffer(request.SerializeAsString()), this);
    grpc::ByteBuffer answer;
    if (!(open_ = Await())) return std::nullopt;
    call_->Read(&answer, this);
    if (!(open_ = Await())) return std::nullopt;
    ServerReflectionResponse response;
    if (!response.ParseFromString(FromBuffer(answer))) return std::nullopt;
    return response;
  }

 private:
  bool Await() {
    void* tag = nullptr;
    bool ok = false;
    return cq_.Next(&tag, &ok) && ok;
  }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool open_ = false;
};

// The client's whole knowledge of the API: a pool fed only by reflection.
class ReflectedPool {
 public:
  ReflectedPool(const std::shared_ptr<grpc::Channel>& channel,
                const std::string& reflection_service)
      : stream_(channel, reflection_service) {}

  // Asks for the file declaring `symbol` and adds it, with the files it
  // imports, to the pool. Returns the error_response code (OK when found).
  grpc::StatusCode Fetch(const std::string& symbol) {
    ServerReflectionRequest request;
    request.set_file_containing_symbol(symbol);
    std::optional<ServerReflectionResponse> response = stream_.Ask(request);
    if (!response) {
      ADD_FAILURE() << "reflection stream broke asking for " << symbol;
      return grpc::StatusCode::UNAVAILABLE;
    }
    if (response->has_error_response()) {
      return static_cast<grpc::StatusCode>(
          response->error_response().error_code());
    }
    EXPECT_TRUE(response->has_file_descriptor_response()) << symbol;
    for (const std::string& bytes :
         response->file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto file;
      EXPECT_TRUE(file.ParseFromString(bytes)) << symbol;
      if (files_.insert(file.name()).second) {
        EXPECT_TRUE(database_.Add(file)) << file.name();
      }
    }
    return grpc::StatusCode::OK;
  }

  // A new, empty message of `type` (fetched before), or null.
  std::unique_ptr<Message> New(const std::string& type) {
    const Descriptor* descriptor = pool_.FindMessageTypeByName(type);
    if (descriptor == nullptr) return nullptr;
    return std::unique_ptr<Message>(factory_.GetPrototype(descriptor)->New());
  }

  const google::protobuf::DescriptorPool& pool() const { return pool_; }
  ReflectionStream& stream() { return stream_; }

 private:
  ReflectionStream stream_;
  std::set<std::string> files_;
  google::protobuf::SimpleDescriptorDatabase database_;
  google::protobuf::DescriptorPool pool_{&database_};
  google::protobuf::DynamicMessageFactory factory_{&pool_};
};

// A unary call with dynamic messages, as a reflection client makes it.
grpc::Status CallDynamic(const std::shared_ptr<grpc::Channel>& channel,
                         grpc::ClientContext* context, const std::string& path,
                         const Message& request, Message* response) {
  grpc::GenericStub stub(channel);
  const grpc::ByteBuffer out = ToBuffer(request.SerializeAsString());
  grpc::ByteBuffer in;
  std::promise<grpc::Status> done;
  stub.UnaryCall(context, path, grpc::StubOptions(), &out, &in,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  grpc::Status status = done.get_future().get();
  if (status.ok()) {
    EXPECT_TRUE(response->ParseFromString(FromBuffer(in)));
  }
  return status;
}

// The path of `service`'s `method`, from the fetched descriptors.
std::string MethodPath(const google::protobuf::DescriptorPool& pool,
                       const std::string& service, const std::string& method) {
  const google::protobuf::ServiceDescriptor* s =
      pool.FindServiceByName(service);
  if (s == nullptr || s->FindMethodByName(method) == nullptr) return "";
  return absl::StrCat("/", service, "/", method);
}

// Health/Check for `name` through the fetched descriptors: the status
// enum's name, or the call's error code.
std::string CheckHealth(ReflectedPool& reflected,
                        const std::shared_ptr<grpc::Channel>& channel,
                        const std::string& name) {
  const std::string path =
      MethodPath(reflected.pool(), "grpc.health.v1.Health", "Check");
  std::unique_ptr<Message> request =
      reflected.New("grpc.health.v1.HealthCheckRequest");
  std::unique_ptr<Message> response =
      reflected.New("grpc.health.v1.HealthCheckResponse");
  if (path.empty() || request == nullptr || response == nullptr) {
    return "health descriptors missing";
  }
  const FieldDescriptor* service =
      request->GetDescriptor()->FindFieldByName("service");
  request->GetReflection()->SetString(request.get(), service, name);
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  grpc::Status s =
      CallDynamic(channel, &context, path, *request, response.get());
  if (!s.ok()) return absl::StrCat("code ", s.error_code());
  const FieldDescriptor* status =
      response->GetDescriptor()->FindFieldByName("status");
  return response->GetReflection()->GetEnum(*response, status)->name();
}

// What each binary registers besides health, both reflections and its
// outbox's replay service.
const std::map<std::string, std::vector<std::string>>& OwnServices() {
  static const auto* services =
      new std::map<std::string, std::vector<std::string>>{
          {"intake", {"signpost.v1.IntakeService"}},
          {"triage",
           {"signpost.v1.TriageService", "signpost.v1.MaracService",
            "signpost.v1.ReportingService"}},
          {"advocacy",
           {"signpost.v1.AdvocacyService", "signpost.v1.ReportingService"}},
          {"orders",
           {"signpost.v1.OrderService", "signpost.v1.ReportingService"}},
          {"notification",
           {"signpost.v1.NotificationService", "signpost.v1.AuditService"}}};
  return *services;
}

class ReflectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string& pki = testing::TestPki();
    broker_ = new testing::Process(
        Bin("signpost-devbroker"),
        {"--topics_file", testing::SourcePath("deploy/kafka/topics.txt"),
         "--bootstrap_file", dir_->File("bootstrap")},
        dir_->File("devbroker.log"));
    std::string bootstrap;
    for (const absl::Time deadline = absl::Now() + absl::Minutes(1);
         absl::Now() < deadline;) {
      bootstrap = std::string(absl::StripAsciiWhitespace(
          testing::ReadFile(dir_->File("bootstrap"))));
      if (!bootstrap.empty()) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_FALSE(bootstrap.empty()) << "devbroker did not start";
    const std::string calendar =
        testing::SourcePath("deploy/calendar/england-and-wales.txt");
    const std::map<std::string, std::vector<std::string>> extra = {
        {"intake",
         {"--matching_key_file", pki + "/keys/matching.key", "--retention_file",
          testing::SourcePath("deploy/policy/retention.textproto")}},
        {"triage",
         {"--policy_file",
          testing::SourcePath("deploy/policy/default.textproto"),
          "--calendar_file", calendar}},
        {"advocacy",
         {"--directory_file",
          testing::SourcePath("examples/directory.textproto"),
          "--calendar_file", calendar}},
        {"orders", {"--calendar_file", calendar}},
        {"notification",
         {"--subscriptions_file",
          testing::SourcePath("examples/subscriptions.textproto")}}};
    services_ = new std::map<std::string, std::unique_ptr<testing::Process>>();
    addresses_ = new std::map<std::string, std::string>();
    for (const auto& [svc, flags] : extra) {
      std::vector<std::string> args = {
          "--grpc_address",
          "127.0.0.1:0",
          "--db_path",
          dir_->File(svc + ".db"),
          "--kafka_bootstrap",
          bootstrap,
          "--access_registry",
          testing::SourcePath("deploy/access/agencies.textproto"),
          "--kek_file",
          pki + "/keys/kek.keys",
          "--event_signing_key",
          absl::StrCat(pki, "/signing/", svc, ".key"),
          "--event_keys_dir",
          pki + "/signing",
          "--tls_cert_file",
          absl::StrCat(pki, "/services/", svc, ".crt"),
          "--tls_key_file",
          absl::StrCat(pki, "/services/", svc, ".key"),
          "--tls_ca_file",
          pki + "/ca.crt"};
      args.insert(args.end(), flags.begin(), flags.end());
      (*services_)[svc] = std::make_unique<testing::Process>(
          Bin("signpost-" + svc), args, dir_->File(svc + ".log"));
    }
    for (const auto& [svc, process] : *services_) {
      const std::string address = testing::WaitForLogValue(
          dir_->File(svc + ".log"), "\"msg\":\"listening\",\"grpc_address\":\"",
          absl::Minutes(1));
      ASSERT_FALSE(address.empty())
          << svc
          << " did not start: " << testing::ReadFile(dir_->File(svc + ".log"));
      (*addresses_)[svc] = address;
    }
  }

  static void TearDownTestSuite() {
    if (services_ != nullptr) {
      for (auto& [svc, process] : *services_) {
        EXPECT_EQ(process->Terminate(), 0) << svc;
      }
    }
    if (broker_ != nullptr) broker_->Terminate();
    delete services_;
    delete addresses_;
    delete broker_;
    delete dir_;
  }

  static std::shared_ptr<grpc::Channel> Channel(
      const std::string& svc, const std::string& agency = "signpost-operator") {
    return DialAs((*addresses_)[svc], agency);
  }

  // The names list_services answers on `reflection_service`.
  static std::vector<std::string> ListServices(
      const std::string& svc, const std::string& reflection_service) {
    ReflectionStream stream(Channel(svc), reflection_service);
    ServerReflectionRequest request;
    request.set_list_services("");
    std::optional<ServerReflectionResponse> response = stream.Ask(request);
    std::vector<std::string> names;
    if (!response) {
      ADD_FAILURE() << svc << ": " << reflection_service << " stream broke";
      return names;
    }
    EXPECT_FALSE(response->has_error_response())
        << response->error_response().error_message();
    for (const auto& service : response->list_services_response().service()) {
      names.push_back(service.name());
    }
    return names;
  }

  static testing::TempDir* dir_;
  static testing::Process* broker_;
  static std::map<std::string, std::unique_ptr<testing::Process>>* services_;
  static std::map<std::string, std::string>* addresses_;
};

testing::TempDir* ReflectionTest::dir_ = nullptr;
testing::Process* ReflectionTest::broker_ = nullptr;
std::map<std::string, std::unique_ptr<testing::Process>>*
    ReflectionTest::services_ = nullptr;
std::map<std::string, std::string>* ReflectionTest::addresses_ = nullptr;

// list_services names every service the binary registers, the same on v1
// and v1alpha, and each of them resolves through reflection.
TEST_F(ReflectionTest, EveryBinaryListsAndResolvesEveryServiceOnV1AndV1alpha) {
  for (const auto& [svc, own] : OwnServices()) {
    SCOPED_TRACE(svc);
    std::vector<std::string> expected = own;
    expected.insert(expected.end(), {"signpost.v1.OutboxService",
                                     "grpc.health.v1.Health", kV1, kV1alpha});
    const std::vector<std::string> listed = ListServices(svc, kV1);
    EXPECT_THAT(listed, UnorderedElementsAreArray(expected));
    EXPECT_THAT(ListServices(svc, kV1alpha), UnorderedElementsAreArray(listed));
    for (const char* version : {kV1, kV1alpha}) {
      ReflectedPool reflected(Channel(svc), version);
      for (const std::string& name : listed) {
        EXPECT_EQ(reflected.Fetch(name), grpc::StatusCode::OK)
            << version << ": " << name;
        EXPECT_NE(reflected.pool().FindServiceByName(name), nullptr)
            << version << ": " << name;
      }
    }
  }
}

// Health/Check, overall and per service name, with nothing but the
// descriptors reflection gave.
TEST_F(ReflectionTest, EveryBinaryAnswersHealthThroughReflectedDescriptors) {
  for (const auto& [svc, own] : OwnServices()) {
    SCOPED_TRACE(svc);
    for (const char* version : {kV1, kV1alpha}) {
      SCOPED_TRACE(version);
      ReflectedPool reflected(Channel(svc), version);
      ASSERT_EQ(reflected.Fetch("grpc.health.v1.Health"), grpc::StatusCode::OK);
      // SERVING once the store is open and Kafka answers.
      std::string overall;
      for (const absl::Time deadline = absl::Now() + absl::Minutes(1);
           absl::Now() < deadline;) {
        overall = CheckHealth(reflected, Channel(svc), "");
        if (overall == "SERVING") break;
        absl::SleepFor(absl::Milliseconds(100));
      }
      EXPECT_EQ(overall, "SERVING");
      for (const std::string& name : own) {
        EXPECT_EQ(CheckHealth(reflected, Channel(svc), name), "SERVING")
            << name;
      }
      EXPECT_EQ(
          CheckHealth(reflected, Channel(svc), "signpost.v1.OutboxService"),
          "SERVING");
      EXPECT_EQ(CheckHealth(reflected, Channel(svc), "signpost.v1.NoSuch"),
                absl::StrCat("code ", grpc::StatusCode::NOT_FOUND));
    }
  }
}

// A refused SubmitReferral, made and decoded as a reflection client: the
// request from the fetched IntakeService descriptors, the
// grpc-status-details-bin trailer decoded as google.rpc.Status, and its Any
// resolved by type URL through reflection.
TEST_F(ReflectionTest, ErrorDetailsDecodeThroughReflectedDescriptors) {
  for (const char* version : {kV1, kV1alpha}) {
    SCOPED_TRACE(version);
    auto police = Channel("intake", "police-wmp");
    ReflectedPool reflected(police, version);
    ASSERT_EQ(reflected.Fetch("signpost.v1.IntakeService"),
              grpc::StatusCode::OK);
    const std::string path = MethodPath(
        reflected.pool(), "signpost.v1.IntakeService", "SubmitReferral");
    ASSERT_FALSE(path.empty());
    const google::protobuf::MethodDescriptor* method =
        reflected.pool()
            .FindServiceByName("signpost.v1.IntakeService")
            ->FindMethodByName("SubmitReferral");
    std::unique_ptr<Message> request =
        reflected.New(method->input_type()->full_name());
    std::unique_ptr<Message> response =
        reflected.New(method->output_type()->full_name());
    ASSERT_NE(request, nullptr);
    ASSERT_NE(response, nullptr);
    // A referral with an area and nothing else, and no idempotency key.
    const FieldDescriptor* referral_field =
        request->GetDescriptor()->FindFieldByName("referral");
    ASSERT_NE(referral_field, nullptr);
    Message* referral =
        request->GetReflection()->MutableMessage(request.get(), referral_field);
    referral->GetReflection()->SetString(
        referral, referral->GetDescriptor()->FindFieldByName("area_code"),
        "WMP");

    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status status =
        CallDynamic(police, &context, path, *request, response.get());
    ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_message();
    std::string trailer;
    for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
      if (key == "grpc-status-details-bin") {
        trailer.assign(value.data(), value.size());
      }
    }
    ASSERT_FALSE(trailer.empty()) << "no grpc-status-details-bin trailer";
    EXPECT_EQ(trailer, status.error_details());

    ASSERT_EQ(reflected.Fetch("google.rpc.Status"), grpc::StatusCode::OK);
    std::unique_ptr<Message> rich = reflected.New("google.rpc.Status");
    ASSERT_NE(rich, nullptr);
    ASSERT_TRUE(rich->ParseFromString(trailer));
    const auto* rich_reflection = rich->GetReflection();
    const Descriptor* rich_type = rich->GetDescriptor();
    EXPECT_EQ(
        rich_reflection->GetInt32(*rich, rich_type->FindFieldByName("code")),
        grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(rich_reflection->GetString(*rich,
                                         rich_type->FindFieldByName("message")),
              status.error_message());
    const FieldDescriptor* details = rich_type->FindFieldByName("details");
    ASSERT_EQ(rich_reflection->FieldSize(*rich, details), 1);
    const Message& any = rich_reflection->GetRepeatedMessage(*rich, details, 0);
    const std::string type_url = any.GetReflection()->GetString(
        any, any.GetDescriptor()->FindFieldByName("type_url"));
    std::string type_name(type_url.substr(type_url.rfind('/') + 1));
    EXPECT_EQ(type_name, "google.rpc.BadRequest");
    ASSERT_EQ(reflected.Fetch(type_name), grpc::StatusCode::OK) << type_url;
    std::unique_ptr<Message> bad = reflected.New(type_name);
    ASSERT_NE(bad, nullptr);
    ASSERT_TRUE(bad->ParseFromString(any.GetReflection()->GetString(
        any, any.GetDescriptor()->FindFieldByName("value"))));
    const FieldDescriptor* violations =
        bad->GetDescriptor()->FindFieldByName("field_violations");
    std::vector<std::string> fields;
    for (int i = 0; i < bad->GetReflection()->FieldSize(*bad, violations);
         ++i) {
      const Message& violation =
          bad->GetReflection()->GetRepeatedMessage(*bad, violations, i);
      fields.push_back(violation.GetReflection()->GetString(
          violation, violation.GetDescriptor()->FindFieldByName("field")));
    }
    EXPECT_THAT(fields, Contains("idempotency_key"));
    EXPECT_THAT(fields, Contains("referral.source"));
    EXPECT_THAT(fields, Contains("referral.harm_types"));
    EXPECT_THAT(fields, ::testing::Not(Contains("referral.area_code")));
  }
}

// Unknown names are NOT_FOUND (never UNKNOWN), on both versions, and the
// stream goes on answering after an error.
TEST_F(ReflectionTest, UnknownNamesAreNotFoundAndTheStreamGoesOn) {
  for (const char* version : {kV1, kV1alpha}) {
    SCOPED_TRACE(version);
    ReflectedPool reflected(Channel("triage"), version);
    EXPECT_EQ(reflected.Fetch("signpost.v1.NoSuchService"),
              grpc::StatusCode::NOT_FOUND);
    std::vector<ServerReflectionRequest> unknown(4);
    unknown[0].set_file_by_filename("signpost/v1/no_such.proto");
    unknown[1].mutable_file_containing_extension()->set_containing_type(
        "google.protobuf.FieldOptions");
    unknown[1].mutable_file_containing_extension()->set_extension_number(
        536870911);
    unknown[2].mutable_file_containing_extension()->set_containing_type(
        "signpost.v1.NoSuchMessage");
    unknown[3].set_all_extension_numbers_of_type("signpost.v1.NoSuchMessage");
    for (const ServerReflectionRequest& request : unknown) {
      std::optional<ServerReflectionResponse> response =
          reflected.stream().Ask(request);
      ASSERT_TRUE(response.has_value()) << request.ShortDebugString();
      EXPECT_EQ(response->error_response().error_code(),
                grpc::StatusCode::NOT_FOUND)
          << request.ShortDebugString();
      EXPECT_EQ(response->original_request().SerializeAsString(),
                request.SerializeAsString());
    }
    // Still answering, with the file and what it imports.
    ServerReflectionRequest known;
    known.set_file_by_filename("signpost/v1/triage.proto");
    std::optional<ServerReflectionResponse> response =
        reflected.stream().Ask(known);
    ASSERT_TRUE(response.has_value());
    EXPECT_FALSE(response->has_error_response())
        << response->error_response().error_message();
    EXPECT_GT(response->file_descriptor_response().file_descriptor_proto_size(),
              1);
    // A message type with no extensions: its name and an empty list.
    ServerReflectionRequest numbers;
    numbers.set_all_extension_numbers_of_type(
        "grpc.health.v1.HealthCheckRequest");
    response = reflected.stream().Ask(numbers);
    ASSERT_TRUE(response.has_value());
    EXPECT_FALSE(response->has_error_response())
        << response->error_response().error_message();
    EXPECT_EQ(response->all_extension_numbers_response().base_type_name(),
              "grpc.health.v1.HealthCheckRequest");
    EXPECT_EQ(
        response->all_extension_numbers_response().extension_number_size(), 0);
  }
}

}  // namespace
}  // namespace signpost
