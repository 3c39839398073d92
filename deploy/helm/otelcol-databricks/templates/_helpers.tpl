{{/* Chart name, truncated to the 63 characters Kubernetes allows in names. */}}
{{- define "otelcol-databricks.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name; the release name alone when it already contains the chart name. */}}
{{- define "otelcol-databricks.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "otelcol-databricks.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "otelcol-databricks.selectorLabels" -}}
app.kubernetes.io/name: {{ include "otelcol-databricks.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "otelcol-databricks.labels" -}}
helm.sh/chart: {{ include "otelcol-databricks.chart" . }}
{{ include "otelcol-databricks.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: collector
{{- end }}

{{- define "otelcol-databricks.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "otelcol-databricks.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "otelcol-databricks.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Environment of the collector container: connection settings and secret references. */}}
{{- define "otelcol-databricks.env" -}}
- name: DATABRICKS_HOST
  value: {{ required "databricks.host is required (the workspace URL)" .Values.databricks.host | quote }}
{{- with .Values.databricks.warehouseId }}
- name: DATABRICKS_WAREHOUSE_ID
  value: {{ . | quote }}
{{- end }}
{{- with .Values.otlp.endpoint }}
- name: OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "otelcol-databricks.envFrom" -}}
- secretRef:
    name: {{ required "databricks.existingSecret is required (a Secret with DATABRICKS_TOKEN or DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET)" .Values.databricks.existingSecret }}
{{- with .Values.extraEnvFrom }}
{{ toYaml . }}
{{- end }}
{{- end }}
