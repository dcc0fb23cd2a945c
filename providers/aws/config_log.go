package aws

import (
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/cloudlb/cloudlb/internal/cloudconfig"
)

// Effective returns the settings the provider runs with, as klog key/value pairs for the
// start-up log: each [Global] key cloudlb acts on by its name in the file, the region the
// calls go to when the file sets one, the endpoint overrides, and ignoredKeys, the upstream
// keys that are set but have no effect here. The AWS file holds no secrets.
func (c *CloudConfig) Effective() []any {
	kv, ignored := cloudconfig.EffectiveSettings(reflect.ValueOf(c.Global))
	kv = append(kv, "effectiveRegion", c.region())
	overrides := []string{}
	for _, name := range slices.Sorted(maps.Keys(c.ServiceOverrides)) {
		o := c.ServiceOverrides[name]
		overrides = append(overrides, fmt.Sprintf("%s/%s=%s", o.Service, o.Region, o.URL))
		_, ign := cloudconfig.EffectiveSettings(reflect.ValueOf(*o))
		for _, k := range ign {
			ignored = append(ignored, fmt.Sprintf("ServiceOverride %q %s", name, k))
		}
	}
	if ignored == nil {
		ignored = []string{}
	}
	return append(kv, "ServiceOverrides", overrides, "ignoredKeys", ignored)
}

// EffectiveConfig is the cloud config's Effective settings, for the controller's start-up log.
func (c *Cloud) EffectiveConfig() []any { return c.cfg.Effective() }
