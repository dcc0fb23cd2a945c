package azure

import (
	"reflect"
	"slices"
	"strings"
)

// redacted stands for a secret value in logs.
const redacted = "<redacted>"

// secretKeys are the azure.json keys whose values are never logged, whatever their fields'
// tags say.
var secretKeys = []string{"aadClientSecret", "aadClientCertPassword"}

// Effective returns the settings the provider runs with (after the defaults ParseCloudConfig
// applies), as klog key/value pairs by their azure.json names, for the start-up log. Secrets
// (fields with upstream's datapolicy tag, and secretKeys) show as "<redacted>" when set.
func (cc *CloudConfig) Effective() []any {
	return effectiveSettings(reflect.ValueOf(cc).Elem())
}

// EffectiveConfig is the cloud config's Effective settings, for the controller's start-up log.
func (c *Cloud) EffectiveConfig() []any { return c.cfg.Effective() }

// effectiveSettings returns the JSON-named fields of struct v as key/value pairs, pointers
// shown by their value (nil when unset) and secrets redacted.
func effectiveSettings(v reflect.Value) []any {
	var kv []any
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := jsonName(f)
		if name == "" {
			continue
		}
		fv := v.Field(i)
		var value any
		switch {
		case fv.IsZero():
			if fv.Kind() != reflect.Pointer {
				value = fv.Interface()
			}
		case isSecret(f, name):
			value = redacted
		case fv.Kind() == reflect.Pointer:
			value = fv.Elem().Interface()
		default:
			value = fv.Interface()
		}
		kv = append(kv, name, value)
	}
	return kv
}

// isSecret reports whether field f, named name in the file, holds a secret.
func isSecret(f reflect.StructField, name string) bool {
	return f.Tag.Get("datapolicy") != "" || slices.ContainsFunc(secretKeys, func(k string) bool { return strings.EqualFold(k, name) })
}
