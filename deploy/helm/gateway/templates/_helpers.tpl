{{- define "gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "gateway.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "gateway.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gateway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The most replicas that can run at once. */}}
{{- define "gateway.maxReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.maxReplicas | int }}{{ else }}{{ .Values.replicaCount | int }}{{ end }}
{{- end }}

{{/*
Refuse configurations that cannot work with several replicas: each replica
would have its own embedded database (idempotency keys, sync jobs and the
audit trail split between them), and page tokens signed with a random
per-process key would fail on the other replicas.
*/}}
{{- define "gateway.validate" -}}
{{- $keys := .Values.secrets.keys | default dict }}
{{- range $name, $key := $keys }}
{{- if not (regexMatch "^GATEWAY_[A-Z0-9_]+$" $name) }}
{{- fail (printf "secrets.keys: %q is not a GATEWAY_* variable name" $name) }}
{{- end }}
{{- if hasKey $.Values.env $name }}
{{- fail (printf "%s is set both in env and in secrets.keys; keep it in the Secret only" $name) }}
{{- end }}
{{- end }}
{{- if and $keys (not .Values.secrets.existingSecret) }}
{{- fail "secrets.keys is set but secrets.existingSecret is empty: name the Secret that holds those keys" }}
{{- end }}
{{- range $name, $value := .Values.env }}
{{- if not (regexMatch "^(GATEWAY|OTEL)_[A-Z0-9_]+$" $name) }}
{{- fail (printf "env: %q is neither a GATEWAY_* nor an OTEL_* variable" $name) }}
{{- end }}
{{- end }}
{{- if gt (include "gateway.maxReplicas" . | int) 1 }}
{{- $dbURL := toString (get .Values.env "GATEWAY_DATABASE_URL") }}
{{- if not (or (hasKey $keys "GATEWAY_DATABASE_URL") (hasPrefix "postgres://" $dbURL) (hasPrefix "postgresql://" $dbURL)) }}
{{- fail (printf "%d replicas need a shared PostgreSQL database: set secrets.keys.GATEWAY_DATABASE_URL to the key of a postgres://... URL in secrets.existingSecret (or replicaCount: 1 with autoscaling off for the embedded database)" (include "gateway.maxReplicas" . | int)) }}
{{- end }}
{{- if not (hasKey $keys "GATEWAY_PAGE_TOKEN_KEY") }}
{{- fail (printf "%d replicas need one page-token key shared by all of them: set secrets.keys.GATEWAY_PAGE_TOKEN_KEY to its key in secrets.existingSecret (otherwise a next_page_token from one replica is rejected by the others)" (include "gateway.maxReplicas" . | int)) }}
{{- end }}
{{- end }}
{{- end }}
