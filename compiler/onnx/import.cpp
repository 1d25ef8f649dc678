// ONNX ModelProto -> Graph. Initializers point into the protobuf message or the mapped external-data file.
#include "compiler/onnx/import.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <charconv>
#include <climits>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include "compiler/onnx/onnx.pb.h"
#include "compiler/onnx/op_arity.h"
#include "contract/error.h"
#include "contract/mapped_file.h"

namespace tsc {
namespace {

namespace fs = std::filesystem;

class Importer {
 public:
  explicit Importer(std::string path) : path_(std::move(path)) {}

  Graph run() {
    auto file = MappedFile::open(path_);
    auto model = std::make_shared<onnx::ModelProto>();
    {
      google::protobuf::io::ArrayInputStream raw(file->data(), static_cast<int>(std::min<size_t>(file->size(), INT_MAX)));
      google::protobuf::io::CodedInputStream coded(&raw);
      coded.SetTotalBytesLimit(INT_MAX);
      if (file->size() > static_cast<size_t>(INT_MAX))
        throw Error("'" + path_ + "' is larger than 2 GB, the protobuf limit",
                    "save the model with external data (onnx.save(..., save_as_external_data=True))");
      if (file->size() == 0)
        throw Error("'" + path_ + "' is empty (0 bytes), not an ONNX model",
                    "a failed or interrupted export leaves an empty file behind; export the model again");
      if (!model->ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
        throw Error("cannot parse '" + path_ + "' as an ONNX ModelProto: the file is truncated or corrupt",
                    "re-export the model, or check the file with python -c \"import onnx; onnx.checker.check_model('" + path_ + "')\"");
    }
    if (!model->has_graph())
      throw Error("'" + path_ + "' holds no graph", "is this an ONNX model file?");
    g_.source_path = path_;
    g_.keepalive.push_back(model);
    for (auto& op : model->opset_import()) g_.opsets[op.domain() == "ai.onnx" ? "" : op.domain()] = op.version();
    if (model->functions_size() > 0)
      for (auto& f : model->functions()) functions_[f.domain() + "::" + f.name()] = &f;
    import_graph(model->graph());
    return std::move(g_);
  }

 private:
  std::string path_;
  Graph g_;
  std::map<std::string, std::shared_ptr<MappedFile>> external_;
  std::map<std::string, const onnx::FunctionProto*> functions_;
  int unknown_dims_ = 0;
  int function_depth_ = 0;  // nesting of inline_function (recursion guard); per import, restored on unwinding
  // Holder of the NodeProto being added when it is not part of the model message (an inlined function body's
  // rewritten copy): raw_data tensors of its attributes point into it, so it must outlive them.
  std::shared_ptr<const void> node_owner_;

  // "offset" / "length" of external data: a decimal integer (range checks against the file come later).
  static int64_t external_int(const std::string& key, const std::string& value, const std::string& tensor) {
    int64_t v = 0;
    const char* end = value.data() + value.size();
    auto [p, ec] = std::from_chars(value.data(), end, v);
    if (value.empty() || ec != std::errc() || p != end)
      throw Error("tensor '" + tensor + "' has external data " + key + " '" + value + "', which is not a byte count",
                  "the file is corrupt; re-export it (onnx.save(..., save_as_external_data=True))");
    return v;
  }

  ValueType value_type(const onnx::ValueInfoProto& vi) {
    ValueType t;
    if (!vi.type().has_tensor_type()) return t;
    const auto& tt = vi.type().tensor_type();
    t.dtype = static_cast<DType>(tt.elem_type());
    if (tt.has_shape()) {
      SymShape s;
      for (auto& d : tt.shape().dim()) {
        if (d.has_dim_value() && d.dim_value() < 0)
          throw Error("value '" + vi.name() + "' is declared with a negative dimension " + std::to_string(d.dim_value()), "the file is corrupt; re-export it");
        if (d.has_dim_value()) s.push_back(SymExpr(d.dim_value()));
        else if (d.has_dim_param() && !d.dim_param().empty()) s.push_back(SymExpr::symbol(d.dim_param()));
        else s.push_back(SymExpr::symbol("unk" + std::to_string(unknown_dims_++)));
      }
      t.shape = s;
    }
    return t;
  }

  const MappedFile& external_file(const std::string& location, const std::string& tensor) {
    auto it = external_.find(location);
    if (it != external_.end()) return *it->second;
    fs::path p = fs::path(path_).parent_path() / location;
    if (location.empty() || fs::path(location).is_absolute() || location.find("..") != std::string::npos)
      throw Error("tensor '" + tensor + "' names external data location '" + location + "', which is not a relative path inside the model's folder",
                  "re-save the model with onnx.save(..., save_as_external_data=True, location='model.onnx.data')");
    if (!fs::exists(p))
      throw Error("tensor '" + tensor + "' needs external data file '" + p.string() + "', which does not exist",
                  "keep the .onnx.data file next to the .onnx file it came with");
    auto f = MappedFile::open(p.string());
    g_.keepalive.push_back(f);
    return *(external_[location] = f);
  }

  Tensor tensor(const onnx::TensorProto& tp, const std::string& what) {
    Tensor t;
    t.dtype = static_cast<DType>(tp.data_type());
    const std::string name = tp.name().empty() ? what : tp.name();
    if (!dtype_is_known(tp.data_type()) || t.dtype == DType::kString)
      throw Error("tensor '" + name + "' has element type " + std::to_string(tp.data_type()) + ", which tsc does not support",
                  "export with float32, float16, bfloat16 or integer weights");
    for (auto d : tp.dims()) {
      if (d < 0) throw Error("tensor '" + name + "' has a negative dimension " + std::to_string(d), "the file is corrupt; re-export it");
      t.shape.push_back(d);
    }
    // Guard against absurd sizes before multiplying out (corrupt dims).
    __int128 n = 1;
    for (auto d : t.shape) { n *= d; if (n > (static_cast<__int128>(1) << 40)) throw Error("tensor '" + name + "' claims more than 2^40 elements", "the file is corrupt; re-export it"); }
    const size_t nbytes = t.nbytes();
    if (tp.data_location() == onnx::TensorProto::EXTERNAL) {
      std::string location;
      int64_t offset = 0, length = -1;
      for (auto& kv : tp.external_data()) {
        if (kv.key() == "location") location = kv.value();
        else if (kv.key() == "offset") offset = external_int("offset", kv.value(), name);
        else if (kv.key() == "length") length = external_int("length", kv.value(), name);
      }
      const auto& f = external_file(location, name);
      if (length < 0) length = static_cast<int64_t>(nbytes);
      if (static_cast<size_t>(length) != nbytes)
        throw Error("tensor '" + name + "' is " + tensor_type_str(t.dtype, t.shape) + " (" + std::to_string(nbytes) +
                    " bytes) but its external data length is " + std::to_string(length), "the file is corrupt; re-export it");
      if (offset < 0 || static_cast<size_t>(offset) > f.size() || nbytes > f.size() - static_cast<size_t>(offset))
        throw Error("tensor '" + name + "' needs bytes [" + std::to_string(offset) + ", " + std::to_string(offset + static_cast<int64_t>(nbytes)) +
                    ") of '" + f.path() + "', which has only " + std::to_string(f.size()) + " bytes",
                    "the external data file is truncated or belongs to another export; copy it again");
      t.data = f.data() + offset;
      t.owner = external_[location];
      t.origin = location + "@" + std::to_string(offset);
      return t;
    }
    if (tp.has_raw_data()) {
      if (tp.raw_data().size() != nbytes)
        throw Error("tensor '" + name + "' is " + tensor_type_str(t.dtype, t.shape) + " (" + std::to_string(nbytes) +
                    " bytes) but holds " + std::to_string(tp.raw_data().size()) + " bytes of raw data", "the file is corrupt; re-export it");
      t.data = tp.raw_data().data();
      t.owner = node_owner_ ? node_owner_ : g_.keepalive.front();
      t.origin = "inline";
      return t;
    }
    // Typed fields: converted into an owned buffer (small tensors in practice).
    Tensor o = Tensor::alloc(t.dtype, t.shape);
    o.origin = "inline";
    const int64_t count = o.numel();
    auto check = [&](int have) {
      if (have != count)
        throw Error("tensor '" + name + "' is " + tensor_type_str(t.dtype, t.shape) + " but holds " + std::to_string(have) + " values",
                    "the file is corrupt; re-export it");
    };
    auto* dst = static_cast<uint8_t*>(o.mutable_data());
    switch (t.dtype) {
      case DType::kF32: check(tp.float_data_size()); if (count) std::memcpy(dst, tp.float_data().data(), count * 4); break;
      case DType::kF64: check(tp.double_data_size()); if (count) std::memcpy(dst, tp.double_data().data(), count * 8); break;
      case DType::kI64: check(tp.int64_data_size()); if (count) std::memcpy(dst, tp.int64_data().data(), count * 8); break;
      case DType::kU32: case DType::kU64: {
        check(tp.uint64_data_size());
        for (int64_t i = 0; i < count; ++i) o.set_f64(i, static_cast<double>(tp.uint64_data(i)));
        break;
      }
      case DType::kF16: case DType::kBF16: case DType::kU16: case DType::kI16: {
        check(tp.int32_data_size());  // each int32 holds the 16 bits of one element
        for (int64_t i = 0; i < count; ++i) { uint16_t b = static_cast<uint16_t>(tp.int32_data(i)); std::memcpy(dst + 2 * i, &b, 2); }
        break;
      }
      case DType::kI32: check(tp.int32_data_size()); if (count) std::memcpy(dst, tp.int32_data().data(), count * 4); break;
      case DType::kI8: case DType::kU8: case DType::kBool: {
        check(tp.int32_data_size());
        for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<uint8_t>(tp.int32_data(i));
        break;
      }
      default: throw Error("tensor '" + name + "' has unsupported element type " + dtype_name(t.dtype), "export with float or integer weights");
    }
    return o;
  }

  Attribute attribute(const onnx::AttributeProto& a, const std::string& node) {
    Attribute r;
    using A = onnx::AttributeProto;
    switch (a.type()) {
      case A::INT: r.kind = Attribute::Kind::kInt; r.i = a.i(); break;
      case A::FLOAT: r.kind = Attribute::Kind::kFloat; r.f = a.f(); break;
      case A::STRING: r.kind = Attribute::Kind::kString; r.s = a.s(); break;
      case A::INTS: r.kind = Attribute::Kind::kInts; r.ints.assign(a.ints().begin(), a.ints().end()); break;
      case A::FLOATS: r.kind = Attribute::Kind::kFloats; r.floats.assign(a.floats().begin(), a.floats().end()); break;
      case A::STRINGS: r.kind = Attribute::Kind::kStrings; r.strings.assign(a.strings().begin(), a.strings().end()); break;
      case A::TENSOR: r.kind = Attribute::Kind::kTensor; r.tensor = std::make_shared<Tensor>(tensor(a.t(), node + "." + a.name())); break;
      case A::GRAPH: case A::GRAPHS: r.kind = Attribute::Kind::kGraph; break;
      default:
        // Older exporters leave type unset; infer from the populated field.
        if (a.has_i()) { r.kind = Attribute::Kind::kInt; r.i = a.i(); }
        else if (a.has_f()) { r.kind = Attribute::Kind::kFloat; r.f = a.f(); }
        else if (a.has_s()) { r.kind = Attribute::Kind::kString; r.s = a.s(); }
        else if (a.ints_size()) { r.kind = Attribute::Kind::kInts; r.ints.assign(a.ints().begin(), a.ints().end()); }
        else if (a.floats_size()) { r.kind = Attribute::Kind::kFloats; r.floats.assign(a.floats().begin(), a.floats().end()); }
        else if (a.has_t()) { r.kind = Attribute::Kind::kTensor; r.tensor = std::make_shared<Tensor>(tensor(a.t(), node + "." + a.name())); }
        else throw Error("attribute '" + a.name() + "' of node '" + node + "' has an unknown type", "the file is corrupt; re-export it");
    }
    return r;
  }

  // Constant nodes become constants; everything else becomes a Node.
  void add_node(const onnx::NodeProto& np) {
    const std::string domain = np.domain() == "ai.onnx" ? "" : np.domain();
    auto fn = functions_.find(np.domain() + "::" + np.op_type());
    if (fn != functions_.end()) {
      inline_function(np, *fn->second);
      return;
    }
    auto n = std::make_unique<Node>();
    n->name = np.name();
    n->op = np.op_type();
    n->domain = domain;
    n->inputs.assign(np.input().begin(), np.input().end());
    n->outputs.assign(np.output().begin(), np.output().end());
    const std::string label = np.name().empty() ? (np.output_size() ? np.output(0) : np.op_type()) : np.name();
    for (auto& a : np.attribute()) {
      if (!a.ref_attr_name().empty()) continue;  // resolved by inline_function
      n->attrs[a.name()] = attribute(a, label);
    }
    if (domain.empty() && n->op == "Constant" && n->outputs.size() == 1) {
      Tensor t;
      if (n->has_attr("value") && n->attrs["value"].tensor) t = *n->attrs["value"].tensor;
      else if (n->has_attr("value_float")) t = Tensor::from_f32({n->attrs["value_float"].f}, {});
      else if (n->has_attr("value_floats")) t = Tensor::from_f32(n->attrs["value_floats"].floats, {static_cast<int64_t>(n->attrs["value_floats"].floats.size())});
      else if (n->has_attr("value_int")) t = Tensor::scalar_i64(n->attrs["value_int"].i);
      else if (n->has_attr("value_ints")) t = Tensor::from_i64(n->attrs["value_ints"].ints, {static_cast<int64_t>(n->attrs["value_ints"].ints.size())});
      else throw Error(n->describe() + " has no value tsc understands (sparse or string constant)", "export with dense numeric constants");
      g_.constants[n->outputs[0]] = t;
      return;
    }
    auto opset = g_.opsets.find(domain);
    check_arity(*n, opset == g_.opsets.end() ? 1 : opset->second);
    g_.nodes.push_back(std::move(n));
  }

  // Model-local functions (some exporters emit them): substitute the body with renamed values and bound attributes.
  void inline_function(const onnx::NodeProto& call, const onnx::FunctionProto& f) {
    struct Depth {  // restored however the body's import ends (a rejected body throws)
      int& d;
      explicit Depth(int& d) : d(d) { ++d; }
      ~Depth() { --d; }
    } depth(function_depth_);
    if (function_depth_ > 32) throw Error("function '" + f.name() + "' is recursive or nested too deeply", "inline local functions with onnx.inliner before compiling");
    std::map<std::string, std::string> rename;
    for (int i = 0; i < f.input_size(); ++i) rename[f.input(i)] = i < call.input_size() ? call.input(i) : "";
    for (int i = 0; i < f.output_size(); ++i) rename[f.output(i)] = i < call.output_size() ? call.output(i) : "";
    std::map<std::string, const onnx::AttributeProto*> bound;
    for (auto& a : call.attribute()) bound[a.name()] = &a;
    const std::string prefix = (call.name().empty() ? f.name() : call.name()) + "/";
    auto map_name = [&](const std::string& v) {
      if (v.empty()) return v;
      auto it = rename.find(v);
      if (it != rename.end()) return it->second;
      return rename[v] = prefix + v;
    };
    for (const auto& body_node : f.node()) {
      // The rewritten copy is kept alive with the graph: tensors of its attributes (raw_data) point into it.
      auto np = std::make_shared<onnx::NodeProto>(body_node);
      g_.keepalive.push_back(np);
      for (int i = 0; i < np->input_size(); ++i) np->set_input(i, map_name(np->input(i)));
      for (int i = 0; i < np->output_size(); ++i) np->set_output(i, map_name(np->output(i)));
      // An unnamed body node is named after its first output (already renamed under the prefix) or its op.
      np->set_name(!body_node.name().empty() ? prefix + body_node.name()
                   : np->output_size() && !np->output(0).empty() ? np->output(0) : prefix + np->op_type());
      for (auto& a : *np->mutable_attribute())
        if (!a.ref_attr_name().empty()) {
          auto it = bound.find(a.ref_attr_name());
          if (it != bound.end()) { std::string nm = a.name(); a = *it->second; a.set_name(nm); }
        }
      auto saved = std::exchange(node_owner_, np);
      struct Restore {
        std::shared_ptr<const void>& slot;
        std::shared_ptr<const void> old;
        ~Restore() { slot = std::move(old); }
      } restore{node_owner_, std::move(saved)};
      add_node(*np);
    }
  }

  void import_graph(const onnx::GraphProto& gp) {
    g_.name = gp.name();
    for (auto& init : gp.initializer()) {
      g_.constants[init.name()] = tensor(init, init.name());
      g_.initializers.insert(init.name());
    }
    if (gp.sparse_initializer_size() > 0)
      throw Error("the graph has sparse initializers, which tsc does not support", "export with dense weights");
    for (auto& in : gp.input()) {
      g_.types[in.name()] = value_type(in);
      if (!g_.constants.count(in.name())) g_.inputs.push_back(in.name());
    }
    for (auto& out : gp.output()) {
      g_.types[out.name()] = value_type(out);
      g_.outputs.push_back(out.name());
    }
    // Intermediate value_info is only a hint of element types: shapes are inferred again (exporters
    // write dims there as free-form strings such as "s0 + 1").
    for (auto& vi : gp.value_info())
      if (!g_.types.count(vi.name()) && vi.type().has_tensor_type())
        g_.types[vi.name()].dtype = static_cast<DType>(vi.type().tensor_type().elem_type());
    for (auto& np : gp.node()) add_node(np);
  }
};

}  // namespace

Graph import_onnx(const std::string& path) { return Importer(path).run(); }

}  // namespace tsc
