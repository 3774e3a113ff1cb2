{{/* Names and labels. */}}
{{- define "attrsync.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "attrsync.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "attrsync.labels" -}}
{{ include "attrsync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
attrsync.io/sync: {{ .Values.config.sync.name | trunc 63 | trimAll "-_." | quote }}
{{- end -}}

{{- define "attrsync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "attrsync.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
attrsync.seconds: a Go duration string ("30s", "1m30s", "500ms", "0") as
seconds. The chart needs shutdown_grace in seconds to set the pod's
termination grace period above it.
*/}}
{{- define "attrsync.seconds" -}}
{{- $d := toString . -}}
{{- if not (regexMatch "^(0|([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$" $d) -}}
{{- fail (printf "shutdown_grace %q is not a Go duration such as 30s or 1m30s" $d) -}}
{{- end -}}
{{- $units := dict "ns" 0.000000001 "us" 0.000001 "µs" 0.000001 "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h)" $d -1 -}}
{{- $n := regexFind "^[0-9]+(\\.[0-9]+)?" . -}}
{{- $total = addf $total (mulf (float64 $n) (get $units (trimPrefix $n .))) -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/* shutdown_grace as written (0 is a value, not unset), default 30s. */}}
{{- define "attrsync.shutdownGrace" -}}
{{- if and .Values.config (hasKey .Values.config "shutdown_grace") -}}
{{- toString .Values.config.shutdown_grace -}}
{{- else -}}
30s
{{- end -}}
{{- end -}}

{{- define "attrsync.shutdownGraceSeconds" -}}
{{- include "attrsync.seconds" (include "attrsync.shutdownGrace" .) -}}
{{- end -}}

{{/* The pod's terminationGracePeriodSeconds: set, or shutdown_grace + 15 s. */}}
{{- define "attrsync.terminationGracePeriodSeconds" -}}
{{- $grace := include "attrsync.shutdownGraceSeconds" . | float64 -}}
{{- if kindIs "string" .Values.terminationGracePeriodSeconds -}}
{{- if .Values.terminationGracePeriodSeconds -}}
{{- fail "terminationGracePeriodSeconds must be a number of seconds" -}}
{{- end -}}
{{- add (ceil $grace | int) 15 -}}
{{- else -}}
{{- $t := .Values.terminationGracePeriodSeconds | int -}}
{{- if le (float64 $t) $grace -}}
{{- fail (printf "terminationGracePeriodSeconds %d must be longer than shutdown_grace %s: SIGTERM's drain and commit need that time before the kubelet's SIGKILL" $t (include "attrsync.shutdownGrace" .)) -}}
{{- end -}}
{{- $t -}}
{{- end -}}
{{- end -}}

{{/* The most replicas that can run at once. */}}
{{- define "attrsync.maxReplicas" -}}
{{- if .Values.autoscaling.enabled -}}
{{- .Values.autoscaling.maxReplicaCount | int -}}
{{- else -}}
{{- .Values.replicaCount | int -}}
{{- end -}}
{{- end -}}

{{/* The consumer group, as attrsync derives it. */}}
{{- define "attrsync.groupID" -}}
{{- $k := .Values.config.kafka | default dict -}}
{{- default (printf "attrsync-%s" .Values.config.sync.name) $k.group_id -}}
{{- end -}}

{{/*
attrsync.checks fails the rendering, with the reason, for values that
would deploy something that cannot work.
*/}}
{{- define "attrsync.checks" -}}
{{- $c := .Values.config -}}
{{- if not (and $c $c.sync $c.sync.name) -}}
{{- fail "config.sync.name is required" -}}
{{- end -}}
{{- $max := include "attrsync.maxReplicas" . | int -}}
{{- $scope := "global" -}}
{{- if and $c.rate_limit $c.rate_limit.scope -}}{{- $scope = $c.rate_limit.scope -}}{{- end -}}
{{- if and (gt $max 1) (ne $scope "global") -}}
{{- fail (printf "config.rate_limit.scope is %q, but up to %d replicas can run: each would use the whole Iterable budget (5 bulkUpdate requests/s per project) and together they would exceed it. Set config.rate_limit.scope: global (one budget in Redis shared by every replica), or run one replica." $scope $max) -}}
{{- end -}}
{{- if not .Values.iterable.apiKeySecret.name -}}
{{- fail "iterable.apiKeySecret.name: the API key comes from an existing Secret; name it" -}}
{{- end -}}
{{- if and .Values.kafka.sasl.mechanism (not .Values.kafka.sasl.secret) -}}
{{- fail "kafka.sasl.secret: SASL needs an existing Secret with the user name and password" -}}
{{- end -}}
{{- if and .Values.kafka.tls.enabled (not .Values.kafka.tls.secret) -}}
{{- fail "kafka.tls.secret: TLS needs an existing Secret with the CA certificate" -}}
{{- end -}}
{{- if ne (empty .Values.kafka.tls.certKey) (empty .Values.kafka.tls.keyKey) -}}
{{- fail "kafka.tls.certKey and kafka.tls.keyKey: a client certificate needs both" -}}
{{- end -}}
{{- if .Values.autoscaling.enabled -}}
{{- $a := .Values.autoscaling -}}
{{- if le (int $a.partitions) 0 -}}
{{- fail "autoscaling.partitions: give the partition count of the topic, so that maxReplicaCount can be checked against it" -}}
{{- end -}}
{{- if gt (int $a.maxReplicaCount) (int $a.partitions) -}}
{{- fail (printf "autoscaling.maxReplicaCount %d is more than the topic's %d partitions: the extra replicas would own no partition" (int $a.maxReplicaCount) (int $a.partitions)) -}}
{{- end -}}
{{- if gt (int $a.minReplicaCount) (int $a.maxReplicaCount) -}}
{{- fail (printf "autoscaling.minReplicaCount %d is more than maxReplicaCount %d" (int $a.minReplicaCount) (int $a.maxReplicaCount)) -}}
{{- end -}}
{{- if le (float64 $a.lagThreshold) 0.0 -}}
{{- fail "autoscaling.lagThreshold must be a positive number of messages" -}}
{{- end -}}
{{- $k := $c.kafka | default dict -}}
{{- range $k.brokers -}}
{{- if contains "${" . -}}
{{- fail (printf "config.kafka.brokers entry %q refers to the environment, which KEDA cannot read: write the brokers out for autoscaling" .) -}}
{{- end -}}
{{- end -}}
{{- range $k.topics -}}
{{- if contains "${" . -}}
{{- fail (printf "config.kafka.topics entry %q refers to the environment, which KEDA cannot read: write the topics out for autoscaling" .) -}}
{{- end -}}
{{- end -}}
{{- if contains "${" (include "attrsync.groupID" .) -}}
{{- fail "config.kafka.group_id refers to the environment, which KEDA cannot read: write it out for autoscaling" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
attrsync.config: the config file as deployed: the values' config with what
the chart decides set over it.
*/}}
{{- define "attrsync.config" -}}
{{- $c := deepCopy .Values.config -}}
{{- $tel := $c.telemetry | default dict -}}
{{- $_ := set $tel "listen" (printf "0.0.0.0:%d" (int .Values.telemetryPort)) -}}
{{- $_ = set $c "telemetry" $tel -}}
{{- $k := $c.kafka | default dict -}}
{{- if .Values.kafka.tls.enabled -}}
{{- $tls := $k.tls | default dict -}}
{{- $_ = set $tls "enabled" true -}}
{{- $_ = set $tls "ca_file" (printf "/etc/attrsync/kafka-tls/%s" .Values.kafka.tls.caKey) -}}
{{- if .Values.kafka.tls.certKey -}}
{{- $_ = set $tls "cert_file" (printf "/etc/attrsync/kafka-tls/%s" .Values.kafka.tls.certKey) -}}
{{- $_ = set $tls "key_file" (printf "/etc/attrsync/kafka-tls/%s" .Values.kafka.tls.keyKey) -}}
{{- end -}}
{{- $_ = set $k "tls" $tls -}}
{{- end -}}
{{- if .Values.kafka.sasl.mechanism -}}
{{- $_ = set $k "sasl" (dict "mechanism" .Values.kafka.sasl.mechanism "username" "${KAFKA_SASL_USERNAME}" "password" "${KAFKA_SASL_PASSWORD}") -}}
{{- end -}}
{{- $_ = set $c "kafka" $k -}}
{{- if .Values.redis.passwordSecret.name -}}
{{- $r := $c.redis | default dict -}}
{{- $_ = set $r "password" "${REDIS_PASSWORD}" -}}
{{- $_ = set $c "redis" $r -}}
{{- end -}}
{{- toYaml $c -}}
{{- end -}}

{{/* GOMEMLIMIT: 90 % of a memory limit given in Mi or Gi, else nothing. */}}
{{- define "attrsync.goMemLimit" -}}
{{- $l := "" -}}
{{- if and .Values.resources .Values.resources.limits .Values.resources.limits.memory -}}
{{- $l = toString .Values.resources.limits.memory -}}
{{- end -}}
{{- if regexMatch "^[0-9]+Mi$" $l -}}
{{- printf "%dMiB" (div (mul (trimSuffix "Mi" $l | int) 9) 10) -}}
{{- else if regexMatch "^[0-9]+Gi$" $l -}}
{{- printf "%dMiB" (div (mul (trimSuffix "Gi" $l | int) 9216) 10) -}}
{{- end -}}
{{- end -}}
