package annotations

// AWSConfig is the typed AWS configuration of one Service.
type AWSConfig struct{}

func (p *parser) aws() *AWSConfig { return &AWSConfig{} }
