package annotations

func azureKeys() []*Descriptor { return nil }
