/**
 * Typed helpers for the custom resources. Each writes a plain `ApiObject`; the types come from
 * the schema packages where one exists (Knative Serving and Eventing core, prometheus-operator),
 * so a misspelt field fails `tsc`, and are written here from the CRDs for the rest (KafkaSource
 * and KafkaSink from knative-extensions/eventing-kafka-broker, Strimzi's Kafka, KafkaNodePool and
 * KafkaTopic v1beta2). Tests validate the output against the schemas (test/charts).
 */
import { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import type { k8s } from 'cdk8s-plus-32';
import type { IService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import type { IPingSource } from '@kubernetes-models/knative/sources.knative.dev/v1/PingSource';
import type { IPodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';

/** Metadata every object we write has: a name, a namespace, labels. */
export interface Meta {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

function object(scope: Construct, id: string, apiVersion: string, kind: string, metadata: Meta, body: Record<string, unknown>) {
  return new ApiObject(scope, id, { apiVersion, kind, metadata: { ...metadata }, ...body });
}

// --- Knative ---------------------------------------------------------------------------------

export type KnativeServiceSpec = NonNullable<IService['spec']>;
export const knativeService = (scope: Construct, id: string, metadata: Meta, spec: KnativeServiceSpec) =>
  object(scope, id, 'serving.knative.dev/v1', 'Service', metadata, { spec });

export type PingSourceSpec = NonNullable<IPingSource['spec']>;
export const pingSource = (scope: Construct, id: string, metadata: Meta, spec: PingSourceSpec) =>
  object(scope, id, 'sources.knative.dev/v1', 'PingSource', metadata, { spec });

/** A Knative duck-typed reference (sink, dead-letter sink). */
export interface KReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

/** sources.knative.dev/v1 KafkaSource (eventing-kafka-broker's CRD; the fields we use). */
export interface KafkaSourceSpec {
  readonly bootstrapServers: readonly string[];
  readonly topics: readonly string[];
  readonly consumerGroup: string;
  readonly consumers: number;
  readonly initialOffset: 'earliest' | 'latest';
  readonly ordering: 'ordered' | 'unordered';
  readonly delivery: {
    readonly retry: number;
    readonly backoffPolicy: 'linear' | 'exponential';
    readonly backoffDelay: string;
    readonly timeout: string;
    readonly retryAfterMax: string;
    readonly deadLetterSink: { readonly ref: KReference };
  };
  readonly sink: { readonly ref: KReference };
}
export const kafkaSource = (scope: Construct, id: string, metadata: Meta, spec: KafkaSourceSpec) =>
  object(scope, id, 'sources.knative.dev/v1', 'KafkaSource', metadata, { spec });

/** eventing.knative.dev/v1alpha1 KafkaSink: an addressable that writes CloudEvents to a topic. */
export interface KafkaSinkSpec {
  readonly topic: string;
  readonly bootstrapServers: readonly string[];
  readonly contentMode: 'binary' | 'structured';
}
export const kafkaSink = (scope: Construct, id: string, metadata: Meta, spec: KafkaSinkSpec) =>
  object(scope, id, 'eventing.knative.dev/v1alpha1', 'KafkaSink', metadata, { spec });

// --- Strimzi (kafka.strimzi.io/v1beta2) ------------------------------------------------------

export interface StrimziResources {
  readonly requests: { readonly memory: string; readonly cpu: string };
  readonly limits: { readonly memory: string; readonly cpu: string };
}

export interface KafkaNodePoolSpec {
  readonly replicas: number;
  readonly roles: readonly ('controller' | 'broker')[];
  readonly storage: {
    readonly type: 'jbod';
    readonly volumes: readonly {
      readonly id: number;
      readonly type: 'persistent-claim' | 'ephemeral';
      readonly size: string;
      readonly class: string;
      readonly deleteClaim: boolean;
      readonly kraftMetadata?: 'shared';
    }[];
  };
  readonly resources: StrimziResources;
  readonly jvmOptions: { readonly '-Xms': string; readonly '-Xmx': string };
  readonly template: { readonly pod: { readonly priorityClassName: string } };
}
export const kafkaNodePool = (scope: Construct, id: string, metadata: Meta, spec: KafkaNodePoolSpec) =>
  object(scope, id, 'kafka.strimzi.io/v1beta2', 'KafkaNodePool', metadata, { spec });

export interface KafkaSpec {
  readonly kafka: {
    readonly version: string;
    readonly listeners: readonly {
      readonly name: string; readonly port: number; readonly type: 'internal'; readonly tls: boolean;
      /** The `from` peers of the NetworkPolicy Strimzi generates for this listener (none: everyone). */
      readonly networkPolicyPeers?: readonly k8s.NetworkPolicyPeer[];
    }[];
    readonly config: Record<string, string | number | boolean>;
  };
  readonly entityOperator: {
    readonly topicOperator: { readonly resources: StrimziResources };
    readonly template: { readonly pod: { readonly priorityClassName: string } };
  };
}
export const kafka = (scope: Construct, id: string, metadata: Meta, spec: KafkaSpec) =>
  object(scope, id, 'kafka.strimzi.io/v1beta2', 'Kafka', metadata, { spec });

export interface KafkaTopicSpec {
  readonly topicName: string;
  readonly partitions: number;
  readonly replicas: number;
  readonly config: Record<string, string | number>;
}
export const kafkaTopic = (scope: Construct, id: string, metadata: Meta, spec: KafkaTopicSpec) =>
  object(scope, id, 'kafka.strimzi.io/v1beta2', 'KafkaTopic', metadata, { spec });

// --- prometheus-operator ---------------------------------------------------------------------

export const podMonitor = (scope: Construct, id: string, metadata: Meta, spec: IPodMonitor['spec']) =>
  object(scope, id, 'monitoring.coreos.com/v1', 'PodMonitor', metadata, { spec });

export const serviceMonitor = (scope: Construct, id: string, metadata: Meta, spec: IServiceMonitor['spec']) =>
  object(scope, id, 'monitoring.coreos.com/v1', 'ServiceMonitor', metadata, { spec });

export const prometheusRule = (scope: Construct, id: string, metadata: Meta, spec: IPrometheusRule['spec']) =>
  object(scope, id, 'monitoring.coreos.com/v1', 'PrometheusRule', metadata, { spec });
