#include "rpc/malformed_request.h"

#include "rpc/grpc_observer.h"

namespace kite::rpc {
namespace {

namespace gx = ::grpc::experimental;

class MalformedRequestInterceptor final : public gx::Interceptor {
 public:
  void Intercept(gx::InterceptorBatchMethods* m) override {
    using H = gx::InterceptionHookPoints;
    // A sync handler's request that failed to deserialize reaches this hook
    // as a null message; the handler is then never run.
    if (m->QueryInterceptionHookPoint(H::POST_RECV_MESSAGE) && m->GetRecvMessage() == nullptr) malformed_ = true;
    if (m->QueryInterceptionHookPoint(H::PRE_SEND_STATUS) && malformed_) {
      ::grpc::Status st = m->GetSendStatus();
      if (!st.ok() && st.error_message().empty()) {
        m->ModifySendStatus(::grpc::Status(::grpc::StatusCode::INTERNAL, kUnmarshalError));
      }
    }
    m->Proceed();
  }

 private:
  bool malformed_ = false;
};

class Factory final : public gx::ServerInterceptorFactoryInterface {
 public:
  gx::Interceptor* CreateServerInterceptor(gx::ServerRpcInfo* info) override {
    if (ObservedInline(info->method())) return nullptr;  // the callback method parses its own bytes
    return new MalformedRequestInterceptor();
  }
};

}  // namespace

std::unique_ptr<gx::ServerInterceptorFactoryInterface> MakeMalformedRequestInterceptorFactory() {
  return std::make_unique<Factory>();
}

}  // namespace kite::rpc
