{{/*
Names. With the release named "cloudlb" the objects get the names of deploy/ (cloudlb-controller-manager,
cloudlb-nodeproxy), which integration/deploy relies on to compare the chart's RBAC with deploy/'s.
*/}}
{{- define "cloudlb.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cloudlb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: cloudlb
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{/* The controller manager: its name (also its Lease's), labels and ServiceAccount. */}}
{{- define "cloudlb.cm.name" -}}
{{- printf "%s-controller-manager" (include "cloudlb.fullname" .) -}}
{{- end -}}

{{- define "cloudlb.cm.selectorLabels" -}}
app.kubernetes.io/name: cloudlb-controller-manager
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cloudlb.cm.labels" -}}
{{ include "cloudlb.labels" . }}
{{ include "cloudlb.cm.selectorLabels" . }}
{{- end -}}

{{- define "cloudlb.cm.serviceAccountName" -}}
{{- default (include "cloudlb.cm.name" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* The node agent. */}}
{{- define "cloudlb.np.name" -}}
{{- printf "%s-nodeproxy" (include "cloudlb.fullname" .) -}}
{{- end -}}

{{- define "cloudlb.np.selectorLabels" -}}
app.kubernetes.io/name: cloudlb-nodeproxy
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cloudlb.np.labels" -}}
{{ include "cloudlb.labels" . }}
{{ include "cloudlb.np.selectorLabels" . }}
{{- end -}}

{{- define "cloudlb.np.serviceAccountName" -}}
{{- default (include "cloudlb.np.name" .) .Values.nodeproxy.serviceAccount.name -}}
{{- end -}}

{{/* image renders repository:tag, the tag defaulting to the chart's appVersion. Call with (list .Values.image .). */}}
{{- define "cloudlb.image" -}}
{{- $image := index . 0 -}}
{{- $root := index . 1 -}}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}

{{/* The file --cloud-config names, and the Secret the chart makes from cloudConfig.content. */}}
{{- define "cloudlb.cloudConfigPath" -}}/etc/cloudlb/cloud.conf{{- end -}}

{{- define "cloudlb.cloudConfigSecretName" -}}
{{- printf "%s-cloud-config" (include "cloudlb.fullname" .) -}}
{{- end -}}

{{/* hasCloudConfig is "true" when one source of the cloud config is set. */}}
{{- define "cloudlb.hasCloudConfig" -}}
{{- $c := .Values.cloudConfig -}}
{{- if or $c.existingSecret $c.existingConfigMap $c.content -}}true{{- end -}}
{{- end -}}

{{/*
validate fails the rendering, naming the value to set, on what would install a controller that
cannot work or that would manage the wrong load balancers. (helm lint renders with the defaults,
where required and fail only warn.)
*/}}
{{- define "cloudlb.validate" -}}
{{- $cloud := required "cloud is required: set cloud to aws, azure or gce (helm install -f values-aws.yaml, or --set cloud=aws); the fake demo cloud is only in deploy/overlays/demo" .Values.cloud -}}
{{- if and $cloud (not (has $cloud (list "aws" "azure" "gce"))) -}}
{{- fail (printf "cloud %q is not supported: set cloud to aws, azure or gce; the fake demo cloud is only in deploy/overlays/demo" $cloud) -}}
{{- end -}}
{{- $_ := required "clusterName is required: the owner tag on every cloud resource, unique per cloud account (--set clusterName=prod-eu1)" .Values.clusterName -}}
{{- $c := .Values.cloudConfig -}}
{{- $sources := 0 -}}
{{- range (list $c.existingSecret $c.existingConfigMap $c.content) -}}
{{- if . -}}{{- $sources = add1 $sources -}}{{- end -}}
{{- end -}}
{{- if gt $sources 1 -}}
{{- fail "cloudConfig: set only one of existingSecret, existingConfigMap and content" -}}
{{- end -}}
{{- if and (has $cloud (list "azure" "gce")) (eq $sources 0) -}}
{{- fail (printf "cloud %s needs its cloud config (%s): set cloudConfig.existingSecret, cloudConfig.existingConfigMap or cloudConfig.content" $cloud (ternary "azure.json" "gce.conf" (eq $cloud "azure"))) -}}
{{- end -}}
{{- if and (or $c.existingSecret $c.existingConfigMap) (not $c.key) -}}
{{- fail "cloudConfig.key is required with cloudConfig.existingSecret or cloudConfig.existingConfigMap: the key that holds the file" -}}
{{- end -}}
{{- end -}}
