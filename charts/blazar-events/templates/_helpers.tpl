{{/* Names and labels. */}}
{{- define "be.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "be.name" -}}
{{- printf "%s-%s" (include "be.fullname" .root) .component -}}
{{- end -}}

{{- define "be.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "be.labels" -}}
{{ include "be.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "be.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* The URL of the shared delivery function (the Knative Service), in-cluster. */}}
{{- define "be.functionUrl" -}}
{{- printf "http://%s.%s.svc.cluster.local" (include "be.name" (dict "root" . "component" "function")) .Release.Namespace -}}
{{- end -}}

{{/*
Settings every component reads, as BLAZAR_EVENTS_<SECTION>_<FIELD> (blazar_events/settings.py).
Credentials come from Secrets only.
*/}}
{{- define "be.commonEnv" -}}
- name: BLAZAR_EVENTS_KAFKA_BOOTSTRAP_SERVERS
  value: {{ join "," .Values.kafka.bootstrapServers | quote }}
- name: BLAZAR_EVENTS_KAFKA_TOPIC
  value: {{ .Values.kafka.topic | quote }}
- name: BLAZAR_EVENTS_KAFKA_REJECTED_TOPIC
  value: {{ .Values.kafka.rejectedTopic | quote }}
- name: BLAZAR_EVENTS_KAFKA_DLQ_TOPIC
  value: {{ .Values.kafka.dlqTopic | quote }}
- name: BLAZAR_EVENTS_KAFKA_STATE_TOPIC
  value: {{ .Values.kafka.stateTopic | quote }}
- name: BLAZAR_EVENTS_KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
{{- with .Values.kafka.sasl }}
{{- if .mechanism }}
- name: BLAZAR_EVENTS_KAFKA_SASL_MECHANISM
  value: {{ .mechanism | quote }}
- name: BLAZAR_EVENTS_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ .existingSecret | quote }}, key: {{ .usernameKey | quote }}}
- name: BLAZAR_EVENTS_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .existingSecret | quote }}, key: {{ .passwordKey | quote }}}
{{- end }}
{{- end }}
{{- if .Values.kafka.tls.caSecret }}
- name: BLAZAR_EVENTS_KAFKA_SSL_CAFILE
  value: /etc/blazar-events/kafka-ca/{{ .Values.kafka.tls.caKey }}
{{- end }}
- name: BLAZAR_EVENTS_REDIS_URL
  valueFrom:
    secretKeyRef: {name: {{ .Values.redis.existingSecret | quote }}, key: {{ .Values.redis.urlKey | quote }}}
- name: BLAZAR_EVENTS_REDIS_KEY_PREFIX
  value: {{ .Values.redis.keyPrefix | quote }}
- name: BLAZAR_EVENTS_EVENTS_SOURCE_PREFIX
  value: {{ .Values.events.sourcePrefix | quote }}
{{- end -}}

{{/* Volumes every pod has: a writable /tmp (the root filesystem is read-only) and the Kafka CA. */}}
{{- define "be.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  secret:
    secretName: {{ .Values.kafka.tls.caSecret | quote }}
{{- end }}
{{- end -}}

{{- define "be.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.kafka.tls.caSecret }}
- name: kafka-ca
  mountPath: /etc/blazar-events/kafka-ca
  readOnly: true
{{- end }}
{{- end -}}

{{/* The pod-level settings shared by every Deployment. */}}
{{- define "be.podSpec" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* A PodDisruptionBudget for one component (args: root, component). */}}
{{- define "be.pdb" -}}
{{- if .root.Values.podDisruptionBudget.enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "be.name" . }}
  labels:
    {{- include "be.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .root.Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "be.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/* What the operator may do where EventSubscriptions live (see operator/rbac.yaml). */}}
{{- define "be.operatorWatchRules" -}}
- apiGroups: [events.blazar.openstack.org]
  resources: [eventsubscriptions]
  verbs: [get, list, watch, patch, update]
- apiGroups: [events.blazar.openstack.org]
  resources: [eventsubscriptions/status]
  verbs: [get, patch, update]
- apiGroups: [events.blazar.openstack.org]
  resources: [eventsubscriptions/finalizers]
  verbs: [update]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create]
- apiGroups: [serving.knative.dev]
  resources: [services]
  verbs: [get]
- apiGroups: [eventing.knative.dev]
  resources: [brokers]
  verbs: [get]
- apiGroups: [""]
  resources: [services]
  verbs: [get]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
{{- end }}

{{/* The Secret with the keys that seal signing secrets at rest (every component reads them). */}}
{{- define "be.secretsKeySecret" -}}
{{- .Values.redis.secretsKey.existingSecret | default (printf "%s-secrets-key" (include "be.fullname" .)) -}}
{{- end -}}

{{/* For the components that read or write signing secrets (not the bridge). */}}
{{- define "be.secretsKeyEnv" -}}
- name: BLAZAR_EVENTS_REDIS_SECRETS_KEYS
  valueFrom:
    secretKeyRef: {name: {{ include "be.secretsKeySecret" . | quote }}, key: {{ .Values.redis.secretsKey.key | quote }}}
{{- end -}}

{{/* The SSRF policy ([egress] allowed_networks): egress.allowedNetworks, or while that is
empty the component's deprecated own list (.legacy), so an upgrade changes no pod's policy. */}}
{{- define "be.egressEnv" -}}
- name: BLAZAR_EVENTS_EGRESS_ALLOWED_NETWORKS
  value: {{ join "," (.root.Values.egress.allowedNetworks | default .legacy) | quote }}
{{- end -}}

{{/* Where Triggers point ([trigger]): the same for the operator, which creates them, and the
API, which shows them. */}}
{{- define "be.triggerEnv" -}}
- name: BLAZAR_EVENTS_TRIGGER_NAMESPACE
  value: {{ .Release.Namespace | quote }}
- name: BLAZAR_EVENTS_TRIGGER_BROKER
  value: {{ .Values.knative.broker.name | quote }}
- name: BLAZAR_EVENTS_TRIGGER_FUNCTION_URL
  value: {{ include "be.functionUrl" . | quote }}
{{- end -}}
