// The JNI shim between dev.gguflens.llama.Native and llama.cpp. Deliberately thin: Java owns every
// result buffer (off-heap, passed in as addresses), validates inputs first, and builds the object model;
// this file only drives llama.cpp, copies tensors out of the eval callback and turns failures into
// dev.gguflens.llama.LlamaException (never an abort).
#include <jni.h>

// Written by `javac -h` from dev/gguflens/llama/Native.java at build time (scripts/build-native.sh): every
// GL_FN below must match its declaration there, so a Java/C signature mismatch fails the build.
#include "dev_gguflens_llama_Native.h"

#include "ggml-backend.h"
#include "ggml.h"
#include "llama.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

// llama.cpp's list of a model's weight tensors by name (src/llama-model.h of the pinned tree, exported from
// libllama; llama.h has no public lookup of a weight).
const std::vector<std::pair<std::string, ggml_tensor *>> & llama_internal_get_tensor_map(const llama_model * model);

namespace {

JavaVM * g_vm = nullptr;
jclass g_exception_class = nullptr;    // dev.gguflens.llama.LlamaException
jclass g_backend_class = nullptr;      // dev.gguflens.llama.LlamaBackend
jmethodID g_on_log = nullptr;          // LlamaBackend.onNativeLog(int, byte[])
jmethodID g_on_progress = nullptr;     // ProgressListener.onProgress(float)
std::atomic<bool> g_verbose{false};

// ---- logging: a ring buffer of complete lines, optionally forwarded to Java ----

struct LogLine {
    uint64_t seq;
    int level;
    std::string text;
};

std::mutex g_log_mutex;
std::deque<LogLine> g_log_ring;
std::string g_log_partial;             // llama.cpp emits lines in pieces (GGML_LOG_LEVEL_CONT)
int g_log_partial_level = GGML_LOG_LEVEL_INFO;
uint64_t g_log_seq = 0;
constexpr size_t kLogRingSize = 256;

JNIEnv * current_env() {
    if (g_vm == nullptr) return nullptr;
    JNIEnv * env = nullptr;
    if (g_vm->GetEnv(reinterpret_cast<void **>(&env), JNI_VERSION_1_8) == JNI_OK) return env;
    // A ggml worker thread: attach as daemon so it never keeps the JVM alive.
    if (g_vm->AttachCurrentThreadAsDaemon(reinterpret_cast<void **>(&env), nullptr) == JNI_OK) return env;
    return nullptr;
}

jbyteArray to_bytes(JNIEnv * env, const char * data, size_t len) {
    jbyteArray out = env->NewByteArray(static_cast<jsize>(len));
    if (out != nullptr && len > 0) env->SetByteArrayRegion(out, 0, static_cast<jsize>(len), reinterpret_cast<const jbyte *>(data));
    return out;
}

// The lines as a Java byte[][] (raw bytes: Java decodes them); null, with an exception pending, when allocation fails.
jobjectArray to_byte_arrays(JNIEnv * env, const std::vector<std::string> & lines) {
    jclass byte_array = env->FindClass("[B");
    jobjectArray out = env->NewObjectArray(static_cast<jsize>(lines.size()), byte_array, nullptr);
    if (out == nullptr) return nullptr;
    for (size_t i = 0; i < lines.size(); ++i) {
        jbyteArray b = to_bytes(env, lines[i].data(), lines[i].size());
        if (b == nullptr) return nullptr;
        env->SetObjectArrayElement(out, static_cast<jsize>(i), b);
        env->DeleteLocalRef(b);
    }
    return out;
}

void forward_to_java(int level, const std::string & line) {
    if (!g_verbose.load() || g_on_log == nullptr) return;
    JNIEnv * env = current_env();
    if (env == nullptr) return;
    // Logging may happen while an exception is pending (e.g. during cleanup); do not disturb it.
    if (env->ExceptionCheck()) return;
    jbyteArray bytes = to_bytes(env, line.data(), line.size());
    if (bytes == nullptr) { env->ExceptionClear(); return; }
    env->CallStaticVoidMethod(g_backend_class, g_on_log, static_cast<jint>(level), bytes);
    if (env->ExceptionCheck()) env->ExceptionClear();
    env->DeleteLocalRef(bytes);
}

void log_callback(enum ggml_log_level level, const char * text, void *) {
    if (text == nullptr) return;
    std::vector<std::pair<int, std::string>> complete;
    {
        std::lock_guard<std::mutex> lock(g_log_mutex);
        if (level != GGML_LOG_LEVEL_CONT && g_log_partial.empty()) g_log_partial_level = level;
        g_log_partial += text;
        size_t nl;
        while ((nl = g_log_partial.find('\n')) != std::string::npos) {
            std::string line = g_log_partial.substr(0, nl);
            g_log_partial.erase(0, nl + 1);
            if (line.empty()) continue;
            g_log_ring.push_back({++g_log_seq, g_log_partial_level, line});
            if (g_log_ring.size() > kLogRingSize) g_log_ring.pop_front();
            complete.emplace_back(g_log_partial_level, line);
        }
    }
    for (auto & [lvl, line] : complete) forward_to_java(lvl, line);
}

uint64_t log_mark() {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    return g_log_seq;
}

// Warning and error lines logged since `mark`, joined into one line for an exception message.
std::string problems_since(uint64_t mark) {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    std::string out;
    for (const auto & l : g_log_ring) {
        if (l.seq <= mark || (l.level != GGML_LOG_LEVEL_ERROR && l.level != GGML_LOG_LEVEL_WARN)) continue;
        if (!out.empty()) out += " | ";
        out += l.text;
    }
    if (out.size() > 2000) out = "..." + out.substr(out.size() - 2000);
    return out;
}

void throw_llama(JNIEnv * env, const std::string & what, uint64_t mark) {
    std::string msg = what;
    std::string detail = problems_since(mark);
    if (!detail.empty()) msg += " (llama.cpp: " + detail + ")";
    for (auto & c : msg) if (c == '\n' || c == '\r') c = ' ';
    if (env->ExceptionCheck()) return;  // keep the first failure
    env->ThrowNew(g_exception_class, msg.c_str());
}

std::string from_bytes(JNIEnv * env, jbyteArray bytes) {
    if (bytes == nullptr) return {};
    jsize n = env->GetArrayLength(bytes);
    std::string s(static_cast<size_t>(n), '\0');
    env->GetByteArrayRegion(bytes, 0, n, reinterpret_cast<jbyte *>(s.data()));
    return s;
}

// ---- per-context capture state, reached from the eval callback through cb_eval_user_data ----

struct ExtraCapture {
    std::string name;
    int64_t width = 0;                 // floats per position, learned from the first tensor seen
    std::vector<float> data;           // [positions][width]
};

struct CaptureState {
    // fixed for a context
    int n_layer = 0;
    int64_t n_embd = 0;
    // per capture() call
    bool active = false;
    int n_positions = 0;
    float * layers = nullptr;          // [(n_layer + 1)][n_positions][n_embd] or null
    float * result_norm = nullptr;     // [n_positions][n_embd] or null
    std::vector<ExtraCapture> extras;
    // per ubatch (one llama_decode call)
    int pos_offset = 0;
    int n_tokens = 0;
    bool block0_started = false;       // a node of block 0 has been seen: layer 0 is final
    bool layer0_found = false;
    std::vector<bool> layer_seen;      // blocks 0..n_layer-1 whose l_out arrived this ubatch
    bool norm_seen = false;
    bool flash_attn_seen = false;      // the graph had a FLASH_ATTN_EXT node (what "auto" resolved to)
    std::string error;                 // first problem; the callback then stops the graph
};

// ---- interventions: the eval callback overwrites rows of named tensors after they are computed ----
// The scheduler computes the graph up to a node the callback asked for, then calls it with ask=false
// before computing any later node (ggml_backend_sched_compute_splits), so a row written there with
// ggml_backend_tensor_set (host or device buffer) is what every consumer of the tensor reads.

// The pseudo-name of the residual stream entering block 0 (whatever tensor computes it; see capture).
constexpr const char * kResidualInput = "@residual_input";

struct Intervention {
    std::string name;                  // graph tensor name, or kResidualInput
    bool add = false;                  // add the values instead of replacing
    std::vector<int32_t> rows;         // rows of the call's token list
    std::vector<int32_t> columns;      // empty: the whole row
    const float * values = nullptr;    // [1 or rows.size()][width], Java-owned
    int64_t width = 0;                 // floats per value row (the row width, or columns.size())
    bool broadcast = false;            // one value row for every row
    bool seen = false;                 // the tensor was evaluated during the call
};

struct InterventionState {
    std::vector<Intervention> list;
    // per ubatch
    int row_offset = 0;                // call row of the ubatch's first token
    int n_tokens = 0;
    std::vector<int32_t> output_row;   // per ubatch token: its row among the outputs, or -1
    int n_outputs = 0;
    bool block0_started = false;
    std::string error;

    void begin_ubatch(int offset, int count, const int8_t * outputs) {
        row_offset = offset;
        n_tokens = count;
        output_row.assign(static_cast<size_t>(count), -1);
        n_outputs = 0;
        for (int i = 0; i < count; ++i) if (outputs == nullptr || outputs[i]) output_row[i] = n_outputs++;
        block0_started = false;
    }
};

// ggml-cpu's thread pool functions, reached through the CPU backend's registry (the backend is a loaded module).
using ThreadpoolNew = ggml_threadpool_t (*)(ggml_threadpool_params *);
using ThreadpoolFree = void (*)(ggml_threadpool_t);

struct ContextHandle {
    llama_context * ctx = nullptr;
    const llama_model * model = nullptr;
    ggml_threadpool_t threadpool = nullptr;
    ThreadpoolFree threadpool_free = nullptr;
    int n_batch = 0;
    CaptureState state;
    InterventionState interventions;
};

// "l_out-12" -> 12 with base "l_out"; -1 when the name has no layer suffix.
int layer_suffix(const char * name, std::string * base) {
    const char * dash = std::strrchr(name, '-');
    if (dash == nullptr || dash[1] == '\0') return -1;
    int value = 0;
    for (const char * p = dash + 1; *p; ++p) {
        if (*p < '0' || *p > '9') return -1;
        value = value * 10 + (*p - '0');
        if (value > 1000000) return -1;
    }
    if (base != nullptr) base->assign(name, dash - name);
    return value;
}

// A [width, n_tokens] F32 activation whose rows are contiguous (possibly a strided view).
bool is_token_matrix(const ggml_tensor * t, int n_tokens) {
    return t->type == GGML_TYPE_F32 && t->ne[1] == n_tokens && t->ne[2] == 1 && t->ne[3] == 1 &&
           t->nb[0] == sizeof(float);
}

// Copies rows of `t` into dst[(pos_offset + row) * width]; works for host and device buffers.
void copy_rows(const ggml_tensor * t, float * dst, int64_t width, int pos_offset) {
    const size_t row_bytes = static_cast<size_t>(width) * sizeof(float);
    if (t->nb[1] == row_bytes) {
        ggml_backend_tensor_get(t, dst + static_cast<int64_t>(pos_offset) * width, 0, row_bytes * t->ne[1]);
        return;
    }
    for (int64_t row = 0; row < t->ne[1]; ++row) {
        ggml_backend_tensor_get(t, dst + (pos_offset + row) * width, row * t->nb[1], row_bytes);
    }
}

// ---- interventions (continued): applying them in the eval callback ----

// A candidate for the residual input: the same rule capture uses for layer 0.
bool residual_input_candidate(const ggml_tensor * t, const char * name, int il, int64_t n_embd, int n_tokens,
                              bool block0_started) {
    return il < 0 && !block0_started && is_token_matrix(t, n_tokens) && t->ne[0] == n_embd &&
           std::strcmp(name, "inp_embd") != 0;
}

bool intervention_matches(const Intervention & iv, const char * name, bool residual_candidate) {
    return iv.name == kResidualInput ? residual_candidate : iv.name == name;
}

// ask: whether any intervention targets t. Also tracks where block 0 starts.
bool interventions_want(InterventionState & st, const ggml_tensor * t, const char * name, int il, int64_t n_embd) {
    if (st.list.empty()) return false;
    if (il == 0 && t->ne[1] == st.n_tokens) st.block0_started = true;
    const bool candidate = residual_input_candidate(t, name, il, n_embd, st.n_tokens, st.block0_started);
    for (const auto & iv : st.list) if (intervention_matches(iv, name, candidate)) return true;
    return false;
}

// ask=false: writes every intervention on t for the rows of this ubatch. False (with st.error) on a mismatch.
bool interventions_apply(InterventionState & st, ggml_tensor * t, const char * name, int il, int64_t n_embd) {
    const bool candidate = residual_input_candidate(t, name, il, n_embd, st.n_tokens, st.block0_started);
    std::vector<float> row_buf;
    for (auto & iv : st.list) {
        if (!intervention_matches(iv, name, candidate)) continue;
        iv.seen = true;
        const bool token_rows = t->ne[1] == st.n_tokens;
        if (t->type != GGML_TYPE_F32 || t->ne[2] != 1 || t->ne[3] != 1 || t->nb[0] != sizeof(float) ||
            (!token_rows && t->ne[1] != st.n_outputs)) {
            char buf[256];
            std::snprintf(buf, sizeof buf, "cannot intervene on tensor %s: it is %s [%lld, %lld, %lld, %lld], expected F32 "
                          "[width, %d tokens or %d outputs] with contiguous rows", name, ggml_type_name(t->type),
                          (long long) t->ne[0], (long long) t->ne[1], (long long) t->ne[2], (long long) t->ne[3],
                          st.n_tokens, st.n_outputs);
            st.error = buf;
            return false;
        }
        const int64_t width = t->ne[0];
        if (iv.columns.empty() ? iv.width != width : iv.width != static_cast<int64_t>(iv.columns.size())) {
            st.error = "intervention on " + std::string(name) + " gives rows of " + std::to_string(iv.width) +
                       " floats; the tensor's rows have " + std::to_string(width);
            return false;
        }
        for (int32_t c : iv.columns) {
            if (c < 0 || c >= width) {
                st.error = "intervention column " + std::to_string(c) + " is outside tensor " + name + " of width " +
                           std::to_string(width);
                return false;
            }
        }
        const size_t row_bytes = static_cast<size_t>(width) * sizeof(float);
        for (size_t k = 0; k < iv.rows.size(); ++k) {
            const int local = iv.rows[k] - st.row_offset;
            if (local < 0 || local >= st.n_tokens) continue;                  // another ubatch's row
            const int row = token_rows ? local : st.output_row[static_cast<size_t>(local)];
            if (row < 0) continue;  // after the last block's row selection only output rows remain
            const float * v = iv.values + (iv.broadcast ? 0 : static_cast<int64_t>(k) * iv.width);
            const size_t offset = static_cast<size_t>(row) * t->nb[1];
            if (iv.columns.empty() && !iv.add) {
                ggml_backend_tensor_set(t, v, offset, row_bytes);
                continue;
            }
            row_buf.resize(static_cast<size_t>(width));
            ggml_backend_tensor_get(t, row_buf.data(), offset, row_bytes);
            for (int64_t j = 0; j < iv.width; ++j) {
                const size_t col = iv.columns.empty() ? static_cast<size_t>(j) : static_cast<size_t>(iv.columns[j]);
                row_buf[col] = iv.add ? row_buf[col] + v[j] : v[j];
            }
            ggml_backend_tensor_set(t, row_buf.data(), offset, row_bytes);
        }
    }
    return true;
}

// The first intervention whose tensor never appeared in the graph, as an error message; empty when all did.
std::string interventions_unseen(const InterventionState & st) {
    for (const auto & iv : st.list) {
        if (!iv.seen) {
            return iv.name == kResidualInput ? std::string("no residual input before block 0 was evaluated")
                                             : "tensor " + iv.name + " was never evaluated (no such tensor in this model's graph)";
        }
    }
    return {};
}

bool eval_callback(ggml_tensor * t, bool ask, void * user_data) {
    auto * handle = static_cast<ContextHandle *>(user_data);
    CaptureState & s = handle->state;
    InterventionState & iv = handle->interventions;
    if (!s.active && iv.list.empty()) return !ask;  // want nothing, never stop the graph
    if (!s.error.empty() || !iv.error.empty()) return false;  // a problem was recorded: stop computing
    if (ask && s.active && t->op == GGML_OP_FLASH_ATTN_EXT) s.flash_attn_seen = true;
    const char * name = ggml_get_name(t);
    if (name == nullptr || name[0] == '\0') return ask ? false : true;

    std::string base;
    const int il = layer_suffix(name, &base);
    // Interventions first, so a capture of the same tensor records what its consumers read.
    const bool intervene = interventions_want(iv, t, name, il, s.n_embd);
    if (!ask && intervene && !interventions_apply(iv, t, name, il, s.n_embd)) return false;
    if (!s.active) return ask ? intervene : true;
    const bool has_token_rows = t->ne[1] == s.n_tokens;

    // Layer 0 is the residual stream entering block 0: the last unsuffixed [n_embd, n_tokens]
    // activation computed before block 0 starts. That is "embd" for most architectures, and the
    // scaled version (gemma's "inp_scaled", granite's scale) where the architecture rescales it.
    if (il == 0 && has_token_rows && ask) s.block0_started = true;
    const bool layer0_candidate = s.layers != nullptr && il < 0 && !s.block0_started &&
                                  is_token_matrix(t, s.n_tokens) && t->ne[0] == s.n_embd &&
                                  std::strcmp(name, "inp_embd") != 0;  // the unused raw-vector input
    const bool is_layer = s.layers != nullptr && il >= 0 && il < s.n_layer && base == "l_out";
    const bool is_norm = s.result_norm != nullptr && il < 0 && std::strcmp(name, "result_norm") == 0;
    ExtraCapture * extra = nullptr;
    for (auto & e : s.extras) if (e.name == name) { extra = &e; break; }

    if (ask) return intervene || layer0_candidate || is_layer || is_norm || extra != nullptr;
    if (!layer0_candidate && !is_layer && !is_norm && extra == nullptr) return true;  // only intervened on

    auto fail = [&](const std::string & why) {
        if (s.error.empty()) s.error = why;
        return false;  // stops the graph computation; llama_decode then reports failure
    };
    if (!is_token_matrix(t, s.n_tokens)) {
        char buf[256];
        std::snprintf(buf, sizeof buf, "tensor %s is %s [%lld, %lld, %lld, %lld], expected F32 [width, %d] with contiguous rows",
                      name, ggml_type_name(t->type), (long long) t->ne[0], (long long) t->ne[1],
                      (long long) t->ne[2], (long long) t->ne[3], s.n_tokens);
        return fail(buf);
    }
    if ((layer0_candidate || is_layer || is_norm) && t->ne[0] != s.n_embd) {
        return fail(std::string("tensor ") + name + " has width " + std::to_string(t->ne[0]) +
                    ", expected n_embd " + std::to_string(s.n_embd));
    }
    const int64_t plane = static_cast<int64_t>(s.n_positions) * s.n_embd;
    if (layer0_candidate) {
        copy_rows(t, s.layers, s.n_embd, s.pos_offset);
        s.layer0_found = true;
    }
    if (is_layer) {
        copy_rows(t, s.layers + (il + 1) * plane, s.n_embd, s.pos_offset);
        s.layer_seen[il] = true;
    }
    if (is_norm) {
        copy_rows(t, s.result_norm, s.n_embd, s.pos_offset);
        s.norm_seen = true;
    }
    if (extra != nullptr) {
        if (extra->width == 0) {
            extra->width = t->ne[0];
            extra->data.assign(static_cast<size_t>(extra->width) * s.n_positions, 0.0f);
        } else if (extra->width != t->ne[0]) {
            return fail(std::string("tensor ") + name + " changed width between batches");
        }
        copy_rows(t, extra->data.data(), extra->width, s.pos_offset);
    }
    return true;
}

// ---- model loading ----

struct ProgressBridge {
    JNIEnv * env;
    jobject listener;
    bool cancelled = false;
};

bool progress_callback(float progress, void * user_data) {
    auto * bridge = static_cast<ProgressBridge *>(user_data);
    if (bridge->listener == nullptr) return true;
    JNIEnv * env = bridge->env;
    if (env->ExceptionCheck()) return false;
    jboolean keep_going = env->CallBooleanMethod(bridge->listener, g_on_progress, static_cast<jfloat>(progress));
    if (env->ExceptionCheck() || !keep_going) {
        bridge->cancelled = true;
        return false;
    }
    return true;
}

llama_model * model_of(jlong h) { return reinterpret_cast<llama_model *>(h); }
ContextHandle * context_of(jlong h) { return reinterpret_cast<ContextHandle *>(h); }

}  // namespace

// Defines the JNI entry point declared by the generated header for Native.name.
#define GL_FN(ret, name) extern "C" JNIEXPORT ret JNICALL Java_dev_gguflens_llama_Native_##name

// Every entry point converts C++ exceptions (std::bad_alloc, llama.cpp's std::runtime_error) into a Java one.
#define GL_TRY try {
#define GL_CATCH(env, mark, fallback)                                                         \
    } catch (const std::exception & e) {                                                      \
        throw_llama(env, std::string("llama.cpp failed: ") + e.what(), mark);                 \
        return fallback;                                                                       \
    } catch (...) {                                                                            \
        throw_llama(env, "llama.cpp failed with an unknown C++ exception", mark);              \
        return fallback;                                                                       \
    }

extern "C" JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM * vm, void *) {
    g_vm = vm;
    return JNI_VERSION_1_8;
}

namespace {

std::mutex g_rpc_mutex;
std::string g_rpc_endpoints;           // the rpc-servers added, "a:1, b:2", for the abort line

// ggml's RPC client aborts the process when a server stops answering mid-run (RPC_STATUS_ASSERT and GGML_ABORT in
// ggml-rpc.cpp: nothing returns an error to the caller). Such an abort ends the run with one gguf-lens line and
// exit status 1 (the CLI's runtime-failure code) instead of a JVM crash with a backtrace. Any other abort stays
// an abort, with ggml's message, so crash tests still see it.
void on_ggml_abort(const char * message) {
    std::string text = message == nullptr ? "" : message;
    if (text.find("ggml-rpc") == std::string::npos) {
        std::fprintf(stderr, "%s\n", text.c_str());
        return;                        // ggml calls abort() next
    }
    const size_t slash = text.find_last_of('/', text.find(": "));
    if (slash != std::string::npos) text = text.substr(slash + 1);   // "ggml-rpc.cpp:566: ..." without the build path
    for (char & c : text) if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    std::string servers;
    {
        std::lock_guard<std::mutex> lock(g_rpc_mutex);
        servers = g_rpc_endpoints;
    }
    const std::string line = "gguf-lens: the connection to rpc-server " + servers + " failed mid-run (server stopped, "
                             "killed or unreachable); llama.cpp's RPC client cannot recover, so the run stops (" + text + ")\n";
    ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
    (void) ignored;
    _exit(1);
}

}  // namespace

GL_FN(void, init)(JNIEnv * env, jclass) {
    auto global = [&](const char * cls) {
        jclass local = env->FindClass(cls);
        if (local == nullptr) return static_cast<jclass>(nullptr);
        auto g = static_cast<jclass>(env->NewGlobalRef(local));
        env->DeleteLocalRef(local);
        return g;
    };
    g_exception_class = global("dev/gguflens/llama/LlamaException");
    g_backend_class = global("dev/gguflens/llama/LlamaBackend");
    jclass progress = env->FindClass("dev/gguflens/llama/ProgressListener");
    if (g_exception_class == nullptr || g_backend_class == nullptr || progress == nullptr) return;
    g_on_log = env->GetStaticMethodID(g_backend_class, "onNativeLog", "(I[B)V");
    g_on_progress = env->GetMethodID(progress, "onProgress", "(F)Z");
    if (g_on_log == nullptr || g_on_progress == nullptr) return;
    llama_log_set(log_callback, nullptr);
    ggml_set_abort_callback(on_ggml_abort);
    llama_backend_init();
}

GL_FN(void, setVerbose)(JNIEnv *, jclass, jboolean verbose) { g_verbose.store(verbose); }

GL_FN(jobjectArray, recentLog)(JNIEnv * env, jclass) {
    std::vector<std::string> lines;
    {
        std::lock_guard<std::mutex> lock(g_log_mutex);
        for (const auto & l : g_log_ring) lines.push_back(l.text);
    }
    return to_byte_arrays(env, lines);
}

// devices: indices into ggml's device list (LlamaBackend.devices()) that may hold layers, in order; null =
// llama.cpp's own choice. Java chooses, so the report names exactly the devices llama.cpp was given.
// repack: llama.cpp's extra CPU buffer types (use_extra_bufts), which keep a repacked copy of Q4_0/Q4_K/IQ4_NL/...
// weights in anonymous memory beside the mapped file (ModelParams says when that is worth it).
GL_FN(jlong, modelLoad)(JNIEnv * env, jclass, jbyteArray path, jint gpu_layers, jboolean mmap, jboolean repack,
                        jboolean vocab_only, jobject listener, jintArray devices, jint main_gpu, jint split_mode) {
    const uint64_t mark = log_mark();
    GL_TRY
    std::string file = from_bytes(env, path);
    llama_model_params params = llama_model_default_params();
    params.n_gpu_layers = gpu_layers;
    params.main_gpu = main_gpu;        // checked against the devices in Java (GpuPlacement)
    params.split_mode = static_cast<llama_split_mode>(split_mode);
    std::vector<ggml_backend_dev_t> device_list;
    if (devices != nullptr) {
        const jsize n = env->GetArrayLength(devices);
        std::vector<jint> indices(static_cast<size_t>(n));
        env->GetIntArrayRegion(devices, 0, n, indices.data());
        for (jint i : indices) {
            if (i < 0 || static_cast<size_t>(i) >= ggml_backend_dev_count()) {
                throw_llama(env, "no backend device " + std::to_string(i), mark);
                return 0;
            }
            device_list.push_back(ggml_backend_dev_get(static_cast<size_t>(i)));
        }
        device_list.push_back(nullptr);  // llama.cpp reads up to the terminator
        params.devices = device_list.data();
    }
    params.load_mode = mmap ? LLAMA_LOAD_MODE_MMAP : LLAMA_LOAD_MODE_NONE;
    params.use_extra_bufts = repack;
    params.vocab_only = vocab_only;
    ProgressBridge bridge{env, listener};
    params.progress_callback = progress_callback;
    params.progress_callback_user_data = &bridge;
    llama_model * model = llama_model_load_from_file(file.c_str(), params);
    if (env->ExceptionCheck()) {           // the listener threw: let its exception through
        if (model != nullptr) llama_model_free(model);
        return 0;
    }
    if (model == nullptr) {
        throw_llama(env, bridge.cancelled ? file + ": loading cancelled by the progress listener"
                                          : file + ": llama.cpp could not load the model", mark);
        return 0;
    }
    return reinterpret_cast<jlong>(model);
    GL_CATCH(env, mark, 0)
}

GL_FN(void, modelFree)(JNIEnv *, jclass, jlong model) { llama_model_free(model_of(model)); }

// {address, bytes, ggml type} of a model tensor whose data lies in host memory in ggml's own layout (the CPU
// backend's buffer over llama.cpp's file mapping, or a plain CPU buffer), else null: the tensor is absent, on
// a GPU or RPC device, or repacked (CPU_REPACK buffers are not host buffers). The lens reads the output weight
// there instead of through a second mapping of the file, whose pages would count twice in the resident set.
GL_FN(jlongArray, modelTensorHost)(JNIEnv * env, jclass, jlong h, jbyteArray name_bytes) {
    const uint64_t mark = log_mark();
    GL_TRY
    const std::string name = from_bytes(env, name_bytes);
    for (const auto & [tensor_name, t] : llama_internal_get_tensor_map(model_of(h))) {
        if (tensor_name != name) continue;
        if (t == nullptr || t->data == nullptr || t->buffer == nullptr || !ggml_backend_buffer_is_host(t->buffer)) {
            return nullptr;
        }
        jlong info[3] = {static_cast<jlong>(reinterpret_cast<intptr_t>(t->data)), static_cast<jlong>(ggml_nbytes(t)),
                         static_cast<jlong>(t->type)};
        jlongArray out = env->NewLongArray(3);
        if (out != nullptr) env->SetLongArrayRegion(out, 0, 3, info);
        return out;
    }
    return nullptr;
    GL_CATCH(env, mark, nullptr)
}

// {n_layer, n_embd, n_vocab, n_ctx_train, bos, eos}
GL_FN(jintArray, modelInfo)(JNIEnv * env, jclass, jlong h) {
    const llama_model * m = model_of(h);
    const llama_vocab * v = llama_model_get_vocab(m);
    jint info[6] = {llama_model_n_layer(m), llama_model_n_embd(m), llama_vocab_n_tokens(v),
                    llama_model_n_ctx_train(m), llama_vocab_bos(v), llama_vocab_eos(v)};
    jintArray out = env->NewIntArray(6);
    if (out != nullptr) env->SetIntArrayRegion(out, 0, 6, info);
    return out;
}

GL_FN(jbyteArray, modelMeta)(JNIEnv * env, jclass, jlong h, jbyteArray key) {
    std::string k = from_bytes(env, key);
    int32_t n = llama_model_meta_val_str(model_of(h), k.c_str(), nullptr, 0);
    if (n < 0) return nullptr;
    std::vector<char> buf(static_cast<size_t>(n) + 1);
    llama_model_meta_val_str(model_of(h), k.c_str(), buf.data(), buf.size());
    return to_bytes(env, buf.data(), static_cast<size_t>(n));
}

GL_FN(jbyteArray, chatTemplate)(JNIEnv * env, jclass, jlong h) {
    const char * tmpl = llama_model_chat_template(model_of(h), nullptr);
    if (tmpl == nullptr) return nullptr;
    return to_bytes(env, tmpl, std::strlen(tmpl));
}

GL_FN(jintArray, tokenize)(JNIEnv * env, jclass, jlong h, jbyteArray text, jboolean add_special, jboolean parse_special) {
    const uint64_t mark = log_mark();
    GL_TRY
    const llama_vocab * vocab = llama_model_get_vocab(model_of(h));
    std::string s = from_bytes(env, text);
    std::vector<llama_token> tokens(s.size() + 16);
    int32_t n = llama_tokenize(vocab, s.data(), static_cast<int32_t>(s.size()), tokens.data(),
                               static_cast<int32_t>(tokens.size()), add_special, parse_special);
    if (n < 0) {  // the buffer was too small: -n is the count needed
        tokens.resize(static_cast<size_t>(-n));
        n = llama_tokenize(vocab, s.data(), static_cast<int32_t>(s.size()), tokens.data(),
                           static_cast<int32_t>(tokens.size()), add_special, parse_special);
    }
    if (n < 0) {
        throw_llama(env, "tokenization failed (result " + std::to_string(n) + ")", mark);
        return nullptr;
    }
    jintArray out = env->NewIntArray(n);
    if (out != nullptr) env->SetIntArrayRegion(out, 0, n, reinterpret_cast<const jint *>(tokens.data()));
    return out;
    GL_CATCH(env, mark, nullptr)
}

GL_FN(jbyteArray, tokenPiece)(JNIEnv * env, jclass, jlong h, jint token) {
    const llama_vocab * vocab = llama_model_get_vocab(model_of(h));
    std::vector<char> buf(64);
    int32_t n = llama_token_to_piece(vocab, token, buf.data(), static_cast<int32_t>(buf.size()), 0, true);
    if (n < 0) {
        buf.resize(static_cast<size_t>(-n));
        n = llama_token_to_piece(vocab, token, buf.data(), static_cast<int32_t>(buf.size()), 0, true);
    }
    if (n < 0) {
        throw_llama(env, "token_to_piece failed for token " + std::to_string(token), log_mark());
        return nullptr;
    }
    return to_bytes(env, buf.data(), static_cast<size_t>(n));
}

GL_FN(jbyteArray, tokenText)(JNIEnv * env, jclass, jlong h, jint token) {
    const char * text = llama_vocab_get_text(llama_model_get_vocab(model_of(h)), token);
    return text == nullptr ? nullptr : to_bytes(env, text, std::strlen(text));
}

// Without a pool of its own, ggml-cpu starts and joins its worker threads for every graph computation, and
// the scheduler computes a graph in several parts when the eval callback asks for tensors (captures stop after
// every l_out-i; interventions at every written tensor). Under load each start/join costs milliseconds: a
// 64-token stories260K decode with 6 such stops took 2.7x as long as without at 2 threads. A pool that lives
// with the context (as llama-cli, llama-server and llama-bench attach one) keeps its threads between parts.
void attach_threadpool(ContextHandle * handle) {
    const int n_threads = llama_n_threads_batch(handle->ctx);
    if (n_threads < 2) return;  // one thread computes on the caller's: nothing to keep
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    ggml_backend_reg_t reg = cpu == nullptr ? nullptr : ggml_backend_dev_backend_reg(cpu);
    if (reg == nullptr) return;
    auto create = reinterpret_cast<ThreadpoolNew>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_new"));
    auto release = reinterpret_cast<ThreadpoolFree>(ggml_backend_reg_get_proc_address(reg, "ggml_threadpool_free"));
    if (create == nullptr || release == nullptr) return;  // ggml computes as before, with a pool per graph
    ggml_threadpool_params params = ggml_threadpool_params_default(n_threads);
    ggml_threadpool_t pool = create(&params);
    if (pool == nullptr) return;
    llama_attach_threadpool(handle->ctx, pool, pool);
    handle->threadpool = pool;
    handle->threadpool_free = release;
}

// sequences: parallel sequences the KV cache holds (causal tracing); above 1 the cache is unified, so a
// sequence copy shares cells instead of copying them. kv_type: the ggml_type of the K and V cache;
// flash_attn: a llama_flash_attn_type (-1 auto, 0 off, 1 on).
GL_FN(jlong, contextCreate)(JNIEnv * env, jclass, jlong h, jint n_ctx, jint n_batch, jint threads, jint sequences,
                            jint kv_type, jint flash_attn) {
    const uint64_t mark = log_mark();
    GL_TRY
    auto * handle = new ContextHandle();
    handle->model = model_of(h);
    handle->state.n_layer = llama_model_n_layer(handle->model);
    handle->state.n_embd = llama_model_n_embd(handle->model);
    llama_context_params params = llama_context_default_params();
    params.n_ctx = static_cast<uint32_t>(n_ctx);
    // One ubatch per llama_decode call, so the callback knows which positions it is looking at.
    params.n_batch = static_cast<uint32_t>(n_batch);
    params.n_ubatch = static_cast<uint32_t>(n_batch);
    params.n_seq_max = static_cast<uint32_t>(sequences);
    params.kv_unified = sequences > 1;
    params.type_k = static_cast<ggml_type>(kv_type);
    params.type_v = static_cast<ggml_type>(kv_type);
    params.flash_attn_type = static_cast<llama_flash_attn_type>(flash_attn);
    if (threads > 0) {
        params.n_threads = threads;
        params.n_threads_batch = threads;
    }
    params.cb_eval = eval_callback;
    params.cb_eval_user_data = handle;
    params.no_perf = true;
    handle->ctx = llama_init_from_model(model_of(h), params);
    if (handle->ctx == nullptr) {
        delete handle;
        throw_llama(env, "llama.cpp could not create a context (n_ctx " + std::to_string(n_ctx) + ", n_batch " +
                             std::to_string(n_batch) + ")", mark);
        return 0;
    }
    handle->n_batch = static_cast<int>(llama_n_batch(handle->ctx));
    attach_threadpool(handle);
    return reinterpret_cast<jlong>(handle);
    GL_CATCH(env, mark, 0)
}

GL_FN(void, contextFree)(JNIEnv *, jclass, jlong h) {
    ContextHandle * handle = context_of(h);
    if (handle == nullptr) return;
    llama_free(handle->ctx);
    if (handle->threadpool != nullptr) handle->threadpool_free(handle->threadpool);
    delete handle;
}

// {n_ctx_seq, n_batch, flash attention in the last capture's graph (0/1)}
GL_FN(jintArray, contextInfo)(JNIEnv * env, jclass, jlong h) {
    ContextHandle * handle = context_of(h);
    jint info[3] = {static_cast<jint>(llama_n_ctx_seq(handle->ctx)), handle->n_batch,
                    handle->state.flash_attn_seen ? 1 : 0};
    jintArray out = env->NewIntArray(3);
    if (out != nullptr) env->SetIntArrayRegion(out, 0, 3, info);
    return out;
}

// Runs the whole prompt (in n_batch chunks) from an empty KV cache, filling the Java-owned buffers:
// layers [(n_layer+1)][n][n_embd], norm [n][n_embd], logits [n][n_vocab] (each may be 0 = not wanted).
GL_FN(void, capture)(JNIEnv * env, jclass, jlong h, jintArray tokens_array, jlong layers_addr, jlong norm_addr,
                     jlong logits_addr, jobjectArray extra_names) {
    const uint64_t mark = log_mark();
    ContextHandle * handle = context_of(h);
    CaptureState & s = handle->state;
    GL_TRY
    const jsize n = env->GetArrayLength(tokens_array);
    std::vector<llama_token> tokens(static_cast<size_t>(n));
    env->GetIntArrayRegion(tokens_array, 0, n, reinterpret_cast<jint *>(tokens.data()));

    s.active = true;
    s.n_positions = n;
    s.layers = reinterpret_cast<float *>(layers_addr);
    s.result_norm = reinterpret_cast<float *>(norm_addr);
    s.flash_attn_seen = false;
    s.extras.clear();
    const jsize n_extra = extra_names == nullptr ? 0 : env->GetArrayLength(extra_names);
    for (jsize i = 0; i < n_extra; ++i) {
        auto b = static_cast<jbyteArray>(env->GetObjectArrayElement(extra_names, i));
        s.extras.push_back({from_bytes(env, b), 0, {}});
        env->DeleteLocalRef(b);
    }
    float * logits_out = reinterpret_cast<float *>(logits_addr);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(handle->model));

    llama_memory_clear(llama_get_memory(handle->ctx), true);
    llama_batch batch = llama_batch_init(handle->n_batch, 0, 1);
    std::string failure;
    for (int start = 0; start < n && failure.empty(); start += handle->n_batch) {
        const int count = std::min(handle->n_batch, n - start);
        batch.n_tokens = count;
        for (int i = 0; i < count; ++i) {
            batch.token[i] = tokens[start + i];
            batch.pos[i] = start + i;
            batch.n_seq_id[i] = 1;
            batch.seq_id[i][0] = 0;
            batch.logits[i] = 1;  // every position is an output, so the last block keeps all rows
        }
        s.pos_offset = start;
        s.n_tokens = count;
        s.block0_started = false;
        s.layer0_found = false;
        s.layer_seen.assign(static_cast<size_t>(s.n_layer), false);
        s.norm_seen = false;
        s.error.clear();
        handle->interventions.begin_ubatch(start, count, nullptr);
        const int32_t rc = llama_decode(handle->ctx, batch);
        if (s.error.empty()) s.error = handle->interventions.error;
        if (!s.error.empty()) {
            failure = "capture failed at positions " + std::to_string(start) + ".." + std::to_string(start + count - 1) +
                      ": " + s.error;
            break;
        }
        if (rc != 0) {
            failure = "llama_decode failed with code " + std::to_string(rc) + " at positions " + std::to_string(start) +
                      ".." + std::to_string(start + count - 1);
            break;
        }
        // Every requested tensor must have been seen for this chunk, or the buffers hold garbage.
        if (s.layers != nullptr) {
            if (!s.layer0_found) failure = "no embedding output (layer 0) was evaluated before block 0";
            for (int il = 0; il < s.n_layer && failure.empty(); ++il) {
                if (!s.layer_seen[il]) failure = "tensor l_out-" + std::to_string(il) + " was never evaluated";
            }
        }
        if (failure.empty() && s.result_norm != nullptr && !s.norm_seen) failure = "tensor result_norm was never evaluated";
        if (failure.empty() && logits_out != nullptr) {
            for (int i = 0; i < count; ++i) {
                const float * row = llama_get_logits_ith(handle->ctx, i);
                if (row == nullptr) { failure = "no logits for position " + std::to_string(start + i); break; }
                std::memcpy(logits_out + static_cast<int64_t>(start + i) * n_vocab, row, sizeof(float) * n_vocab);
            }
        }
    }
    llama_batch_free(batch);
    if (failure.empty()) failure = interventions_unseen(handle->interventions);
    s.active = false;
    s.layers = nullptr;
    s.result_norm = nullptr;
    if (!failure.empty()) throw_llama(env, failure, mark);
    GL_CATCH(env, mark, )
}

GL_FN(jlong, extraWidth)(JNIEnv *, jclass, jlong h, jint index) {
    CaptureState & s = context_of(h)->state;
    return index < 0 || index >= static_cast<jint>(s.extras.size()) ? 0 : s.extras[index].width;
}

GL_FN(void, extraCopy)(JNIEnv *, jclass, jlong h, jint index, jlong address) {
    CaptureState & s = context_of(h)->state;
    if (index < 0 || index >= static_cast<jint>(s.extras.size())) return;
    const auto & data = s.extras[index].data;
    std::memcpy(reinterpret_cast<float *>(address), data.data(), data.size() * sizeof(float));
}

// ---- interventions and multi-sequence decoding (causal tracing, patching, ablation) ----

// Sets the interventions the eval callback applies during the next capture/decode calls (until cleared).
// Per intervention i: names[i] (a graph tensor name or "@residual_input"), add[i], rows[i] (rows of the call's
// token list), columns[i] (null = whole rows), values[i] (address of [1 or rows][width] floats that Java keeps
// alive until cleared), widths[i], broadcast[i]. Java has validated the arrays' lengths and the values' sizes.
GL_FN(void, interventionsSet)(JNIEnv * env, jclass, jlong h, jobjectArray names, jbooleanArray add, jobjectArray rows,
                              jobjectArray columns, jlongArray values, jlongArray widths, jbooleanArray broadcast) {
    const uint64_t mark = log_mark();
    GL_TRY
    InterventionState & st = context_of(h)->interventions;
    st.list.clear();
    st.error.clear();
    const jsize n = env->GetArrayLength(names);
    std::vector<jboolean> add_v(n), broadcast_v(n);
    std::vector<jlong> values_v(n), widths_v(n);
    env->GetBooleanArrayRegion(add, 0, n, add_v.data());
    env->GetBooleanArrayRegion(broadcast, 0, n, broadcast_v.data());
    env->GetLongArrayRegion(values, 0, n, values_v.data());
    env->GetLongArrayRegion(widths, 0, n, widths_v.data());
    auto ints = [&](jobjectArray arrays, jsize i) {
        std::vector<int32_t> out;
        auto a = static_cast<jintArray>(env->GetObjectArrayElement(arrays, i));
        if (a == nullptr) return out;
        out.resize(static_cast<size_t>(env->GetArrayLength(a)));
        env->GetIntArrayRegion(a, 0, static_cast<jsize>(out.size()), reinterpret_cast<jint *>(out.data()));
        env->DeleteLocalRef(a);
        return out;
    };
    for (jsize i = 0; i < n; ++i) {
        Intervention iv;
        auto name = static_cast<jbyteArray>(env->GetObjectArrayElement(names, i));
        iv.name = from_bytes(env, name);
        env->DeleteLocalRef(name);
        iv.add = add_v[i];
        iv.rows = ints(rows, i);
        iv.columns = ints(columns, i);
        iv.values = reinterpret_cast<const float *>(values_v[i]);
        iv.width = widths_v[i];
        iv.broadcast = broadcast_v[i];
        st.list.push_back(std::move(iv));
    }
    GL_CATCH(env, mark, )
}

GL_FN(void, interventionsClear)(JNIEnv *, jclass, jlong h) {
    InterventionState & st = context_of(h)->interventions;
    st.list.clear();
    st.error.clear();
}

// One llama_decode of tokens at (position, sequence) pairs on top of the KV cache as it is (one ubatch: Java
// keeps the count within n_batch). outputRows (ascending) get logits, copied to logits [outputs][n_vocab].
GL_FN(void, decode)(JNIEnv * env, jclass, jlong h, jintArray tokens_array, jintArray positions_array,
                    jintArray sequences_array, jintArray output_rows_array, jlong logits_addr) {
    const uint64_t mark = log_mark();
    ContextHandle * handle = context_of(h);
    InterventionState & st = handle->interventions;
    GL_TRY
    const jsize n = env->GetArrayLength(tokens_array);
    const jsize n_out = env->GetArrayLength(output_rows_array);
    std::vector<int32_t> tokens(n), positions(n), sequences(n), output_rows(n_out);
    env->GetIntArrayRegion(tokens_array, 0, n, reinterpret_cast<jint *>(tokens.data()));
    env->GetIntArrayRegion(positions_array, 0, n, reinterpret_cast<jint *>(positions.data()));
    env->GetIntArrayRegion(sequences_array, 0, n, reinterpret_cast<jint *>(sequences.data()));
    env->GetIntArrayRegion(output_rows_array, 0, n_out, reinterpret_cast<jint *>(output_rows.data()));
    llama_batch batch = llama_batch_init(n, 0, 1);
    batch.n_tokens = n;
    for (jsize i = 0; i < n; ++i) {
        batch.token[i] = tokens[i];
        batch.pos[i] = positions[i];
        batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = sequences[i];
        batch.logits[i] = 0;
    }
    for (int32_t r : output_rows) batch.logits[r] = 1;
    for (auto & iv : st.list) iv.seen = false;
    st.error.clear();
    st.begin_ubatch(0, n, batch.logits);
    const int32_t rc = llama_decode(handle->ctx, batch);
    std::string failure = st.error;
    if (failure.empty() && rc != 0) failure = "llama_decode failed with code " + std::to_string(rc);
    if (failure.empty()) failure = interventions_unseen(st);
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(handle->model));
    float * logits_out = reinterpret_cast<float *>(logits_addr);
    for (jsize k = 0; k < n_out && failure.empty() && logits_out != nullptr; ++k) {
        const float * row = llama_get_logits_ith(handle->ctx, output_rows[k]);
        if (row == nullptr) { failure = "no logits for batch row " + std::to_string(output_rows[k]); break; }
        std::memcpy(logits_out + static_cast<int64_t>(k) * n_vocab, row, sizeof(float) * n_vocab);
    }
    llama_batch_free(batch);
    if (!failure.empty()) throw_llama(env, failure, mark);
    GL_CATCH(env, mark, )
}

// Sequence `dst` shares the KV cache cells of `src` at positions [p0, p1) (no copy with a unified cache).
GL_FN(void, sequenceCopy)(JNIEnv *, jclass, jlong h, jint src, jint dst, jint p0, jint p1) {
    llama_memory_seq_cp(llama_get_memory(context_of(h)->ctx), src, dst, p0, p1);
}

// Drops sequence `seq` from the KV cache (every position).
GL_FN(void, sequenceRemove)(JNIEnv *, jclass, jlong h, jint seq) {
    llama_memory_seq_rm(llama_get_memory(context_of(h)->ctx), seq, -1, -1);
}

// imatrixNames/imatrixData (both null, or the same length): per-tensor importance values, already normalised
// in Java; llama.cpp reads them through a name == nullptr terminated array that must outlive the call.
GL_FN(void, quantize)(JNIEnv * env, jclass, jbyteArray in, jbyteArray out, jint ftype, jint threads,
                      jobjectArray imatrixNames, jobjectArray imatrixData) {
    const uint64_t mark = log_mark();
    GL_TRY
    std::string src = from_bytes(env, in), dst = from_bytes(env, out);
    llama_model_quantize_params params = llama_model_quantize_default_params();
    params.ftype = static_cast<llama_ftype>(ftype);
    params.nthread = threads;
    std::vector<std::string> names;
    std::vector<std::vector<float>> values;
    std::vector<llama_model_imatrix_data> imatrix;
    if (imatrixNames != nullptr && imatrixData != nullptr) {
        const jsize n = env->GetArrayLength(imatrixNames);
        names.reserve(n);
        values.reserve(n);
        for (jsize i = 0; i < n; i++) {
            auto name = static_cast<jbyteArray>(env->GetObjectArrayElement(imatrixNames, i));
            auto data = static_cast<jfloatArray>(env->GetObjectArrayElement(imatrixData, i));
            names.push_back(from_bytes(env, name));
            std::vector<float> v(env->GetArrayLength(data));
            env->GetFloatArrayRegion(data, 0, static_cast<jsize>(v.size()), v.data());
            values.push_back(std::move(v));
            env->DeleteLocalRef(name);
            env->DeleteLocalRef(data);
        }
        for (size_t i = 0; i < names.size(); i++) {
            imatrix.push_back({names[i].c_str(), values[i].data(), values[i].size()});
        }
        imatrix.push_back({nullptr, nullptr, 0});
        params.imatrix = imatrix.data();
    }
    const uint32_t rc = llama_model_quantize(src.c_str(), dst.c_str(), &params);
    if (rc != 0) throw_llama(env, "quantizing " + src + " failed", mark);
    GL_CATCH(env, mark, )
}

// ---- ggml's own CPU matmul, for benchmarks: Y = X . W^T on caller-owned memory, nothing copied ----

namespace {

struct MatmulHandle {
    ggml_context * ctx = nullptr;
    ggml_backend_t backend = nullptr;
    ggml_backend_buffer_t weight_buffer = nullptr;
    ggml_backend_buffer_t input_buffer = nullptr;
    ggml_backend_buffer_t output_buffer = nullptr;
    ggml_cgraph * graph = nullptr;

    ~MatmulHandle() {
        // Buffers from pointers own nothing: freeing them leaves the caller's memory alone.
        if (weight_buffer != nullptr) ggml_backend_buffer_free(weight_buffer);
        if (input_buffer != nullptr) ggml_backend_buffer_free(input_buffer);
        if (output_buffer != nullptr) ggml_backend_buffer_free(output_buffer);
        if (backend != nullptr) ggml_backend_free(backend);
        if (ctx != nullptr) ggml_free(ctx);
    }
};

}  // namespace

// Builds the one-node graph Y[m][rows] = X[m][cols] . W[rows][cols]^T once. Java has checked the type,
// shapes, sizes and 32-byte alignment (ggml asserts on them, which would abort the JVM).
GL_FN(jlong, matmulCreate)(JNIEnv * env, jclass, jint type, jlong rows, jlong cols, jlong weight_addr,
                           jlong weight_bytes, jint m, jlong input_addr, jlong output_addr, jint threads) {
    const uint64_t mark = log_mark();
    GL_TRY
    const auto ggml_t = static_cast<ggml_type>(type);
    // The CPU backend is a module loaded at run time (GGML_BACKEND_DL): reach it through the registry.
    ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (cpu == nullptr) {
        throw_llama(env, "no ggml CPU backend is loaded", mark);
        return 0;
    }
    auto * h = new MatmulHandle();
    ggml_init_params params{};
    params.mem_size = ggml_tensor_overhead() * 4 + ggml_graph_overhead();
    params.no_alloc = true;  // every tensor points at memory the caller owns
    h->ctx = ggml_init(params);
    ggml_tensor * w = ggml_new_tensor_2d(h->ctx, ggml_t, cols, rows);
    ggml_tensor * x = ggml_new_tensor_2d(h->ctx, GGML_TYPE_F32, cols, m);
    ggml_tensor * y = ggml_mul_mat(h->ctx, w, x);  // [rows, m]: row i of Y is X_i . W^T
    h->weight_buffer = ggml_backend_cpu_buffer_from_ptr(reinterpret_cast<void *>(weight_addr), static_cast<size_t>(weight_bytes));
    h->input_buffer = ggml_backend_cpu_buffer_from_ptr(reinterpret_cast<void *>(input_addr), ggml_nbytes(x));
    h->output_buffer = ggml_backend_cpu_buffer_from_ptr(reinterpret_cast<void *>(output_addr), ggml_nbytes(y));
    if (ggml_backend_tensor_alloc(h->weight_buffer, w, reinterpret_cast<void *>(weight_addr)) != GGML_STATUS_SUCCESS ||
        ggml_backend_tensor_alloc(h->input_buffer, x, reinterpret_cast<void *>(input_addr)) != GGML_STATUS_SUCCESS ||
        ggml_backend_tensor_alloc(h->output_buffer, y, reinterpret_cast<void *>(output_addr)) != GGML_STATUS_SUCCESS) {
        delete h;
        throw_llama(env, "ggml could not place the matmul tensors on the given memory", mark);
        return 0;
    }
    if (!ggml_backend_dev_supports_op(cpu, y)) {
        delete h;
        throw_llama(env, std::string("ggml's CPU backend has no matmul kernel for type ") + ggml_type_name(ggml_t), mark);
        return 0;
    }
    h->graph = ggml_new_graph(h->ctx);
    ggml_build_forward_expand(h->graph, y);
    h->backend = ggml_backend_dev_init(cpu, nullptr);
    if (h->backend == nullptr) {
        delete h;
        throw_llama(env, "ggml could not start its CPU backend", mark);
        return 0;
    }
    auto set_threads = reinterpret_cast<ggml_backend_set_n_threads_t>(
        ggml_backend_reg_get_proc_address(ggml_backend_dev_backend_reg(cpu), "ggml_backend_set_n_threads"));
    if (set_threads != nullptr) set_threads(h->backend, threads);
    return reinterpret_cast<jlong>(h);
    GL_CATCH(env, mark, 0)
}

// One compute of the prepared graph: quantises X to the weight's vec_dot type and multiplies.
GL_FN(void, matmulCompute)(JNIEnv * env, jclass, jlong handle) {
    const uint64_t mark = log_mark();
    GL_TRY
    auto * h = reinterpret_cast<MatmulHandle *>(handle);
    const ggml_status status = ggml_backend_graph_compute(h->backend, h->graph);
    if (status != GGML_STATUS_SUCCESS) throw_llama(env, "ggml matmul failed with status " + std::to_string(status), mark);
    GL_CATCH(env, mark, )
}

GL_FN(void, matmulFree)(JNIEnv *, jclass, jlong handle) { delete reinterpret_cast<MatmulHandle *>(handle); }

// ---- backends: ggml's modules in the native folder, the devices they offer, RPC servers ----

namespace {

const char * device_type_name(enum ggml_backend_dev_type type) {
    switch (type) {
        case GGML_BACKEND_DEVICE_TYPE_CPU: return "cpu";
        case GGML_BACKEND_DEVICE_TYPE_GPU: return "gpu";
        case GGML_BACKEND_DEVICE_TYPE_IGPU: return "igpu";
        case GGML_BACKEND_DEVICE_TYPE_ACCEL: return "accel";
        default: return "other";
    }
}

}  // namespace

// Loads every backend module in dir that works here (the best CPU variant, CUDA where a driver and GPU are,
// RPC, Metal). Returns one "name<TAB>reason" per module file that did not give a usable backend.
GL_FN(jobjectArray, backendsLoad)(JNIEnv * env, jclass, jbyteArray dir) {
    const uint64_t mark = log_mark();
    GL_TRY
    const std::string path = from_bytes(env, dir);
    ggml_backend_load_all_from_path(path.c_str());
    std::vector<std::string> problems;
    std::error_code ec;
    for (const auto & entry : std::filesystem::directory_iterator(path, ec)) {
        // Modules are lib ggml-<name>[-<variant>].so on every OS; libggml.so / libggml-base.so are not modules.
        const std::string file = entry.path().filename().string();
        if (file.rfind("libggml-", 0) != 0 || entry.path().extension() != ".so") continue;
        std::string name = file.substr(8, file.size() - 8 - 3);
        name = name.substr(0, name.find('-'));
        if (name == "base" || name == "cpu") continue;  // CPU variants that lost to a better one are not failures
        // Registry names match the file names but for Metal's ("MTL").
        ggml_backend_reg_t reg = ggml_backend_reg_by_name(name == "metal" ? "MTL" : name.c_str());
        if (reg != nullptr) {
            if (ggml_backend_reg_dev_count(reg) == 0 && name != "rpc") problems.push_back(name + "\tno device found");
            continue;
        }
        // Loading it again outside the silent bulk load logs the loader's reason (e.g. a missing libcuda.so.1).
        const uint64_t before = log_mark();
        if (ggml_backend_load(entry.path().string().c_str()) != nullptr) continue;
        std::string why = problems_since(before);
        problems.push_back(name + "\t" + (why.empty() ? "the module did not load" : why));
    }
    if (ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) == nullptr) {
        throw_llama(env, "no ggml CPU backend could be loaded from " + path, mark);
        return nullptr;
    }
    return to_byte_arrays(env, problems);
    GL_CATCH(env, mark, nullptr)
}

// One "backend<TAB>type<TAB>name<TAB>description<TAB>total bytes" per device ggml knows, in ggml's order.
GL_FN(jobjectArray, devices)(JNIEnv * env, jclass) {
    std::vector<std::string> lines;
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        const std::string backend = ggml_backend_reg_name(ggml_backend_dev_backend_reg(dev));
        size_t free = 0, total = 0;
        // Asking an RPC device goes over the network, and ggml aborts when its server is gone: not here.
        if (backend != "RPC") ggml_backend_dev_memory(dev, &free, &total);
        lines.push_back(backend + "\t" +
                        device_type_name(ggml_backend_dev_type(dev)) + "\t" + ggml_backend_dev_name(dev) + "\t" +
                        ggml_backend_dev_description(dev) + "\t" + std::to_string(total));
    }
    return to_byte_arrays(env, lines);
}

// Registers the devices of an rpc-server at host:port (llama.cpp's --rpc); returns how many it offers.
GL_FN(jint, rpcAddServer)(JNIEnv * env, jclass, jbyteArray endpoint) {
    const uint64_t mark = log_mark();
    GL_TRY
    const std::string where = from_bytes(env, endpoint);
    ggml_backend_reg_t rpc = ggml_backend_reg_by_name("RPC");
    if (rpc == nullptr) {
        throw_llama(env, "this build has no RPC backend (libggml-rpc.so did not load)", mark);
        return 0;
    }
    using add_server_t = ggml_backend_reg_t (*)(const char *);
    auto add_server = reinterpret_cast<add_server_t>(ggml_backend_reg_get_proc_address(rpc, "ggml_backend_rpc_add_server"));
    if (add_server == nullptr) {
        throw_llama(env, "the RPC backend has no ggml_backend_rpc_add_server", mark);
        return 0;
    }
    ggml_backend_reg_t server = add_server(where.c_str());
    if (server == nullptr) {
        throw_llama(env, "no rpc-server answered at " + where, mark);
        return 0;
    }
    // add_server returns the same registry for an endpoint seen before: register it once.
    for (size_t i = 0; i < ggml_backend_reg_count(); ++i) {
        if (ggml_backend_reg_get(i) == server) return static_cast<jint>(ggml_backend_reg_dev_count(server));
    }
    ggml_backend_register(server);
    {
        std::lock_guard<std::mutex> lock(g_rpc_mutex);
        g_rpc_endpoints += (g_rpc_endpoints.empty() ? "" : ", ") + where;
    }
    return static_cast<jint>(ggml_backend_reg_dev_count(server));
    GL_CATCH(env, mark, 0)
}

// The process's peak resident set size in bytes (getrusage: KiB on Linux, bytes on macOS); -1 if unknown.
GL_FN(jlong, peakRssBytes)(JNIEnv *, jclass) {
    struct rusage usage {};
    if (getrusage(RUSAGE_SELF, &usage) != 0) return -1;
#ifdef __APPLE__
    return static_cast<jlong>(usage.ru_maxrss);
#else
    return static_cast<jlong>(usage.ru_maxrss) * 1024;
#endif
}
