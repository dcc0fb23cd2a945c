package annotations

// GCEConfig is the typed GCE configuration of one Service.
type GCEConfig struct{}

func (p *parser) gce() *GCEConfig { return &GCEConfig{} }
