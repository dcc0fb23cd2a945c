package annotations

// AzureConfig is the typed Azure configuration of one Service.
type AzureConfig struct{}

func (p *parser) azure() *AzureConfig { return &AzureConfig{} }
