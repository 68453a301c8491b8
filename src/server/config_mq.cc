#include "server/config_mq.h"

namespace kite {

namespace {

// A scalar as a string (YAML numbers and booleans included); false if absent.
bool Scalar(const YAML::Node& parent, const char* key, std::string* out) {
  if (!parent || !parent.IsMap()) return false;
  YAML::Node v = parent[key];
  if (!v || v.IsNull()) return false;
  *out = v.as<std::string>();
  return true;
}

// kafka.producer.* / kafka.consumer.*: librdkafka properties, nested maps
// flattened with dots (YAML `producer: {message.timeout.ms: 3000}` or
// `producer: {message: {timeout: {ms: 3000}}}`).
void Flatten(const YAML::Node& node, const std::string& prefix, std::map<std::string, std::string>* out) {
  if (!node || !node.IsMap()) return;
  for (const auto& kv : node) {
    const std::string key = prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>();
    if (kv.second.IsMap()) {
      Flatten(kv.second, key, out);
    } else if (kv.second.IsScalar()) {
      (*out)[key] = kv.second.as<std::string>();
    }
  }
}

}  // namespace

Status LoadMqConfig(const YAML::Node& root, ServerConfig* c) {
  MqConfig& mq = c->mq;
  KafkaWalOptions& k = mq.kafka;
  try {
    Scalar(root["mq"], "type", &mq.type);
    if (YAML::Node chan = root["msgChannel"]; chan && chan.IsMap()) {
      Scalar(chan["chanNamePrefix"], "cluster", &mq.chan_name_prefix);
    }
    YAML::Node kafka = root["kafka"];
    Scalar(kafka, "brokerList", &k.brokers);
    Scalar(kafka, "saslUsername", &k.sasl_username);
    Scalar(kafka, "saslPassword", &k.sasl_password);
    Scalar(kafka, "saslMechanisms", &k.sasl_mechanisms);
    Scalar(kafka, "securityProtocol", &k.security_protocol);
    std::string timeout;
    if (Scalar(kafka, "readTimeout", &timeout)) {
      double seconds = 0;
      try {
        seconds = std::stod(timeout);
      } catch (const std::exception&) {
        seconds = -1;
      }
      if (!(seconds > 0) || seconds > 3600) {
        return InvalidArgument("config key kafka.readTimeout: '{}' is not a number of seconds in (0, 3600]",
                               timeout);
      }
      k.delivery_timeout_ms = k.request_timeout_ms = static_cast<int>(seconds * 1000);
    }
    if (kafka && kafka.IsMap()) {
      if (YAML::Node ssl = kafka["ssl"]; ssl && ssl.IsMap() && ssl["enabled"] && ssl["enabled"].as<bool>()) {
        std::string v;
        if (k.security_protocol.empty()) k.security_protocol = k.sasl_mechanisms.empty() ? "ssl" : "sasl_ssl";
        if (Scalar(ssl, "tlsCert", &v)) k.producer_properties["ssl.certificate.location"] = v;
        if (Scalar(ssl, "tlsKey", &v)) k.producer_properties["ssl.key.location"] = v;
        if (Scalar(ssl, "tlsCaCert", &v)) k.producer_properties["ssl.ca.location"] = v;
        if (Scalar(ssl, "tlsKeyPassword", &v)) k.producer_properties["ssl.key.password"] = v;
        k.consumer_properties = k.producer_properties;
      }
      Flatten(kafka["producer"], "", &k.producer_properties);
      Flatten(kafka["consumer"], "", &k.consumer_properties);
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument("config section mq / kafka / msgChannel: {}", e.what());
  }
  // message.timeout.ms bounds a produce: the WAL waits for nothing longer.
  if (auto it = k.producer_properties.find("message.timeout.ms"); it != k.producer_properties.end()) {
    try {
      k.delivery_timeout_ms = std::stoi(it->second);
    } catch (const std::exception&) {
      return InvalidArgument("config key kafka.producer.message.timeout.ms: '{}' is not a number", it->second);
    }
  }
  if (mq.type != "default" && mq.type != "rocksmq" && mq.type != "woodpecker" && mq.type != "kafka") {
    return InvalidArgument("config key mq.type: '{}' is not supported (supported: default, rocksmq, woodpecker, "
                           "kafka)",
                           mq.type);
  }
  if (mq.type == "kafka" && k.brokers.empty()) {
    return InvalidArgument("config key kafka.brokerList is empty: mq.type kafka needs the brokers' addresses");
  }
  return Status::OK();
}

}  // namespace kite
