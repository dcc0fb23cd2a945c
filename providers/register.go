package providers

import (
	"io"
	"sync"

	cloudprovider "k8s.io/cloud-provider"
)

// Register makes a provider available to cloudprovider.InitCloudProvider as name: parse reads
// the --cloud-config and build makes the provider from it. once guards the registration, as
// cloudprovider.RegisterCloudProvider exits the process when a name is registered twice and
// both the manager's main and tests register the providers.
func Register[C any, P cloudprovider.Interface](once *sync.Once, name string, parse func(io.Reader) (C, error), build func(C) (P, error)) {
	once.Do(func() {
		cloudprovider.RegisterCloudProvider(name, func(r io.Reader) (cloudprovider.Interface, error) {
			cfg, err := parse(r)
			if err != nil {
				return nil, err
			}
			p, err := build(cfg)
			if err != nil {
				return nil, err // not p: a nil *Cloud would be a non-nil Interface
			}
			return p, nil
		})
	})
}
