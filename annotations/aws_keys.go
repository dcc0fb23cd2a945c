package annotations

func awsKeys() []*Descriptor { return nil }
