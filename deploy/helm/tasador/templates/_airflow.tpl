{{/* Environment shared by Airflow's components. */}}
{{- define "tasador.airflowEnv" -}}
{{- $a := .Values.airflow -}}
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  valueFrom: {secretKeyRef: {name: {{ $a.existingSecret }}, key: sql-alchemy-conn}}
- name: AIRFLOW__CORE__FERNET_KEY
  valueFrom: {secretKeyRef: {name: {{ $a.existingSecret }}, key: fernet-key}}
- name: AIRFLOW__API_AUTH__JWT_SECRET
  valueFrom: {secretKeyRef: {name: {{ $a.existingSecret }}, key: jwt-secret}}
- name: AIRFLOW__CORE__EXECUTOR
  value: LocalExecutor
- name: AIRFLOW__CORE__EXECUTION_API_SERVER_URL
  value: {{ printf "http://%s:%v/execution/" (include "tasador.name" (dict "root" . "component" "airflow-api-server")) $a.port | quote }}
- name: AIRFLOW__CORE__DAGS_FOLDER
  value: {{ printf "/opt/airflow/dags/repo/%s" $a.gitSync.subPath | quote }}
- name: AIRFLOW__CORE__LOAD_EXAMPLES
  value: "False"
# Metrics over OTLP (HTTP) straight to Prometheus' receiver: ti_failures feeds the training-DAG alert.
- name: AIRFLOW__METRICS__OTEL_ON
  value: "True"
- name: OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
  value: {{ printf "http://%s:%v/api/v1/otlp/v1/metrics" (include "tasador.name" (dict "root" . "component" "prometheus")) .Values.prometheus.port | quote }}
{{- end -}}

{{/* Waits until `airflow db migrate` (the migrate Job) has run. */}}
{{- define "tasador.airflowWaitForMigrations" -}}
- name: wait-for-migrations
  image: {{ include "tasador.image" (dict "root" . "component" "airflow") }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: ["db", "check-migrations", "--migration-wait-timeout", "600"]
  env: {{- include "tasador.airflowEnv" . | nindent 4 }}
  securityContext: {{- toYaml .Values.containerSecurityContext | nindent 4 }}
{{- end -}}

{{/* The git-sync sidecar that keeps the DAG files ZenML writes up to date. */}}
{{- define "tasador.gitSync" -}}
{{- $g := .Values.airflow.gitSync -}}
- name: git-sync
  image: {{ $g.image }}
  env:
    - {name: GITSYNC_REPO, value: {{ $g.repo | quote }}}
    - {name: GITSYNC_REF, value: {{ $g.ref | quote }}}
    - {name: GITSYNC_ROOT, value: /git}
    - {name: GITSYNC_LINK, value: repo}
    - {name: GITSYNC_PERIOD, value: {{ printf "%vs" $g.periodSeconds | quote }}}
  {{- with $g.existingSecret }}
  envFrom:
    - secretRef: {name: {{ . }}}
  {{- end }}
  securityContext: {{- toYaml $.Values.containerSecurityContext | nindent 4 }}
  resources:
    requests: {cpu: 10m, memory: 32Mi}
    limits: {cpu: 200m, memory: 256Mi}
  volumeMounts:
    - {name: dags, mountPath: /git}
{{- end -}}
