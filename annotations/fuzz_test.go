package annotations

import (
	"errors"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func asInvalid(err error, target **InvalidError) bool { return errors.As(err, target) }

// FuzzParse feeds arbitrary keys and values to Parse for every cloud; it must never panic,
// and every problem must name a key.
func FuzzParse(f *testing.F) {
	for _, d := range All() {
		key := strings.Replace(d.Key, "{port}", "80", 1)
		for _, v := range []string{"", "true", "0", "-1", "80", "10.0.0.0/8", "a=b,c", "*", " , ", "\x00"} {
			f.Add(key, v, false)
		}
		if raw, ok := d.DefaultFor(Context{}); ok {
			f.Add(key, raw, true)
		}
		for _, a := range d.Allowed {
			f.Add(key, a, true)
		}
	}
	f.Add("service.beta.kubernetes.io/port_x_health-probe_protocol", "Tcp", false)
	f.Fuzz(func(t *testing.T, key, value string, local bool) {
		svc := coreSvc(map[string]string{key: value, CoreSourceRanges.Key: value})
		if local {
			svc.Spec.ExternalTrafficPolicy = v1.ServiceExternalTrafficPolicyLocal
			svc.Spec.HealthCheckNodePort = 31000
		}
		for _, c := range []Cloud{AnyCloud, AWS, Azure, GCE} {
			cfg, ps := Parse(svc, c)
			if cfg == nil {
				t.Fatal("nil config")
			}
			for _, p := range ps {
				if p.Key == "" || p.Reason == "" {
					t.Fatalf("problem without key or reason: %+v", p)
				}
			}
		}
	})
}
