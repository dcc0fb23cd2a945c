package gce

import (
	"reflect"

	"github.com/cloudlb/cloudlb/internal/cloudconfig"
)

// Effective returns the settings the provider runs with, as klog key/value pairs for the
// start-up log: each [global] key cloudlb acts on by its name in the file, the region and
// network the calls use, and ignoredKeys, the upstream keys that are set but have no effect
// here (token-body among them, named but never shown).
func (c *CloudConfig) Effective() []any {
	kv, ignored := cloudconfig.EffectiveSettings(reflect.ValueOf(c.Global))
	if ignored == nil {
		ignored = []string{}
	}
	return append(kv, "effectiveRegion", c.region(), "effectiveNetwork", c.networkURL(), "ignoredKeys", ignored)
}

// EffectiveConfig is the cloud config's Effective settings, for the controller's start-up log.
func (c *Cloud) EffectiveConfig() []any { return c.cfg.Effective() }
