{{/*
The key of the Triggers' capability tokens: one Secret that the operator (which writes the
tokens into each Trigger) and the function (which checks them) both read.
*/}}
{{- define "be.functionTokenSecret" -}}
{{- .Values.function.token.existingSecret | default (printf "%s-function-token" (include "be.fullname" .)) -}}
{{- end -}}

{{- define "be.functionTokenEnv" -}}
- name: {{ .variable }}
  valueFrom:
    secretKeyRef: {name: {{ include "be.functionTokenSecret" .root | quote }}, key: {{ .root.Values.function.token.key | quote }}}
{{- end -}}
