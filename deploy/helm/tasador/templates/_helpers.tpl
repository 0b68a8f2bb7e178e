{{/* Names: <release>-tasador (or the release name when it already says tasador), then -<component>. */}}
{{- define "tasador.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Call with (dict "root" $ "component" "serving"). */}}
{{- define "tasador.name" -}}
{{- printf "%s-%s" (include "tasador.fullname" .root) .component -}}
{{- end -}}

{{- define "tasador.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "tasador.labels" -}}
{{ include "tasador.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* A tasador image (deploy/containers): <registry>/<component>:<tag>. */}}
{{- define "tasador.image" -}}
{{- printf "%s/%s:%s" .root.Values.image.registry .component .root.Values.image.tag -}}
{{- end -}}

{{- define "tasador.host" -}}
{{- include "tasador.name" . -}}
{{- end -}}

{{- define "tasador.mlflowUrl" -}}
{{- printf "http://%s:%v" (include "tasador.name" (dict "root" . "component" "mlflow")) .Values.mlflow.port -}}
{{- end -}}

{{- define "tasador.s3Endpoint" -}}
{{- printf "http://%s:%v" (include "tasador.name" (dict "root" . "component" "minio")) .Values.minio.port -}}
{{- end -}}

{{- define "tasador.dataApiUrl" -}}
{{- if .Values.dataApi.url -}}
{{- .Values.dataApi.url -}}
{{- else -}}
{{- printf "http://%s:%v" (include "tasador.name" (dict "root" . "component" "data-api")) .Values.dataApi.port -}}
{{- end -}}
{{- end -}}

{{/* PostgreSQL credentials for libpq (the URLs carry no password) and RAW/CLEAN's URL. */}}
{{- define "tasador.postgresEnv" -}}
- name: PGUSER
  valueFrom: {secretKeyRef: {name: {{ .Values.postgresql.auth.existingSecret }}, key: username}}
- name: PGPASSWORD
  valueFrom: {secretKeyRef: {name: {{ .Values.postgresql.auth.existingSecret }}, key: password}}
- name: TASADOR_DB_URL
  value: {{ printf "postgresql+psycopg://%s:%v/%s" (include "tasador.name" (dict "root" . "component" "postgresql")) .Values.postgresql.port .Values.postgresql.databases.app | quote }}
{{- end -}}

{{/* S3 (MinIO) credentials and endpoint, for MLflow and ZenML's artifact store. */}}
{{- define "tasador.s3Env" -}}
- name: AWS_ACCESS_KEY_ID
  valueFrom: {secretKeyRef: {name: {{ .Values.minio.existingSecret }}, key: root-user}}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom: {secretKeyRef: {name: {{ .Values.minio.existingSecret }}, key: root-password}}
- name: AWS_DEFAULT_REGION
  value: us-east-1
- name: MLFLOW_S3_ENDPOINT_URL
  value: {{ include "tasador.s3Endpoint" . | quote }}
{{- end -}}

{{/* Telemetry off in every tasador container. */}}
{{- define "tasador.quietEnv" -}}
- name: DO_NOT_TRACK
  value: "1"
- name: ZENML_ANALYTICS_OPT_IN
  value: "false"
- name: BENTOML_DO_NOT_TRACK
  value: "true"
- name: MLFLOW_DISABLE_TELEMETRY
  value: "true"
{{- end -}}

{{- define "tasador.podSpecCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
securityContext: {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}
