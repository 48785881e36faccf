#!/usr/bin/env bash
# Creates the kind cluster and deploys the speed layer into it:
#   kind cluster (kind/kind-config.yaml) -> Knative Serving + Kourier -> Knative Eventing + the
#   Kafka source and sink -> Strimzi -> kube-prometheus-stack -> Secrets -> the functions' image
#   -> `npm run synth` -> kubectl apply dist/ -> wait until everything is ready.
#
# Every version is pinned below. Each step can run again: re-running the script resumes or
# updates a cluster that already exists. Needs: docker, kind (v0.31.0), kubectl, helm (v3),
# openssl, node + npm (the repository's), curl. See docs/deploy.md.
#
# Written without a container engine at hand: it has not been run end to end (docs/deploy.md
# says what was and was not checked).
set -euo pipefail
cd "$(dirname "$0")/.."

# ---- pinned versions ------------------------------------------------------------------------
KIND_VERSION=v0.31.0
# Must match kind/kind-config.yaml (test/charts/kind.test.ts checks they agree).
NODE_IMAGE=kindest/node:v1.35.0@sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f
# Knative 1.21 supports Kubernetes 1.33 and newer. Serving, Kourier, Eventing and the Kafka
# source/sink are released together.
KNATIVE_VERSION=1.21.0
# Strimzi 0.47: KRaft with node pools (the Kafka CR carries both annotations), Kafka 3.9.1, the
# version the tests run kafkajs against (local/kafka/versions.ts; charts/values/names.ts: KAFKA.version).
STRIMZI_VERSION=0.47.0
KUBE_PROMETHEUS_STACK_VERSION=81.6.2

CLUSTER=speed-layer
# charts/values.ts IMAGES.functions: the dev.local/ prefix keeps Knative from resolving the tag
# against a registry (the image only exists in the nodes).
IMAGE=speed-layer:dev
KNATIVE_IMAGE=dev.local/speed-layer:dev
# Kourier's HTTP NodePort; kind-config.yaml maps it to the host's port 80.
INGRESS_NODE_PORT=31080

GH=https://github.com
SERVING=$GH/knative/serving/releases/download/knative-v$KNATIVE_VERSION
KOURIER=$GH/knative-extensions/net-kourier/releases/download/knative-v$KNATIVE_VERSION
EVENTING=$GH/knative/eventing/releases/download/knative-v$KNATIVE_VERSION
EVENTING_KAFKA=$GH/knative-extensions/eventing-kafka-broker/releases/download/knative-v$KNATIVE_VERSION
STRIMZI=$GH/strimzi/strimzi-kafka-operator/releases/download/$STRIMZI_VERSION/strimzi-cluster-operator-$STRIMZI_VERSION.yaml

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'up.sh: %s\n' "$*" >&2; exit 1; }
for tool in docker kind kubectl helm openssl node npm curl; do
  command -v "$tool" >/dev/null || die "$tool is required (see docs/deploy.md)"
done
kind version | grep -q "kind $KIND_VERSION " || printf 'up.sh: warning: kind %s is pinned; found: %s\n' "$KIND_VERSION" "$(kind version)" >&2
grep -q "image: $NODE_IMAGE" kind/kind-config.yaml || die "kind/kind-config.yaml does not use $NODE_IMAGE"
# cdk8s, tsx and the charts' dependencies.
[ -d node_modules ] || npm ci

# A value derived in charts/values.ts, e.g. `value kafka.maxPollRecords`.
value() { npx tsx --eval "import('./charts/values.ts').then(({ values }) => console.log('$1'.split('.').reduce((o, k) => o[k], values)))"; }
kwait() { kubectl wait --for=condition=Available deployment --all --timeout=10m "$@"; }

# ---- cluster ----------------------------------------------------------------------------------
step "kind cluster $CLUSTER"
if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind create cluster --config kind/kind-config.yaml --wait 5m
fi
kubectl config use-context "kind-$CLUSTER" >/dev/null
# The NetworkPolicies admit the host's NodePort traffic from kind's docker network
# (charts/values.ts KIND_NODE_CIDR); say so if this docker gave the network another subnet.
KIND_NODE_CIDR=$(npx tsx --eval "import('./charts/values.ts').then((m) => console.log(m.KIND_NODE_CIDR))" 2>/dev/null || true)
if [ -n "$KIND_NODE_CIDR" ] && ! docker network inspect kind 2>/dev/null | grep -q "\"Subnet\": \"$KIND_NODE_CIDR\""; then
  printf 'up.sh: warning: the kind docker network is not %s; set KIND_NODE_CIDR in charts/values.ts to its IPv4 subnet, or ClickHouse on localhost:8123/9000 stays unreachable\n' "$KIND_NODE_CIDR" >&2
fi

step "manifests (npm run synth)"
npm run synth
# Namespaces, priority classes, quotas and the storage class first: the operators below install
# into the kafka namespace, the Secrets into speed-layer.
kubectl apply --server-side -f dist/00-cluster.k8s.yaml

# ---- Knative Serving with Kourier ---------------------------------------------------------------
step "Knative Serving $KNATIVE_VERSION + Kourier"
kubectl apply -f "$SERVING/serving-crds.yaml"
kubectl apply -f "$SERVING/serving-core.yaml"
kubectl apply -f "$KOURIER/kourier.yaml"
kubectl patch configmap/config-network -n knative-serving --type merge \
  -p '{"data":{"ingress-class":"kourier.ingress.networking.knative.dev"}}'
# Host names that resolve to 127.0.0.1, where kind-config.yaml publishes the ingress.
kubectl patch configmap/config-domain -n knative-serving --type merge -p '{"data":{"127.0.0.1.sslip.io":""}}'
# What the Services in charts/functions.ts use: a priority class, an emptyDir for /tmp; and the
# restricted defaults for every container Knative adds (the queue-proxy).
kubectl patch configmap/config-features -n knative-serving --type merge -p '{"data":{
  "kubernetes.podspec-priorityclassname":"enabled",
  "kubernetes.podspec-volumes-emptydir":"enabled",
  "secure-pod-defaults":"enabled"}}'
kubectl patch configmap/config-deployment -n knative-serving --type merge \
  -p '{"data":{"registries-skipping-tag-resolving":"kind.local,ko.local,dev.local"}}'
# Knative refuses a containerConcurrency above this (default 1000); ingest holds thousands of
# requests while their micro-batches fill (charts/values.ts derives how many).
CONTAINER_CONCURRENCY=$(value functions.ingest.containerConcurrency)
kubectl patch configmap/config-defaults -n knative-serving --type merge \
  -p "{\"data\":{\"container-concurrency-max-limit\":\"$CONTAINER_CONCURRENCY\"}}"
kwait -n knative-serving
kwait -n kourier-system
# Kourier's Service is a LoadBalancer (kind has none); pin its HTTP node port for kind-config.yaml.
kubectl patch service/kourier -n kourier-system --type json \
  -p "[{\"op\":\"replace\",\"path\":\"/spec/ports/0/nodePort\",\"value\":$INGRESS_NODE_PORT}]"

# ---- Knative Eventing, the Kafka source and sink -----------------------------------------------
step "Knative Eventing $KNATIVE_VERSION + KafkaSource + KafkaSink"
kubectl apply -f "$EVENTING/eventing-crds.yaml"
kubectl apply -f "$EVENTING/eventing-core.yaml"
# The KafkaSources set a per-request timeout and honour Retry-After (ingest's back-pressure):
# both are Eventing features behind flags.
kubectl patch configmap/config-features -n knative-eventing --type merge \
  -p '{"data":{"delivery-timeout":"enabled","delivery-retryafter":"enabled"}}'
kwait -n knative-eventing
kubectl apply -f "$EVENTING_KAFKA/eventing-kafka-controller.yaml"
kubectl apply -f "$EVENTING_KAFKA/eventing-kafka-source.yaml"
kubectl apply -f "$EVENTING_KAFKA/eventing-kafka-sink.yaml"
kwait -n knative-eventing

# The unordered dispatcher keeps at most max.poll.records requests in flight per consumer, and
# the ingest function holds each one until its micro-batch is stored: raise it to what the design
# throughput needs (charts/values.ts derives it), and let the HTTP client open that many
# connections (a Vert.x WebClientOptions field; not checked against this release).
MAX_POLL_RECORDS=$(value kafka.maxPollRecords)
patch_properties() { # configmap key property value
  local current
  current=$(kubectl get configmap "$1" -n knative-eventing -o json | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => process.stdout.write(JSON.parse(s).data?.[process.argv[1]] ?? ""));' "$2")
  printf '%s' "$current" | node -e '
    const [key, prop, value] = process.argv.slice(1);
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const lines = s.split("\n").filter((l) => l !== "" && !l.startsWith(prop + "="));
      lines.push(prop + "=" + value);
      process.stdout.write(JSON.stringify({ data: { [key]: lines.join("\n") + "\n" } }));
    });' "$2" "$3" "$4" > /tmp/speed-layer-patch.json
  kubectl patch configmap "$1" -n knative-eventing --type merge --patch-file /tmp/speed-layer-patch.json
}
patch_properties config-kafka-source-data-plane config-kafka-source-consumer.properties max.poll.records "$MAX_POLL_RECORDS"
patch_properties config-kafka-source-data-plane config-kafka-source-webclient.properties maxPoolSize "$MAX_POLL_RECORDS"
kubectl rollout restart statefulset/kafka-source-dispatcher -n knative-eventing 2>/dev/null || true

# ---- Strimzi -----------------------------------------------------------------------------------
step "Strimzi $STRIMZI_VERSION (namespace kafka)"
curl -fsSL "$STRIMZI" | sed 's/namespace: myproject/namespace: kafka/' | kubectl apply --server-side -n kafka -f -
# Strimzi's pods (broker, entity operator) with the "restricted" pod security profile.
kubectl set env deployment/strimzi-cluster-operator -n kafka STRIMZI_POD_SECURITY_PROVIDER_CLASS=restricted
kwait -n kafka

# ---- Prometheus, Alertmanager, Grafana ---------------------------------------------------------
step "kube-prometheus-stack $KUBE_PROMETHEUS_STACK_VERSION (namespace monitoring)"
helm repo add prometheus-community https://prometheus-community.github.io/helm-charts >/dev/null 2>&1 || true
helm repo update prometheus-community >/dev/null
# Prometheus picks up every PodMonitor, ServiceMonitor and PrometheusRule (not only the chart's
# own); Grafana's sidecar loads dashboards labelled grafana_dashboard=1 from every namespace.
helm upgrade --install monitoring prometheus-community/kube-prometheus-stack \
  --version "$KUBE_PROMETHEUS_STACK_VERSION" --namespace monitoring --create-namespace --wait --timeout 10m \
  --set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false \
  --set prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false \
  --set prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues=false \
  --set grafana.sidecar.dashboards.enabled=true \
  --set grafana.sidecar.dashboards.label=grafana_dashboard \
  --set grafana.sidecar.dashboards.labelValue=1 \
  --set grafana.sidecar.dashboards.searchNamespace=ALL

# ---- Secrets (never in the repository or dist/) ------------------------------------------------
step "Secrets (random passwords, made once)"
rand() { openssl rand -hex 24; }
if ! kubectl get secret clickhouse-users -n speed-layer >/dev/null 2>&1; then
  kubectl create secret generic clickhouse-users -n speed-layer \
    --from-literal=ingest-password="$(rand)" \
    --from-literal=analytics-password="$(rand)" \
    --from-literal=sessionizer-password="$(rand)" \
    --from-literal=migrator-password="$(rand)"
fi
if ! kubectl get secret postgres -n speed-layer >/dev/null 2>&1; then
  pg_password=$(rand)
  kubectl create secret generic postgres -n speed-layer \
    --from-literal=password="$pg_password" \
    --from-literal=database-url="postgres://speed_layer:$pg_password@postgres.speed-layer.svc:5432/speed_layer"
fi

# ---- the functions' image ----------------------------------------------------------------------
step "image $IMAGE -> $KNATIVE_IMAGE, loaded into the nodes"
docker build -t "$IMAGE" .
docker tag "$IMAGE" "$KNATIVE_IMAGE"
kind load docker-image "$KNATIVE_IMAGE" --name "$CLUSTER"

# ---- the speed layer ---------------------------------------------------------------------------
step "kubectl apply -f dist/"
# Server-side: the dashboards' ConfigMaps are too large for client-side apply's annotation.
kubectl apply --server-side --force-conflicts -f dist/

step "waiting for Kafka, ClickHouse, PostgreSQL, the schema and the functions"
kubectl wait kafka/speed-layer -n kafka --for=condition=Ready --timeout=15m
kubectl wait kafkatopic --all -n kafka --for=condition=Ready --timeout=5m
kubectl rollout status statefulset/clickhouse -n speed-layer --timeout=10m
kubectl rollout status statefulset/postgres -n speed-layer --timeout=5m
kubectl wait job -l app.kubernetes.io/name=clickhouse-admin -n speed-layer --for=condition=Complete --timeout=10m
kubectl wait ksvc --all -n speed-layer --for=condition=Ready --timeout=10m
kubectl wait kafkasource --all -n speed-layer --for=condition=Ready --timeout=5m
kubectl wait pingsource --all -n speed-layer --for=condition=Ready --timeout=5m

step "ready"
kubectl get ksvc -n speed-layer
cat <<EOF

  Analytics dashboard:  http://analytics.speed-layer.127.0.0.1.sslip.io/
  ClickHouse (host):    http://localhost:8123 and localhost:9000 (users and passwords: docs/deploy.md)
  Grafana:              kubectl -n monitoring port-forward svc/monitoring-grafana 3000:80
  Sending events:       docs/deploy.md, "Send events"
EOF
