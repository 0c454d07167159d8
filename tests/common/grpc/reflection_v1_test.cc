// ReflectionV1Service's answers over a pool built here: files with their
// transitive imports each once, extensions found by number, unknown names
// NOT_FOUND, and the service list only once the server has set it.
#include "common/grpc/reflection_v1.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace signpost::grpcutil {
namespace {

using google::protobuf::FileDescriptorProto;
using grpc::reflection::v1::ServerReflectionRequest;
using grpc::reflection::v1::ServerReflectionResponse;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

// descriptor.proto; test/base.proto (imports it, declares test.Base with an
// extension range and a FieldOptions extension); test/more.proto (imports
// both: a diamond) extends test.Base with field 150 and has a service.
class ReflectionV1ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FileDescriptorProto descriptor_proto;
    FileDescriptorProto::descriptor()->file()->CopyTo(&descriptor_proto);
    ASSERT_NE(pool_.BuildFile(descriptor_proto), nullptr);
    Build(R"pb(
      name: "test/base.proto"
      package: "test"
      dependency: "google/protobuf/descriptor.proto"
      message_type {
        name: "Base"
        extension_range { start: 100 end: 200 }
      }
      extension {
        name: "sensitive"
        number: 50001
        label: LABEL_OPTIONAL
        type: TYPE_BOOL
        extendee: ".google.protobuf.FieldOptions"
      }
    )pb");
    Build(R"pb(
      name: "test/more.proto"
      package: "test"
      dependency: "test/base.proto"
      dependency: "google/protobuf/descriptor.proto"
      extension {
        name: "count"
        number: 150
        label: LABEL_OPTIONAL
        type: TYPE_INT32
        extendee: ".test.Base"
      }
      service {
        name: "Things"
        method {
          name: "Get"
          input_type: ".test.Base"
          output_type: ".test.Base"
        }
      }
    )pb");
  }

  void Build(const std::string& text) {
    FileDescriptorProto file;
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &file));
    ASSERT_NE(pool_.BuildFile(file), nullptr) << file.name();
  }

  // The names of the files an answer carries, in order.
  static std::vector<std::string> Files(
      const ServerReflectionResponse& response) {
    std::vector<std::string> names;
    for (const std::string& bytes :
         response.file_descriptor_response().file_descriptor_proto()) {
      FileDescriptorProto file;
      EXPECT_TRUE(file.ParseFromString(bytes));
      names.push_back(file.name());
    }
    return names;
  }

  google::protobuf::DescriptorPool pool_;
};

TEST_F(ReflectionV1ServiceTest, AFileComesWithEveryFileItImportsEachOnce) {
  ReflectionV1Service service(&pool_);
  ServerReflectionRequest request;
  request.set_host("h");
  request.set_file_by_filename("test/more.proto");
  ServerReflectionResponse response = service.Answer(request);
  EXPECT_FALSE(response.has_error_response());
  EXPECT_THAT(Files(response), ElementsAre("test/more.proto", "test/base.proto",
                                           "google/protobuf/descriptor.proto"));
  EXPECT_EQ(response.valid_host(), "h");
  EXPECT_EQ(response.original_request().file_by_filename(), "test/more.proto");

  // A service, a method and a message each lead to the file declaring it.
  for (const char* symbol : {"test.Things", "test.Things.Get", "test.count"}) {
    request.set_file_containing_symbol(symbol);
    EXPECT_THAT(Files(service.Answer(request)),
                ElementsAre("test/more.proto", "test/base.proto",
                            "google/protobuf/descriptor.proto"))
        << symbol;
  }
  request.set_file_containing_symbol("test.Base");
  EXPECT_THAT(
      Files(service.Answer(request)),
      ElementsAre("test/base.proto", "google/protobuf/descriptor.proto"));
}

TEST_F(ReflectionV1ServiceTest, ExtensionsAreFoundByTypeAndNumber) {
  ReflectionV1Service service(&pool_);
  ServerReflectionRequest request;
  request.mutable_file_containing_extension()->set_containing_type("test.Base");
  request.mutable_file_containing_extension()->set_extension_number(150);
  EXPECT_THAT(Files(service.Answer(request)),
              ElementsAre("test/more.proto", "test/base.proto",
                          "google/protobuf/descriptor.proto"));
  request.mutable_file_containing_extension()->set_containing_type(
      "google.protobuf.FieldOptions");
  request.mutable_file_containing_extension()->set_extension_number(50001);
  EXPECT_THAT(
      Files(service.Answer(request)),
      ElementsAre("test/base.proto", "google/protobuf/descriptor.proto"));

  request.set_all_extension_numbers_of_type("test.Base");
  ServerReflectionResponse numbers = service.Answer(request);
  EXPECT_EQ(numbers.all_extension_numbers_response().base_type_name(),
            "test.Base");
  EXPECT_THAT(numbers.all_extension_numbers_response().extension_number(),
              ElementsAre(150));
}

TEST_F(ReflectionV1ServiceTest, UnknownNamesAreNotFound) {
  ReflectionV1Service service(&pool_);
  std::vector<ServerReflectionRequest> requests(5);
  requests[0].set_file_by_filename("test/none.proto");
  requests[1].set_file_containing_symbol("test.None");
  requests[2].mutable_file_containing_extension()->set_containing_type(
      "test.Base");
  requests[2].mutable_file_containing_extension()->set_extension_number(151);
  requests[3].mutable_file_containing_extension()->set_containing_type(
      "test.None");
  requests[4].set_all_extension_numbers_of_type("test.None");
  for (const ServerReflectionRequest& request : requests) {
    ServerReflectionResponse response = service.Answer(request);
    EXPECT_EQ(response.error_response().error_code(),
              grpc::StatusCode::NOT_FOUND)
        << request.ShortDebugString();
    EXPECT_FALSE(response.error_response().error_message().empty());
    EXPECT_FALSE(response.has_file_descriptor_response());
  }
  // A request that asks for nothing.
  EXPECT_EQ(
      service.Answer(ServerReflectionRequest()).error_response().error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(ReflectionV1ServiceTest, ServicesAreListedOnceTheServerSetsThem) {
  ReflectionV1Service service(&pool_);
  ServerReflectionRequest request;
  request.set_list_services("*");
  EXPECT_EQ(service.Answer(request).error_response().error_code(),
            grpc::StatusCode::UNAVAILABLE);
  service.SetServiceList({"test.Things", "grpc.health.v1.Health"});
  std::vector<std::string> names;
  const ServerReflectionResponse listed = service.Answer(request);
  for (const auto& s : listed.list_services_response().service()) {
    names.push_back(s.name());
  }
  EXPECT_THAT(names,
              UnorderedElementsAre("test.Things", "grpc.health.v1.Health"));
}

}  // namespace
}  // namespace signpost::grpcutil
