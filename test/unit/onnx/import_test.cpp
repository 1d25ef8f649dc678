// import_onnx on ModelProtos built here: types, constants, external data, functions, and every rejection path.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "test/unit/ir/builder.h"
#include "compiler/onnx/import.h"
#include "compiler/onnx/onnx.pb.h"
#include "contract/error.h"

namespace tsc {
namespace {

namespace fs = std::filesystem;

class Import : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tsc_ir_import_" + std::to_string(::getpid()) + "_" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const onnx::ModelProto& m, const std::string& name = "model.onnx") {
    std::string path = (dir_ / name).string();
    std::ofstream f(path, std::ios::binary);
    m.SerializeToOstream(&f);
    return path;
  }
  std::string write_bytes(const std::string& bytes, const std::string& name) {
    std::string path = (dir_ / name).string();
    std::ofstream f(path, std::ios::binary);
    f << bytes;
    return path;
  }
  // Expects import to throw a tsc::Error whose message contains `what`.
  void expect_error(const std::string& path, const std::string& what) {
    try {
      import_onnx(path);
      ADD_FAILURE() << "no error, expected: " << what;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
      EXPECT_FALSE(e.hint().empty());
    }
  }

  // A model y = Add(x, c) with x: float[batch, 4] and c set by the caller.
  static onnx::ModelProto add_model(onnx::TensorProto c) {
    onnx::ModelProto m;
    m.set_ir_version(9);
    auto* op = m.add_opset_import();
    op->set_domain("");
    op->set_version(18);
    auto* g = m.mutable_graph();
    g->set_name("add");
    auto* x = g->add_input();
    x->set_name("x");
    auto* tt = x->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_param("batch");
    tt->mutable_shape()->add_dim()->set_dim_value(4);
    c.set_name("c");
    *g->add_initializer() = c;
    auto* n = g->add_node();
    n->set_op_type("Add");
    n->add_input("x");
    n->add_input("c");
    n->add_output("y");
    g->add_output()->set_name("y");
    return m;
  }
  static onnx::TensorProto floats(std::vector<float> v, bool raw) {
    onnx::TensorProto t;
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_dims(static_cast<int64_t>(v.size()));
    if (raw) t.set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4));
    else for (float f : v) t.add_float_data(f);
    return t;
  }

  fs::path dir_;
};

TEST_F(Import, InterfaceAndInitializers) {
  for (bool raw : {false, true}) {
    Graph g = import_onnx(write(add_model(floats({1, 2, 3, 4}, raw))));
    EXPECT_EQ(g.name, "add");
    EXPECT_EQ(g.opsets.at(""), 18);
    EXPECT_EQ(g.inputs, (std::vector<std::string>{"x"}));  // the initializer is not a runtime input
    EXPECT_EQ(g.outputs, (std::vector<std::string>{"y"}));
    EXPECT_EQ(g.type("x")->str(), "f32[batch,4]");
    ASSERT_TRUE(g.is_const("c"));
    EXPECT_EQ(test::values(*g.constant("c")), (std::vector<double>{1, 2, 3, 4}));
    EXPECT_EQ(g.constant("c")->origin, "inline");
    ASSERT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(g.nodes[0]->op, "Add");
  }
}

TEST_F(Import, Float16TypedFieldsHoldBitPatterns) {
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::FLOAT16);
  t.add_dims(2);
  t.add_int32_data(0x3C00);  // 1.0
  t.add_int32_data(0xC000);  // -2.0
  Graph g = import_onnx(write(add_model(t)));
  EXPECT_EQ(test::values(*g.constant("c")), (std::vector<double>{1, -2}));
}

TEST_F(Import, ConstantNodesBecomeConstants) {
  onnx::ModelProto m = add_model(floats({1, 2, 3, 4}, true));
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type("Constant");
  n->add_output("k");
  auto* a = n->add_attribute();
  a->set_name("value_ints");
  a->set_type(onnx::AttributeProto::INTS);
  a->add_ints(3);
  a->add_ints(-3);
  Graph g = import_onnx(write(m));
  ASSERT_TRUE(g.is_const("k"));
  EXPECT_EQ(g.constant("k")->to_i64(), (std::vector<int64_t>{3, -3}));
  EXPECT_EQ(g.nodes.size(), 1u);  // no Constant node left
}

TEST_F(Import, ExternalDataIsMappedAtItsOffset) {
  std::vector<float> v = {5, 6, 7, 8};
  std::string data(16, '\0');
  data += std::string(reinterpret_cast<const char*>(v.data()), 16);
  write_bytes(data, "weights.bin");
  onnx::TensorProto t;
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(4);
  t.set_data_location(onnx::TensorProto::EXTERNAL);
  auto kv = [&](const char* k, const std::string& val) {
    auto* e = t.add_external_data();
    e->set_key(k);
    e->set_value(val);
  };
  kv("location", "weights.bin");
  kv("offset", "16");
  kv("length", "16");
  Graph g = import_onnx(write(add_model(t)));
  EXPECT_EQ(test::values(*g.constant("c")), (std::vector<double>{5, 6, 7, 8}));
  EXPECT_EQ(g.constant("c")->origin, "weights.bin@16");
}

TEST_F(Import, ExternalDataErrors) {
  auto ext = [&](const std::string& loc, const std::string& offset, const std::string& length) {
    onnx::TensorProto t;
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_dims(4);
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    for (auto [k, v] : {std::pair{"location", loc}, {"offset", offset}, {"length", length}}) {
      if (v.empty()) continue;
      auto* e = t.add_external_data();
      e->set_key(k);
      e->set_value(v);
    }
    return write(add_model(t));
  };
  write_bytes(std::string(20, 'x'), "short.bin");
  expect_error(ext("missing.bin", "0", ""), "needs external data file");
  expect_error(ext("short.bin", "8", ""), "needs bytes [8, 24) of");
  expect_error(ext("short.bin", "0", "12"), "but its external data length is 12");
  expect_error(ext("short.bin", "-4", ""), "needs bytes");
  expect_error(ext("../short.bin", "0", ""), "which is not a relative path inside the model's folder");
  expect_error(ext("/etc/passwd", "0", ""), "which is not a relative path inside the model's folder");
  expect_error(ext("", "0", ""), "which is not a relative path inside the model's folder");
}

// Offsets and lengths that are not non-negative decimal byte counts are a tsc::Error naming the tensor (they
// were parsed with std::stoll, whose std::invalid_argument / std::out_of_range aborted tsc).
TEST_F(Import, MalformedExternalOffsetIsATscError) {
  write_bytes(std::string(16, 'x'), "w.bin");
  for (const char* bad : {"abc", "99999999999999999999"}) {
    onnx::TensorProto t;
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_dims(4);
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto* l = t.add_external_data();
    l->set_key("location");
    l->set_value("w.bin");
    auto* o = t.add_external_data();
    o->set_key("offset");
    o->set_value(bad);
    std::string path = write(add_model(t));
    expect_error(path, "external data offset '" + std::string(bad) + "', which is not a byte count");
  }
}

TEST_F(Import, CorruptTensorsAreRejected) {
  {
    onnx::TensorProto t = floats({1, 2, 3, 4}, true);
    t.mutable_raw_data()->resize(12);
    expect_error(write(add_model(t)), "holds 12 bytes of raw data");
  }
  {
    onnx::TensorProto t = floats({1, 2, 3}, false);
    t.set_dims(0, 4);
    expect_error(write(add_model(t)), "but holds 3 values");
  }
  {
    onnx::TensorProto t = floats({1}, false);
    t.set_dims(0, -1);
    expect_error(write(add_model(t)), "negative dimension");
  }
  {
    onnx::TensorProto t = floats({1}, false);
    t.set_dims(0, int64_t{1} << 30);
    t.add_dims(int64_t{1} << 30);
    expect_error(write(add_model(t)), "claims more than 2^40 elements");
  }
  {
    onnx::TensorProto t = floats({1}, false);
    t.set_data_type(14);  // complex64
    expect_error(write(add_model(t)), "has element type 14, which tsc does not support");
  }
}

TEST_F(Import, UnreadableFilesAreRejected) {
  expect_error((dir_ / "nope.onnx").string(), "cannot open");
  expect_error(write_bytes("", "empty.onnx"), "is empty (0 bytes), not an ONNX model");
  std::string whole = add_model(floats({1, 2, 3, 4}, true)).SerializeAsString();
  expect_error(write_bytes(whole.substr(0, whole.size() - 3), "cut.onnx"), "the file is truncated or corrupt");
  expect_error(write_bytes(std::string(64, '\xff'), "junk.onnx"), "the file is truncated or corrupt");
  onnx::ModelProto no_graph;
  no_graph.set_ir_version(9);
  expect_error(write(no_graph), "holds no graph");
}

TEST_F(Import, AttributeWithoutTypeOrValueIsRejected) {
  onnx::ModelProto m = add_model(floats({1, 2, 3, 4}, true));
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name("mystery");
  expect_error(write(m), "attribute 'mystery' of node 'y' has an unknown type");
}

// A model calling local function F(x) = Add(Mul(x, @alpha), 0.5) twice.
onnx::ModelProto function_model(bool raw_constant) {
  onnx::ModelProto m;
  m.set_ir_version(9);
  for (auto [d, v] : {std::pair{"", 18}, {"local", 1}}) {
    auto* op = m.add_opset_import();
    op->set_domain(d);
    op->set_version(v);
  }
  auto* g = m.mutable_graph();
  g->set_name("calls");
  auto* x = g->add_input();
  x->set_name("x");
  x->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  x->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(4);
  for (auto [name, in, out, alpha] : {std::tuple{"first", "x", "y1", 3.f}, {"second", "y1", "y", -1.f}}) {
    auto* n = g->add_node();
    n->set_name(name);
    n->set_op_type("F");
    n->set_domain("local");
    n->add_input(in);
    n->add_output(out);
    auto* a = n->add_attribute();
    a->set_name("alpha");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(alpha);
  }
  g->add_output()->set_name("y");
  auto* f = m.add_functions();
  f->set_name("F");
  f->set_domain("local");
  f->add_input("x");
  f->add_output("y");
  f->add_attribute("alpha");
  auto* op = f->add_opset_import();
  op->set_domain("");
  op->set_version(18);
  auto* ca = f->add_node();
  ca->set_op_type("Constant");
  ca->add_output("a");
  auto* ra = ca->add_attribute();
  ra->set_name("value_float");
  ra->set_type(onnx::AttributeProto::FLOAT);
  ra->set_ref_attr_name("alpha");
  auto* cb = f->add_node();
  cb->set_op_type("Constant");
  cb->add_output("b");
  auto* tb = cb->add_attribute();
  tb->set_name("value");
  tb->set_type(onnx::AttributeProto::TENSOR);
  tb->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  tb->mutable_t()->add_dims(1);
  float half = 0.5f;
  if (raw_constant) tb->mutable_t()->set_raw_data(std::string(reinterpret_cast<const char*>(&half), 4));
  else tb->mutable_t()->add_float_data(half);
  for (auto [o, i0, i1] : {std::tuple{"Mul", "x", "a"}, {"Add", "s", "b"}}) {
    auto* n = f->add_node();
    n->set_op_type(o);
    n->add_input(i0);
    n->add_input(i1);
    n->add_output(std::string(o) == "Mul" ? "s" : "y");
  }
  return m;
}

TEST_F(Import, FunctionsAreInlinedWithRenamedValuesAndBoundAttributes) {
  Graph g = import_onnx(write(function_model(false)));
  ASSERT_EQ(g.nodes.size(), 4u);
  EXPECT_EQ(g.nodes[0]->op, "Mul");
  EXPECT_EQ(g.nodes[0]->inputs, (std::vector<std::string>{"x", "first/a"}));
  EXPECT_EQ(g.nodes[0]->outputs, (std::vector<std::string>{"first/s"}));
  EXPECT_EQ(g.nodes[1]->outputs, (std::vector<std::string>{"y1"}));
  EXPECT_EQ(g.nodes[3]->outputs, (std::vector<std::string>{"y"}));
  // Unnamed body nodes are named after their (renamed) first output, as unnamed graph nodes are described.
  EXPECT_EQ(g.nodes[0]->name, "first/s");
  EXPECT_EQ(g.nodes[1]->name, "y1");
  EXPECT_EQ(g.constant("first/a")->f64(0), 3.0);
  EXPECT_EQ(g.constant("second/a")->f64(0), -1.0);
  EXPECT_EQ(g.constant("first/b")->f64(0), 0.5);
}

// A raw_data tensor attribute of a Constant in a function body is referenced, not copied, by the Tensor: the
// rewritten NodeProto it points into must live as long as the graph (it was a per-iteration copy: a
// heap-use-after-free; lit: import/function_constant_raw.test).
TEST_F(Import, FunctionConstantWithRawDataKeepsItsValue) {
  Graph g = import_onnx(write(function_model(true)));
  ASSERT_TRUE(g.is_const("first/b"));
  EXPECT_EQ(g.constant("first/b")->f64(0), 0.5);
  EXPECT_EQ(g.constant("second/b")->f64(0), 0.5);
}

// The nesting counter belongs to one import and is restored when a function body throws: 40 rejected models
// whose function bodies throw do not make a later model with a local function "recursive or nested too deeply"
// in the same process (a fuzzer, a test binary or any embedding of the importer).
TEST_F(Import, RejectedFunctionBodiesDoNotPoisonLaterImports) {
  onnx::ModelProto bad = function_model(false);
  bad.mutable_functions(0)->mutable_node(1)->mutable_attribute(0)->set_name("sparse_value");  // not understood
  bad.mutable_functions(0)->mutable_node(1)->mutable_attribute(0)->clear_t();
  const std::string bad_path = write(bad, "bad.onnx");
  for (int i = 0; i < 40; ++i) EXPECT_THROW(import_onnx(bad_path), Error);
  EXPECT_NO_THROW(import_onnx(write(function_model(false))));
}

TEST_F(Import, RecursiveFunctionsAreRejected) {
  onnx::ModelProto m = function_model(false);
  auto* self = m.mutable_functions(0)->add_node();
  self->set_op_type("F");
  self->set_domain("local");
  self->add_input("y");
  self->add_output("z");
  auto* a = self->add_attribute();
  a->set_name("alpha");
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(2.f);
  expect_error(write(m), "function 'F' is recursive or nested too deeply");
}

}  // namespace
}  // namespace tsc
