{{/*
Helpers of the Tingjian chart.
*/}}

{{/* The four services, in a fixed order. */}}
{{- define "tingjian.serviceNames" -}}
intake consultation supervision analytics
{{- end }}

{{/* Chart name, truncated to 63 characters. */}}
{{- define "tingjian.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name of the release's resources, truncated so that "<fullname>-migrate-consultation" (the longest
derived name, also a pod label value) stays within 63 characters.
*/}}
{{- define "tingjian.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 42 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 42 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 42 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "tingjian.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels selecting every pod of the release (services and migration Jobs). */}}
{{- define "tingjian.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tingjian.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every resource. */}}
{{- define "tingjian.labels" -}}
helm.sh/chart: {{ include "tingjian.chart" . }}
{{ include "tingjian.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: tingjian
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels selecting the pods of one service; call with (dict "root" $ "name" "intake"). */}}
{{- define "tingjian.serviceSelectorLabels" -}}
{{ include "tingjian.selectorLabels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* Labels of one service's resources; call with (dict "root" $ "name" "intake"). */}}
{{- define "tingjian.serviceLabels" -}}
{{ include "tingjian.labels" .root }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* Name of one service's resources; call with (dict "root" $ "name" "intake"). */}}
{{- define "tingjian.serviceFullname" -}}
{{- printf "%s-%s" (include "tingjian.fullname" .root) .name }}
{{- end }}

{{/* The enabled services, space-separated. */}}
{{- define "tingjian.enabledServices" -}}
{{- $enabled := list }}
{{- range $name := splitList " " (include "tingjian.serviceNames" .) }}
{{- if (index $.Values.services $name).enabled }}
{{- $enabled = append $enabled $name }}
{{- end }}
{{- end }}
{{- join " " $enabled }}
{{- end }}

{{/*
Settings of one service: `defaults` overridden by `services.<name>`, maps merged one level deep.
(Sprig's merge functions cannot be used: they do not let false, 0 or "" override a default.)
Call with (dict "root" $ "name" "intake"); returns JSON, to read with fromJson.
*/}}
{{- define "tingjian.serviceConfig" -}}
{{- $own := index .root.Values.services .name | default dict }}
{{- $out := dict "name" .name }}
{{- range $key, $default := .root.Values.defaults }}
{{- if hasKey $own $key }}
{{- $value := index $own $key }}
{{- if and (kindIs "map" $default) (kindIs "map" $value) }}
{{- $merged := deepCopy $default }}
{{- range $k, $v := $value }}
{{- $_ := set $merged $k $v }}
{{- end }}
{{- $_ := set $out $key $merged }}
{{- else }}
{{- $_ := set $out $key $value }}
{{- end }}
{{- else }}
{{- $_ := set $out $key $default }}
{{- end }}
{{- end }}
{{- $_ := set $out "enabled" (index $own "enabled") }}
{{- $_ := set $out "databaseSchema" (default .name (index $own "databaseSchema")) }}
{{- toJson $out }}
{{- end }}

{{/* Name of the services' ServiceAccount. */}}
{{- define "tingjian.serviceAccountName" -}}
{{- default (include "tingjian.fullname" .) .Values.serviceAccount.name }}
{{- end }}

{{/* Name of the migration Jobs' ServiceAccount (a hook resource, as it must exist before install). */}}
{{- define "tingjian.migrationServiceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- printf "%s-migrate" (include "tingjian.fullname" .) }}
{{- else }}
{{- include "tingjian.serviceAccountName" . }}
{{- end }}
{{- end }}

{{/* The image reference: repository:tag, or repository:tag@digest when a digest is pinned. */}}
{{- define "tingjian.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the database URL. */}}
{{- define "tingjian.databaseSecretName" -}}
{{- default (printf "%s-database" (include "tingjian.fullname" .)) .Values.database.existingSecret }}
{{- end }}

{{/*
The NATS URL of the event bus is required: without it every pod would keep its events in its own
embedded bus file. Returns "secret" (nats.existingSecret, by secretKeyRef) or "url" (nats.url, in the
ConfigMap), and fails when neither is set.
*/}}
{{- define "tingjian.natsSource" -}}
{{- $nats := .Values.nats | default dict }}
{{- if $nats.existingSecret }}
{{- print "secret" }}
{{- else if $nats.url }}
{{- print "url" }}
{{- else }}
{{- fail "nats.url or nats.existingSecret is required: the services exchange events through NATS JetStream (TINGJIAN_NATS_URL); without it each pod would use its own embedded bus file, which is not fit for a cluster" }}
{{- end }}
{{- end }}

{{/* Name of the Secret holding the auth public keys (when no ConfigMap is used). */}}
{{- define "tingjian.authKeysSecretName" -}}
{{- default (printf "%s-auth-keys" (include "tingjian.fullname" .)) .Values.auth.publicKeys.existingSecret }}
{{- end }}

{{/* Where the auth public keys are mounted. */}}
{{- define "tingjian.authKeysDir" -}}
/etc/tingjian/keys
{{- end }}

{{/* TINGJIAN_AUTH_PUBLIC_KEYS: the mounted key files, comma-separated. */}}
{{- define "tingjian.authPublicKeys" -}}
{{- $dir := include "tingjian.authKeysDir" . }}
{{- $paths := list }}
{{- range .Values.auth.publicKeys.files }}
{{- $paths = append $paths (printf "%s/%s" $dir .) }}
{{- end }}
{{- join "," $paths }}
{{- end }}

{{/* The volume of the auth public keys (Secret or ConfigMap), only the listed keys. */}}
{{- define "tingjian.authKeysVolume" -}}
- name: auth-keys
{{- if and (not .Values.auth.publicKeys.existingSecret) .Values.auth.publicKeys.existingConfigMap }}
  configMap:
    name: {{ .Values.auth.publicKeys.existingConfigMap }}
    defaultMode: 0444
    items:
    {{- range .Values.auth.publicKeys.files }}
      - key: {{ . }}
        path: {{ . }}
    {{- end }}
{{- else }}
  secret:
    secretName: {{ include "tingjian.authKeysSecretName" . }}
    defaultMode: 0444
    items:
    {{- range .Values.auth.publicKeys.files }}
      - key: {{ . }}
        path: {{ . }}
    {{- end }}
{{- end }}
{{- end }}

{{/*
terminationGracePeriodSeconds of one service (its merged settings as .svc): by default the preStop
sleep + the shutdown grace + 10 s; a value set by hand must exceed the first two.
*/}}
{{- define "tingjian.terminationGracePeriodSeconds" -}}
{{- $needed := add (int .root.Values.server.shutdownGraceSeconds) (int (index .svc "preStopSleepSeconds" | default 0)) }}
{{- $set := index .svc "terminationGracePeriodSeconds" }}
{{- if kindIs "invalid" $set }}
{{- add $needed 10 }}
{{- else }}
{{- $period := int $set }}
{{- if le $period $needed }}
{{- fail (printf "services.%s.terminationGracePeriodSeconds (%d) must be larger than server.shutdownGraceSeconds + preStopSleepSeconds (%d): Kubernetes would kill calls the server is still letting finish" .svc.name $period $needed) }}
{{- end }}
{{- $period }}
{{- end }}
{{- end }}

{{/* Pod-level settings shared by services and migrations: service account token, pull secrets, security. */}}
{{- define "tingjian.podSecurity" -}}
automountServiceAccountToken: false
enableServiceLinks: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* Pod selector of the four services' pods (not the migration Jobs), for NetworkPolicies. */}}
{{- define "tingjian.serverPodSelector" -}}
matchLabels:
  {{- include "tingjian.selectorLabels" . | nindent 2 }}
matchExpressions:
  - key: app.kubernetes.io/component
    operator: In
    values: [{{ include "tingjian.serviceNames" . | splitList " " | join ", " }}]
{{- end }}
